-- Report manager_leaderboard: owners ranked by the amount they won in a range.

CREATE OR REPLACE FUNCTION reports.manager_leaderboard(p_from date, p_to date, p_limit integer DEFAULT 20)
RETURNS TABLE (
    rank bigint,
    owner_id bigint,
    owner_name text,
    team_name text,
    won_deals bigint,
    won_amount numeric,
    lost_deals bigint,
    win_rate numeric,
    avg_deal_size numeric,
    avg_cycle_days numeric
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
    SELECT a.owner_ids INTO v_owner_ids FROM reports._authorize('manager_leaderboard') AS a;
    PERFORM reports._check_range(p_from, p_to);
    PERFORM reports._check_limit(p_limit);
    RETURN QUERY
    WITH by_owner AS (
        SELECT
            o.owner_id,
            sum(o.won_deals) AS won_deals,
            sum(o.won_amount) AS won_amount,
            sum(o.lost_deals) AS lost_deals,
            sum(o.won_cycle_days_sum) AS won_cycle_days_sum
        FROM reports._scoped_deal_outcomes(v_owner_ids, p_from, p_to) AS o
        GROUP BY o.owner_id
        HAVING sum(o.won_deals) + sum(o.lost_deals) > 0
    ),

    ranked AS (
        -- ranked over every owner, names and teams looked up for the first p_limit only
        SELECT
            dense_rank() OVER (ORDER BY b.won_amount DESC) AS owner_rank,
            b.*
        FROM by_owner AS b
        ORDER BY b.won_amount DESC, b.owner_id
        LIMIT p_limit
    )

    SELECT
        b.owner_rank,
        b.owner_id,
        u.full_name,
        t.name,
        b.won_deals::bigint,
        round(b.won_amount, 2),
        b.lost_deals::bigint,
        reports._safe_ratio(b.won_deals, b.won_deals + b.lost_deals, 4),
        reports._safe_ratio(b.won_amount, b.won_deals, 2),
        reports._safe_ratio(b.won_cycle_days_sum, b.won_deals, 2)
    FROM ranked AS b
    LEFT JOIN reports.src_users AS u ON u.id = b.owner_id
    LEFT JOIN reports.src_teams AS t ON t.id = u.team_id
    ORDER BY b.won_amount DESC, b.owner_id;
END
$$;

COMMENT ON FUNCTION reports.manager_leaderboard(date, date, integer) IS
'Deal owners ranked by the amount they won in a range, with losses, win rate, deal size and sales cycle.
One row per owner with at least one deal won or lost in p_from..p_to (both included; local days in the reports
time zone of closed_at), ordered by won_amount descending, then owner_id; the first p_limit rows (default 20).
Scope: deals whose owner the caller sees. 22023 for a null, infinite or reversed range or p_limit < 1.
- rank: dense rank by won_amount descending (owners with equal won_amount share a rank; no gaps).
- owner_id, owner_name: the deal owner (crm.users id and full_name, read live).
- team_name: name of the owner''s current team (read live); null when the owner has no team.
- won_deals, lost_deals: deals with status won / lost whose closed_at falls in the range.
- won_amount: sum of the won deals'' amount, rounded half-up to 2 decimals.
- win_rate: won_deals / (won_deals + lost_deals), rounded to 4 decimals (a ratio, not a percentage).
- avg_deal_size: won_amount / won_deals rounded to 2; null when no deal was won.
- avg_cycle_days: mean of (closed_at - created_at) in days (interval epoch / 86400) over the won deals,
  rounded to 2; null when no deal was won.';
