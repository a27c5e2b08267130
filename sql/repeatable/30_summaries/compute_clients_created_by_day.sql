-- Definition of reports.clients_created_by_day: clients_created_daily summed over owners.

CREATE OR REPLACE FUNCTION reports.compute_clients_created_by_day(p_days daterange)
RETURNS TABLE (
    day date,
    clients bigint
)
LANGUAGE plpgsql
STABLE
SET search_path = reports, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    -- day bounds as plain comparisons (an index range scan; day <@ p_days is not indexable here)
    v_from constant date := coalesce(lower(p_days), '-infinity');
    v_to constant date := coalesce(upper(p_days), 'infinity');
BEGIN
    IF isempty(p_days) THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT
        c.day,
        sum(c.clients)::bigint
    FROM reports.clients_created_daily AS c
    WHERE c.day >= v_from AND c.day < v_to
    GROUP BY c.day;
END
$$;

COMMENT ON FUNCTION reports.compute_clients_created_by_day(daterange) IS
'Rows of reports.clients_created_by_day for the local days in p_days: the rows of reports.clients_created_daily
(as stored: refreshed first, in the same refresh) summed per day over every client owner (null included). Only
days with at least one row there.';
