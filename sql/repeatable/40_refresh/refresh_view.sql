-- Refresh one summary and what depends on it.

CREATE OR REPLACE FUNCTION reports.refresh_view(p_name text, p_wait boolean DEFAULT FALSE)
RETURNS TABLE (view text, status text, rows bigint, duration_ms numeric)
LANGUAGE plpgsql
VOLATILE
SET search_path = reports, pg_temp
AS $$
BEGIN
    IF p_name IS NULL THEN
        RAISE EXCEPTION 'p_name must name a view (got NULL)'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use reports.refresh_all() to refresh every view.';
    END IF;
    RETURN QUERY
    SELECT r.view, r.status, r.rows, r.duration_ms
    FROM reports.refresh_views(ARRAY[p_name], p_wait) AS r;
END
$$;

COMMENT ON FUNCTION reports.refresh_view(text, boolean) IS
'Refreshes summary p_name and every summary that depends on it: reports.refresh_views(ARRAY[p_name], p_wait)
without its sqlstate and error columns. An unknown name raises 22023 (the HINT lists the valid names).
Same failure, skip and wait behaviour as reports.refresh_all().';
