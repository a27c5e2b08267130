-- Report sales_pipeline: open deals by pipeline stage, as of the last refresh.

CREATE OR REPLACE FUNCTION reports._pipeline_by_stage(p_owner_ids bigint[])
RETURNS TABLE (
    stage_code text,
    stage_name text,
    stage_position integer,
    deals bigint,
    amount numeric,
    weighted_amount numeric,
    avg_age_days numeric
)
LANGUAGE sql
STABLE
AS $$
    SELECT
        s.code,
        s.name,
        s.position,
        coalesce(sum(o.deals), 0)::bigint,
        round(coalesce(sum(o.amount), 0), 2),
        round(coalesce(sum(o.weighted_amount), 0), 2),
        reports._safe_ratio(sum(o.age_days_sum), sum(o.deals), 2)
    FROM reports.src_pipeline_stages AS s
    LEFT JOIN reports._scoped_pipeline_stages(p_owner_ids) AS o ON o.stage_code = s.code
    WHERE NOT s.is_closed
    GROUP BY s.code, s.name, s.position
    ORDER BY s.position
$$;

COMMENT ON FUNCTION reports._pipeline_by_stage(bigint[]) IS
'The rows of reports.sales_pipeline for the visible owners p_owner_ids (null = all); shared with
reports.dashboard (internal, inlined)';

CREATE OR REPLACE FUNCTION reports.sales_pipeline(p_owner_id bigint DEFAULT NULL)
RETURNS TABLE (
    stage_code text,
    stage_name text,
    stage_position integer,
    deals bigint,
    amount numeric,
    weighted_amount numeric,
    avg_age_days numeric
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
DECLARE
    v_owner_ids bigint[];
BEGIN
    SELECT a.owner_ids INTO v_owner_ids FROM reports._authorize('sales_pipeline') AS a;
    v_owner_ids := reports._narrow_to_owner('sales_pipeline', v_owner_ids, p_owner_id);
    RETURN QUERY SELECT * FROM reports._pipeline_by_stage(v_owner_ids);
END
$$;

COMMENT ON FUNCTION reports.sales_pipeline(bigint) IS
'Open deals by pipeline stage: count, amount, probability-weighted amount and mean age, as of the last refresh.
One row per open stage (crm.pipeline_stages with is_closed false) in position order, every open stage present
even with no deal. Open deal: status open, not deleted, client not deleted, as summarised by the last refresh of
reports.pipeline_open (a deal whose current stage is a closed stage is not listed).
Scope: deals whose owner the caller sees (docs/permissions.md).
p_owner_id: only deals of this owner (null: every owner in scope); 42501 when outside the caller''s scope.
- stage_code, stage_name, stage_position: the stage (crm.pipeline_stages code, name, position).
- deals: number of open deals in the stage.
- amount: sum of their amount, rounded half-up to 2 decimals (0 when none).
- weighted_amount: sum of amount * stage probability (null probability counts as 0), rounded to 2 (0 when none).
- avg_age_days: mean of (refresh time - created_at) in days (interval epoch / 86400), rounded to 2; null when
  the stage has no open deal.';
