-- Report stage_funnel: how far deals created in a range got through the pipeline stages.

CREATE OR REPLACE FUNCTION reports.stage_funnel(p_from date, p_to date)
RETURNS TABLE (
    stage_code text,
    reached bigint,
    conversion_pct numeric,
    avg_days_in_stage numeric
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    v_owner_ids bigint[];
BEGIN
    SELECT a.owner_ids INTO v_owner_ids FROM reports._authorize('stage_funnel') AS a;
    PERFORM reports._check_range(p_from, p_to);
    RETURN QUERY
    WITH by_stage AS (
        SELECT
            f.stage_code,
            sum(f.reached) AS reached,
            sum(f.left_deals) AS left_deals,
            sum(f.days_in_stage_sum) AS days_in_stage_sum
        FROM reports._scoped_stage_funnel_days(v_owner_ids, p_from, p_to) AS f
        GROUP BY f.stage_code
    ),

    stages AS (
        SELECT
            s.code,
            s.position,
            coalesce(b.reached, 0) AS reached,
            b.left_deals,
            b.days_in_stage_sum
        FROM reports.src_pipeline_stages AS s
        LEFT JOIN by_stage AS b ON b.stage_code = s.code
    )

    SELECT
        s.code,
        s.reached::bigint,
        reports._percent(s.reached, lag(s.reached) OVER (ORDER BY s.position)),
        reports._safe_ratio(s.days_in_stage_sum, s.left_deals, 2)
    FROM stages AS s
    ORDER BY s.position;
END
$$;

COMMENT ON FUNCTION reports.stage_funnel(date, date) IS
'Pipeline funnel of the deals created in a range: deals reaching each stage, conversion, mean days in the stage.
Deals: created (local day of created_at in the reports time zone) in p_from..p_to, both included; not deleted,
client not deleted. One row per stage of crm.pipeline_stages (won and lost included) in position order, every
stage present even with 0. Scope: deals whose owner the caller sees.
22023 for a null, infinite or reversed range.
- stage_code: the stage.
- reached: deals with a stage history row whose to_stage is this stage (a deal entering it several times counts once).
- conversion_pct: 100 * reached / reached of the previous stage in position order, rounded half-up to 2;
  null for the first stage and when the previous stage has 0.
- avg_days_in_stage: mean time in days (interval epoch / 86400) from the deal''s FIRST entry into the stage to the
  first history row after that entry (changed_at, then id order), over the deals that left the stage after that
  entry, rounded to 2; deals still in the stage are left out; null when no deal left it.';
