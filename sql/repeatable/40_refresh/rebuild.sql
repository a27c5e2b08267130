-- Rebuild summaries from scratch, whatever the captured changes.

CREATE OR REPLACE FUNCTION reports.rebuild(
    p_views text[] DEFAULT NULL,
    p_wait boolean DEFAULT FALSE
)
RETURNS TABLE (
    view text,
    status text,
    rows bigint,
    duration_ms numeric,
    sqlstate text,
    error text
)
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
    SELECT r.view, r.status, r.rows, r.duration_ms, r.sqlstate, r.error
    FROM reports._refresh(p_views, p_wait, TRUE) AS r
$$;

COMMENT ON FUNCTION reports.rebuild(text[], boolean) IS
'Recomputes every day of the summaries named in p_views and of every summary that depends on them (NULL: all),
like reports.refresh_views(p_views, p_wait) in mode full: the captured changes are consumed and the invalid days
of those summaries cleared. Same result rows, locking, failure and logging behaviour as reports.refresh_views.
For repairs (e.g. after a capture trigger was disabled for a while) and after reports.verify() found mismatches.';
