-- The state of every summary: when it was last refreshed, how big it is, its last error.

CREATE OR REPLACE FUNCTION reports.refresh_status()
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
    timezone text
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
    SELECT
        s.name,
        'full',
        s.refreshed_at,
        now() - s.refreshed_at,
        s.rows,
        s.generation,
        latest.status,
        failure.error,
        failure.finished_at,
        s.needs_full_refresh OR s.timezone IS DISTINCT FROM reports.timezone(),
        s.timezone
    FROM reports.summaries AS s
    LEFT JOIN LATERAL (
        SELECT l.status
        FROM reports.refresh_log AS l
        WHERE l.view = s.name
        ORDER BY l.started_at DESC, l.id DESC
        LIMIT 1
    ) AS latest ON TRUE
    LEFT JOIN LATERAL (
        SELECT
            l.error,
            l.finished_at
        FROM reports.refresh_log AS l
        WHERE
            l.view = s.name
            AND l.status = 'failed'
            AND l.started_at > coalesce(s.refreshed_at, '-infinity')
        ORDER BY l.started_at DESC, l.id DESC
        LIMIT 1
    ) AS failure ON TRUE
    ORDER BY s.position
$$;

COMMENT ON FUNCTION reports.refresh_status() IS
'One row per summary, in dependency order: view; mode (full: every refresh recomputes every day);
last_success_at (start of the last successful refresh: the data reflects the sources as of then, NULL
if never); age (now() - last_success_at); rows (rows after that refresh); generation (bumped by every
refresh that changed rows); last_status (of the latest run: ok, failed or skipped); last_error and
last_error_at (the latest failure since the last success, NULL when none); needs_full_refresh (true
until the first refresh, after a time zone change, or when the summary was built in another time zone
than reports.timezone()); timezone (the zone its days were built in).';
