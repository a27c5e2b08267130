-- Report dashboard: the headline numbers of a range, each equal to its detailed report.

CREATE OR REPLACE FUNCTION reports.dashboard(p_from date, p_to date)
RETURNS TABLE (
    open_pipeline_amount numeric,
    weighted_pipeline_amount numeric,
    won_deals bigint,
    won_amount numeric,
    win_rate numeric,
    avg_deal_size numeric,
    collected_amount numeric,
    overdue_amount numeric,
    active_users bigint,
    new_clients bigint
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
    SELECT a.owner_ids INTO v_owner_ids FROM reports._authorize('dashboard') AS a;
    PERFORM reports._check_range(p_from, p_to);
    RETURN QUERY
    WITH
    pipeline AS (
        SELECT
            sum(s.amount) AS amount,
            sum(s.weighted_amount) AS weighted_amount
        FROM reports._pipeline_by_stage(v_owner_ids) AS s
    ),

    outcomes AS (
        SELECT
            coalesce(sum(o.won_deals), 0) AS won_deals,
            coalesce(sum(o.won_amount), 0) AS won_amount,
            coalesce(sum(o.lost_deals), 0) AS lost_deals
        FROM reports._scoped_deal_outcome_days(v_owner_ids, p_from, p_to) AS o
    ),

    activity AS (
        -- distinct actors of the range: the bits set in the OR of the days' bitmaps, block by block
        SELECT coalesce(sum(bit_count(b.actors)), 0)::bigint AS active_users
        FROM (
            SELECT bit_or(e.actors) AS actors
            FROM reports._scoped_audit_actor_days(v_owner_ids, p_from, p_to) AS e
            GROUP BY e.actor_block
        ) AS b
    ),

    clients AS (
        SELECT coalesce(sum(c.clients), 0) AS new_clients
        FROM reports._scoped_clients_created_days(v_owner_ids, p_from, p_to) AS c
    )

    SELECT
        coalesce(p.amount, 0),
        coalesce(p.weighted_amount, 0),
        o.won_deals::bigint,
        round(o.won_amount, 2),
        reports._safe_ratio(o.won_deals, o.won_deals + o.lost_deals, 4),
        reports._safe_ratio(o.won_amount, o.won_deals, 2),
        col.collected_amount,
        col.overdue_amount,
        act.active_users,
        cli.new_clients::bigint
    FROM pipeline AS p
    CROSS JOIN outcomes AS o
    CROSS JOIN activity AS act
    CROSS JOIN clients AS cli
    CROSS JOIN reports._collections(v_owner_ids, p_from, p_to) AS col;
END
$$;

COMMENT ON FUNCTION reports.dashboard(date, date) IS
'Headline numbers of a range: open pipeline, won deals, win rate, collections, active users and new clients.
One row. Range p_from..p_to, both included, days in the reports time zone; 22023 for a null, infinite or reversed
range. Scope: the caller''s scope for report dashboard applies to every value (each value equals its detailed
report for a caller with the same scope there); computed with the same helpers as the detailed reports.
- open_pipeline_amount: sum of sales_pipeline.amount (open deals now, as of the last refresh; not range-bound).
- weighted_pipeline_amount: sum of sales_pipeline.weighted_amount (each stage rounded to 2, then summed).
- won_deals: deals won in the range (= the sum of revenue_by_period.won_deals over the range, any grain).
- won_amount: their summed amount, rounded half-up to 2 (= the sum of revenue_by_period.won_amount).
- win_rate: won / (won + lost) over deals won or lost in the range, rounded to 4 (the manager_leaderboard
  formula over all owners in scope); null when none.
- avg_deal_size: won_amount / won_deals, rounded to 2; null when none (= revenue_by_period.avg_deal_size for a
  single period covering the range).
- collected_amount: collections_summary.collected_amount for the range.
- overdue_amount: collections_summary.overdue_amount for the range (outstanding at the end of p_to, due before it).
- active_users: distinct actors with an audit event in the whole range (= activity_by_period.active_users for a
  single period covering the range, e.g. grain year over a range inside one year).
- new_clients: clients (not deleted) created (local day of created_at) in the range, whose owner the caller sees.';
