-- The state of every summary: mode, when it was last refreshed, how big it is, what is pending, its last error.

-- The result columns grew (pending changes, last duration): a new return type needs DROP + CREATE
-- (90_grants/grants.sql re-grants it, being re-applied with every repeatable file).
DROP FUNCTION IF EXISTS reports.refresh_status();

CREATE FUNCTION reports.refresh_status()
RETURNS TABLE (
    view text,
    mode text,
    last_success_at timestamptz,
    age interval,
    rows bigint,
    generation bigint,
    last_status text,
    last_error text,
    last_error_at timestamptz,
    needs_full_refresh boolean,
    timezone text,
    pending_changes bigint,
    oldest_pending_at timestamptz,
    last_duration_ms numeric,
    running_since timestamptz,
    interrupted_at timestamptz
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
    SELECT
        s.name,
        CASE WHEN c.fingerprint IS NULL THEN 'full' ELSE 'incremental' END,
        s.refreshed_at,
        now() - s.refreshed_at,
        s.rows,
        s.generation,
        latest.status,
        failure.error,
        failure.finished_at,
        s.needs_full_refresh
        OR s.timezone IS DISTINCT FROM reports.timezone()
        OR (c.fingerprint IS NOT NULL AND c.fingerprint IS DISTINCT FROM s.capture_fingerprint),
        s.timezone,
        p.pending,
        p.oldest_change_at,
        success.duration_ms,
        recorded.running_since,
        recorded.interrupted_at
    FROM reports.summaries AS s
    LEFT JOIN reports._capture_fingerprints() AS c ON s.name = c.summary
    LEFT JOIN reports.pending_changes() AS p ON s.name = p.view
    LEFT JOIN LATERAL (
        SELECT l.status
        FROM reports.refresh_log AS l
        WHERE l.view = s.name
        ORDER BY l.started_at DESC, l.id DESC
        LIMIT 1
    ) AS latest ON TRUE
    LEFT JOIN LATERAL (
        SELECT l.duration_ms
        FROM reports.refresh_log AS l
        WHERE l.view = s.name AND l.status = 'ok'
        ORDER BY l.started_at DESC, l.id DESC
        LIMIT 1
    ) AS success ON TRUE
    LEFT JOIN LATERAL (
        SELECT
            l.error,
            l.finished_at
        FROM reports.refresh_log AS l
        WHERE
            l.view = s.name
            AND l.status IN ('failed', 'interrupted')
            AND l.started_at > coalesce(s.refreshed_at, '-infinity')
        ORDER BY l.started_at DESC, l.id DESC
        LIMIT 1
    ) AS failure ON TRUE
    LEFT JOIN LATERAL (
        -- a recorded start is running while its session holds the refresh lock, else it never finished
        SELECT
            max(r.started_at) FILTER (WHERE r.pid = h.pid) AS running_since,
            max(r.started_at) FILTER (WHERE r.pid IS DISTINCT FROM h.pid) AS interrupted_at
        FROM reports.refresh_starts AS r
        CROSS JOIN (SELECT reports._refresh_lock_holder() AS pid) AS h
        WHERE s.name IN (SELECT t.name FROM reports._refresh_targets(r.views) AS t)
    ) AS recorded ON TRUE
    ORDER BY s.position
$$;

COMMENT ON FUNCTION reports.refresh_status() IS
'One row per summary, in dependency order: view; mode (incremental: the change capture is installed and enabled
for every source table it reads, so a refresh recomputes only the days invalidated by captured changes; full:
every refresh recomputes every day); last_success_at (start of the last successful refresh: the data reflects
the sources as of then, NULL if never); age (now() - last_success_at); rows (rows after that refresh);
generation (bumped by every refresh that changed rows); last_status (of the latest run: ok, failed, skipped or interrupted);
last_error and last_error_at (the latest failure or interruption since the last success, NULL when none); needs_full_refresh
(the next refresh recomputes every day although the mode may be incremental: true until the first refresh,
after a time zone change, when the summary was built in another time zone than reports.timezone(), and when
the capture triggers changed since the last refresh); timezone (the zone its days were built in);
pending_changes and oldest_pending_at (captured changes not yet applied and when the oldest was captured, as
reports.pending_changes() pending and oldest_change_at; 0 and NULL without capture); last_duration_ms (duration
of the last successful refresh, reports.refresh_log.duration_ms); running_since (start of a refresh of this
summary that is running now, as recorded by reports.record_refresh_start: the CLI, the scheduler and POST
/refresh record theirs; NULL when none); interrupted_at (start of the latest recorded refresh of this summary
that never finished: its session ended or its transaction rolled back, e.g. pg_terminate_backend; NULL when none;
the next refresh logs it in reports.refresh_log with status interrupted, and last_status / last_error then show
it).';
