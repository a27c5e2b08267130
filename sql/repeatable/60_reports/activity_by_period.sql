-- Report activity_by_period: active users and audit events per period.

CREATE OR REPLACE FUNCTION reports.activity_by_period(p_from date, p_to date, p_grain text DEFAULT 'day')
RETURNS TABLE (
    period_start date,
    active_users bigint,
    events bigint,
    events_per_active_user numeric
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
    SELECT a.owner_ids INTO v_owner_ids FROM reports._authorize('activity_by_period') AS a;
    PERFORM reports._check_range(p_from, p_to);
    PERFORM reports._check_grain(p_grain);
    RETURN QUERY
    WITH by_block AS (
        -- the period's actors of each block: the OR of its days' bitmaps
        SELECT
            d.period_start,
            bit_or(e.actors) AS actors,
            sum(e.events) AS events
        FROM reports._scoped_audit_actor_days(v_owner_ids, p_from, p_to) AS e
        INNER JOIN reports._period_days(p_from, p_to, p_grain) AS d ON d.day = e.day
        GROUP BY d.period_start, e.actor_block
    ),

    by_period AS (
        SELECT
            b.period_start,
            sum(bit_count(b.actors))::bigint AS active_users,
            sum(b.events) AS events
        FROM by_block AS b
        GROUP BY b.period_start
    )

    SELECT
        p.period_start,
        coalesce(b.active_users, 0),
        coalesce(b.events, 0)::bigint,
        reports._safe_ratio(b.events, b.active_users, 4)
    FROM reports._periods(p_from, p_to, p_grain) AS p
    LEFT JOIN by_period AS b ON b.period_start = p.period_start
    ORDER BY p.period_start;
END
$$;

COMMENT ON FUNCTION reports.activity_by_period(date, date, text) IS
'Active users and audit events per period (daily, weekly or monthly active users).
One row per p_grain period overlapping p_from..p_to (both included; local day of occurred_at in the reports time
zone), in order, dense (zeros when nothing happened). A period only partly inside the range counts only its days
inside. Only audit events with an actor count. Scope: events whose actor the caller sees (scope own: the caller''s
own events). p_grain: day (default), week (ISO, Monday), month, quarter or year; at most 10000 periods.
22023 for a null, infinite or reversed range or an unknown grain.
- period_start: first day of the whole period.
- active_users: distinct actors with an event in the period''s days in range (so week and month give WAU and MAU,
  not sums of days).
- events: audit events in the period''s days in range.
- events_per_active_user: events / active_users, a ratio rounded half-up to 4 decimals; null when no active user.';
