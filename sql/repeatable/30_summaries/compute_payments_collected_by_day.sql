-- Definition of reports.payments_collected_by_day: payments_collected_daily summed over owners and clients.

CREATE OR REPLACE FUNCTION reports.compute_payments_collected_by_day(p_days daterange)
RETURNS TABLE (
    day date,
    paid_payments bigint,
    paid_amount numeric
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
        o.day,
        sum(o.paid_payments)::bigint,
        sum(o.paid_amount)
    FROM reports.payments_collected_daily AS o
    WHERE o.day >= v_from AND o.day < v_to
    GROUP BY o.day;
END
$$;

COMMENT ON FUNCTION reports.compute_payments_collected_by_day(daterange) IS
'Rows of reports.payments_collected_by_day for the local days in p_days: the rows of
reports.payments_collected_daily (as stored: refreshed first, in the same refresh) summed per day over every owner
(null included) and client. Only days with at least one row there.';
