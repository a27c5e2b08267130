-- Report revenue_by_period: won deals and payments received per period, with growth.

CREATE OR REPLACE FUNCTION reports.revenue_by_period(
    p_from date,
    p_to date,
    p_grain text DEFAULT 'month',
    p_owner_id bigint DEFAULT NULL
)
RETURNS TABLE (
    period_start date,
    won_deals bigint,
    won_amount numeric,
    avg_deal_size numeric,
    paid_amount numeric,
    prev_won_amount numeric,
    growth_pct numeric
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
    v_first_start date;
    v_before_start date;
    v_before_end date;
    v_before_won numeric;
BEGIN
    SELECT a.owner_ids INTO v_owner_ids FROM reports._authorize('revenue_by_period') AS a;
    v_owner_ids := reports._narrow_to_owner('revenue_by_period', v_owner_ids, p_owner_id);
    PERFORM reports._check_range(p_from, p_to);
    PERFORM reports._check_grain(p_grain);
    -- won amount of the whole period before the first period (the first period's previous one)
    SELECT f.period_start INTO v_first_start FROM reports._periods(p_from, p_from, p_grain) AS f;
    SELECT b.period_start, b.period_end INTO v_before_start, v_before_end
    FROM reports._periods(v_first_start - 1, v_first_start - 1, p_grain) AS b;
    SELECT coalesce(sum(o.won_amount), 0) INTO v_before_won
    FROM reports._scoped_deal_outcome_days(v_owner_ids, v_before_start, v_before_end) AS o;
    RETURN QUERY
    WITH
    days AS (
        SELECT d.period_start, d.day FROM reports._period_days(p_from, p_to, p_grain) AS d
    ),

    won AS (
        SELECT
            d.period_start,
            sum(o.won_deals) AS won_deals,
            sum(o.won_amount) AS won_amount
        FROM reports._scoped_deal_outcome_days(v_owner_ids, p_from, p_to) AS o
        INNER JOIN days AS d ON d.day = o.day
        GROUP BY d.period_start
    ),

    paid AS (
        SELECT
            d.period_start,
            sum(c.paid_amount) AS paid_amount
        FROM reports._scoped_payments_collected_days(v_owner_ids, p_from, p_to) AS c
        INNER JOIN days AS d ON d.day = c.day
        GROUP BY d.period_start
    ),

    periods AS (
        SELECT
            p.period_start,
            coalesce(w.won_deals, 0) AS won_deals,
            coalesce(w.won_amount, 0) AS won_amount,
            coalesce(pd.paid_amount, 0) AS paid_amount,
            lag(coalesce(w.won_amount, 0), 1, v_before_won) OVER (ORDER BY p.period_start) AS prev_won_amount
        FROM reports._periods(p_from, p_to, p_grain) AS p
        LEFT JOIN won AS w ON w.period_start = p.period_start
        LEFT JOIN paid AS pd ON pd.period_start = p.period_start
    )

    SELECT
        r.period_start,
        r.won_deals::bigint,
        round(r.won_amount, 2),
        reports._safe_ratio(r.won_amount, r.won_deals, 2),
        round(r.paid_amount, 2),
        round(r.prev_won_amount, 2),
        reports._percent(r.won_amount - r.prev_won_amount, r.prev_won_amount)
    FROM periods AS r
    ORDER BY r.period_start;
END
$$;

COMMENT ON FUNCTION reports.revenue_by_period(date, date, text, bigint) IS
'Won deals, won amount, average deal size and payments received per period, with growth against the previous period.
One row per p_grain period overlapping p_from..p_to (both included; dates are days in the reports time zone), in
order, dense (periods without data give zeros). A period only partly inside the range counts only its days inside.
Scope: deals and payments whose owner the caller sees (payment owner: its deal''s owner, else its client''s).
p_grain: day, week (ISO, Monday), month, quarter or year (default month); at most 10000 periods.
p_owner_id: only deals and payments of this owner (null: every owner in scope); 42501 when outside the scope.
22023 when p_from or p_to is null or infinite, p_from > p_to, or p_grain is unknown.
- period_start: first day of the whole period (even when the range starts later).
- won_deals: deals won in the period (status won, local day of closed_at in the period''s days in range).
- won_amount: sum of their amount, rounded half-up to 2 decimals.
- avg_deal_size: won_amount / won_deals rounded to 2; null when won_deals is 0.
- paid_amount: sum of the amount of payments whose paid_at local day is in the period''s days in range
  (paid_at is kept when a payment is later refunded), rounded to 2.
- prev_won_amount: won_amount of the previous row; for the first row, the won amount of the whole grain period
  before the first period (e.g. all of February for a range starting on any day of March), rounded to 2.
- growth_pct: 100 * (won_amount - prev_won_amount) / prev_won_amount over unrounded amounts, rounded to 2;
  null when prev_won_amount is 0.';
