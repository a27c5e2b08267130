-- Refresh the named summaries (and what depends on them), or all of them.

CREATE OR REPLACE FUNCTION reports.refresh_views(
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
    FROM reports._refresh(p_views, p_wait, FALSE) AS r
$$;

COMMENT ON FUNCTION reports.refresh_views(text[], boolean) IS
'Refreshes the summaries named in p_views and every summary that depends on them (NULL: all), in
dependency order; returns one row per summary: view, status (ok, failed, skipped), rows (rows in the
summary afterwards; NULL unless ok), duration_ms, sqlstate and error (of a failure or a skip).
Mode: when the change capture is installed for every source table of a summary (reports.capture_status(),
docs/capture.md), only the days invalidated by the captured changes are recomputed (incremental); a full
recompute is done when none is installed, on the first refresh, after a time zone change, after a source
table was truncated, and when the capture triggers changed since the last refresh (reports.refresh_status()
shows the mode). Either way the result equals a full recompute. Call it at READ COMMITTED (each step then sees
at least the changes the previous one saw) or at REPEATABLE READ with the lock taken before the snapshot (the
whole refresh then sees one snapshot; `reports refresh` does this; a snapshot older than the previous refresh
raises 40001).
One refresh at a time per database (transaction-level advisory lock reports._refresh_lock_key()): when
another refresh holds it, p_wait => false (default) returns status skipped for every view at once and
p_wait => true waits for it (subject to lock_timeout). Each summary is rewritten in its own
sub-transaction: a failing one keeps its previous contents, is logged with its SQLSTATE and message,
raises a WARNING, and summaries depending on it are skipped; the others are still refreshed and the
function does not raise, so the log rows survive (reports.refresh raises after committing them).
Every run of every summary is appended to reports.refresh_log; a NOTICE reports each finished summary.
A summary whose rows changed gets generation + 1, and NOTIFY reports_refreshed is sent with
{"run_id": ..., "views": [{"view": ..., "generation": ...}]} when the transaction commits.
Readers are never blocked and see the old contents until the calling transaction commits.
Unknown names raise 22023 naming them, with the valid names in the HINT.';
