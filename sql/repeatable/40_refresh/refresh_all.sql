-- Refresh every summary.

CREATE OR REPLACE FUNCTION reports.refresh_all(p_wait boolean DEFAULT FALSE)
RETURNS TABLE (view text, status text, rows bigint, duration_ms numeric)
LANGUAGE plpgsql
VOLATILE
SET search_path = reports, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT r.view, r.status, r.rows, r.duration_ms
    FROM reports.refresh_views(NULL, p_wait) AS r;
END
$$;

COMMENT ON FUNCTION reports.refresh_all(boolean) IS
'Refreshes every summary in dependency order: reports.refresh_views(NULL, p_wait) without its sqlstate and
error columns. One row per summary: view, status (ok, failed, skipped), rows, duration_ms. Does not raise
when a summary fails (WARNING + failed row + reports.refresh_log row; previous contents kept); use
CALL reports.refresh() to get an exception. p_wait => false returns skipped rows when another refresh
runs; p_wait => true waits for it.';
