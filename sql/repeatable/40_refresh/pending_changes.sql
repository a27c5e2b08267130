-- How many captured changes are waiting for each summary, and since when.

CREATE OR REPLACE FUNCTION reports.pending_changes()
RETURNS TABLE (view text, pending bigint, oldest_change_at timestamptz)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
    WITH logged AS (
        SELECT
            l.source_table,
            count(*) AS changes,
            min(l.captured_at) AS oldest
        FROM reports.change_log AS l
        GROUP BY l.source_table
    )

    SELECT
        s.name,
        coalesce(l.changes, 0) + coalesce(i.changes, 0),
        least(l.oldest, i.oldest)
    FROM reports.summaries AS s
    LEFT JOIN LATERAL (
        SELECT
            sum(g.changes)::bigint AS changes,
            min(g.oldest) AS oldest
        FROM logged AS g
        INNER JOIN reports.summary_sources AS ss ON g.source_table = ss.source_table
        WHERE ss.summary = s.name
    ) AS l ON TRUE
    LEFT JOIN LATERAL (
        SELECT
            sum(d.changes)::bigint AS changes,
            min(d.oldest_change_at) AS oldest
        FROM reports.invalid_days AS d
        WHERE d.summary = s.name
    ) AS i ON TRUE
    ORDER BY s.position
$$;

COMMENT ON FUNCTION reports.pending_changes() IS
'Captured changes waiting to be applied, per summary (in reports.summaries order): for the scheduler''s refresh
after large changes, and for monitoring.
- view: the summary.
- pending: changes captured on the source tables it reads (reports.summary_sources) that no refresh has consumed
  yet (rows of reports.change_log; a change that turns out not to touch this summary still counts until then),
  plus, per day (or group of rows of a day) that a refresh found invalid but did not recompute for it yet
  (reports.invalid_days), the changes that invalidated it. 0 when it is up to date. Without change capture it stays 0: every refresh
  is a full one.
- oldest_change_at: when the oldest of those changes was captured (clock_timestamp() in the writer''s
  transaction); NULL when pending is 0.
Cheap: reads the change log and the invalid days, never the sources.';
