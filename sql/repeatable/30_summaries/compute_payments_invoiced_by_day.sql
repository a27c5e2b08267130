-- Definition of reports.payments_invoiced_by_day: payment_open_spans_by_day summed per creation day.

CREATE OR REPLACE FUNCTION reports.compute_payments_invoiced_by_day(p_days daterange)
RETURNS TABLE (
    created_day date,
    payments bigint,
    amount numeric
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
        s.created_day,
        sum(s.payments)::bigint,
        sum(s.amount)
    FROM reports.payment_open_spans_by_day AS s
    WHERE s.created_day >= v_from AND s.created_day < v_to
    GROUP BY s.created_day;
END
$$;

COMMENT ON FUNCTION reports.compute_payments_invoiced_by_day(daterange) IS
'Rows of reports.payments_invoiced_by_day for the local creation days in p_days: the rows of
reports.payment_open_spans_by_day (as stored: refreshed first, in the same refresh; payments not failed, every
payment owner) summed per creation day. Only days with at least one row there.';
