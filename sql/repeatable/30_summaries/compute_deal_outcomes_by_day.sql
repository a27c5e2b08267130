-- Definition of reports.deal_outcomes_by_day: deal_outcomes_daily summed over owners and clients.

CREATE OR REPLACE FUNCTION reports.compute_deal_outcomes_by_day(p_days daterange)
RETURNS TABLE (
    day date,
    won_deals bigint,
    won_amount numeric,
    won_cycle_days_sum numeric,
    lost_deals bigint,
    last_won_at timestamptz
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
        sum(o.won_deals)::bigint,
        sum(o.won_amount),
        sum(o.won_cycle_days_sum),
        sum(o.lost_deals)::bigint,
        max(o.last_won_at)
    FROM reports.deal_outcomes_daily AS o
    WHERE o.day >= v_from AND o.day < v_to
    GROUP BY o.day;
END
$$;

COMMENT ON FUNCTION reports.compute_deal_outcomes_by_day(daterange) IS
'Rows of reports.deal_outcomes_by_day for the local days in p_days: the rows of reports.deal_outcomes_daily
(as stored: refreshed first, in the same refresh) summed per day over every owner and client; last_won_at is
their max. Only days with at least one row there.';
