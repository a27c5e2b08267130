-- Report client_cohorts: retention of clients by the period of their first won deal.

CREATE OR REPLACE FUNCTION reports.client_cohorts(p_from date, p_to date, p_grain text DEFAULT 'month')
RETURNS TABLE (
    cohort_start date,
    period_offset integer,
    cohort_size bigint,
    active_clients bigint,
    retention_pct numeric,
    won_amount numeric
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
    v_last_day date;
BEGIN
    SELECT a.owner_ids INTO v_owner_ids FROM reports._authorize('client_cohorts') AS a;
    PERFORM reports._check_range(p_from, p_to);
    PERFORM reports._check_grain(p_grain);
    -- cohorts x offsets grow with the square of the periods: allow fewer periods than elsewhere
    SELECT max(p.period_end) INTO v_last_day FROM reports._periods(p_from, p_to, p_grain, 1000) AS p;
    RETURN QUERY
    WITH
    periods AS (
        SELECT
            p.period_start,
            row_number() OVER (ORDER BY p.period_start) AS position
        FROM reports._periods(p_from, p_to, p_grain) AS p
    ),

    days AS (
        SELECT d.period_start, d.day FROM reports._period_days(p_from, v_last_day, p_grain) AS d
    ),

    -- first won day of every client ever (only the day: no amounts summed over the whole history)
    first_won AS (
        SELECT
            o.client_id,
            min(o.day) AS first_day
        FROM reports._scoped_deal_outcomes(v_owner_ids, NULL, NULL) AS o
        WHERE o.won_deals > 0
        GROUP BY o.client_id
        HAVING min(o.day) BETWEEN p_from AND v_last_day
    ),

    members AS MATERIALIZED (
        SELECT
            f.client_id,
            d.period_start AS cohort_start
        FROM first_won AS f
        INNER JOIN days AS d ON d.day = f.first_day
        WHERE d.period_start >= p_from
    ),

    -- a member's won deals are on or after its first won day, so within p_from..p_to
    activity AS (
        SELECT
            m.cohort_start,
            d.period_start,
            count(DISTINCT m.client_id) AS active_clients,
            sum(o.won_amount) AS won_amount
        FROM members AS m
        INNER JOIN reports._scoped_deal_outcomes(v_owner_ids, p_from, p_to) AS o
            ON o.client_id = m.client_id AND o.won_deals > 0
        INNER JOIN days AS d ON d.day = o.day
        GROUP BY m.cohort_start, d.period_start
    ),

    sizes AS (
        SELECT
            m.cohort_start,
            count(*) AS cohort_size
        FROM members AS m
        GROUP BY m.cohort_start
    )

    SELECT
        c.period_start,
        (p.position - c.position)::integer,
        coalesce(s.cohort_size, 0),
        coalesce(a.active_clients, 0),
        reports._percent(coalesce(a.active_clients, 0), s.cohort_size),
        round(coalesce(a.won_amount, 0), 2)
    FROM periods AS c
    INNER JOIN periods AS p ON p.position >= c.position
    LEFT JOIN sizes AS s ON s.cohort_start = c.period_start
    LEFT JOIN activity AS a ON a.cohort_start = c.period_start AND a.period_start = p.period_start
    WHERE c.period_start >= p_from
    ORDER BY c.period_start, p.period_start;
END
$$;

COMMENT ON FUNCTION reports.client_cohorts(date, date, text) IS
'Client retention by cohort: clients grouped by the period of their first won deal, and who won again later.
Cohorts: the p_grain periods whose first day lies in p_from..p_to (a first period starting before p_from is not a
cohort). A client belongs to the cohort of the period (whole period, even days after p_to) containing the local
day (reports time zone) of its first won deal ever among the deals the caller sees (scope: deals whose owner the
caller sees, so a manager''s cohorts are built from the manager''s own won deals).
One row per cohort and offset 0..n, n = the offset of the period containing p_to; cohorts without clients are
present with zeros. Only won deals closed on or before p_to count for activity.
p_grain: day, week (ISO, Monday), month, quarter or year (default month); at most 1000 periods.
22023 for a null, infinite or reversed range or an unknown grain.
- cohort_start: first day of the cohort period.
- period_offset: 0 for the cohort period itself, k for the k-th period after it.
- cohort_size: clients in the cohort.
- active_clients: cohort clients with at least one won deal (closed_at local day) in period cohort + offset, up to p_to.
- retention_pct: 100 * active_clients / cohort_size, rounded half-up to 2; null when the cohort is empty.
- won_amount: summed amount of those won deals, rounded to 2.';
