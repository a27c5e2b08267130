-- Definition of reports.stage_funnel_by_day: stage_funnel_daily summed over owners.

CREATE OR REPLACE FUNCTION reports.compute_stage_funnel_by_day(p_days daterange)
RETURNS TABLE (
    created_day date,
    stage_code text,
    reached bigint,
    left_deals bigint,
    days_in_stage_sum numeric
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
        o.created_day,
        o.stage_code,
        sum(o.reached)::bigint,
        sum(o.left_deals)::bigint,
        sum(o.days_in_stage_sum)
    FROM reports.stage_funnel_daily AS o
    WHERE o.created_day >= v_from AND o.created_day < v_to
    GROUP BY o.created_day, o.stage_code;
END
$$;

COMMENT ON FUNCTION reports.compute_stage_funnel_by_day(daterange) IS
'Rows of reports.stage_funnel_by_day for the local creation days in p_days: the rows of
reports.stage_funnel_daily (as stored: refreshed first, in the same refresh) summed per creation day and stage
over every owner. Only (day, stage) pairs with at least one row there.';
