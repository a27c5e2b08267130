-- Report collections_summary: invoiced, collected, outstanding and overdue amounts of a range.

CREATE OR REPLACE FUNCTION reports._collections(p_owner_ids bigint[], p_from date, p_to date)
RETURNS TABLE (
    invoiced_count bigint,
    invoiced_amount numeric,
    collected_amount numeric,
    outstanding_amount numeric,
    overdue_amount numeric,
    dso_days numeric
)
LANGUAGE sql
STABLE
AS $$
    WITH
    invoiced AS (
        SELECT
            coalesce(sum(s.payments), 0) AS payments,
            coalesce(sum(s.amount), 0) AS amount
        FROM reports._scoped_payments_invoiced_days(p_owner_ids, p_from, p_to) AS s
    ),

    collected AS (
        SELECT coalesce(sum(c.paid_amount), 0) AS amount
        FROM reports._scoped_payments_collected_days(p_owner_ids, p_from, p_to) AS c
    ),

    outstanding AS (
        SELECT
            coalesce(sum(s.amount), 0) AS amount,
            coalesce(sum(s.amount) FILTER (WHERE s.due_date < p_to), 0) AS overdue
        FROM reports._scoped_payments_outstanding_days(p_owner_ids, p_to) AS s
    )

    SELECT
        i.payments::bigint,
        round(i.amount, 2),
        round(c.amount, 2),
        round(o.amount, 2),
        round(o.overdue, 2),
        reports._safe_ratio(o.amount * (p_to - p_from + 1), i.amount, 2)
    FROM invoiced AS i
    CROSS JOIN collected AS c
    CROSS JOIN outstanding AS o
$$;

COMMENT ON FUNCTION reports._collections(bigint[], date, date) IS
'The row of reports.collections_summary for the visible owners p_owner_ids (null = all); shared with
reports.dashboard (internal, inlined)';

CREATE OR REPLACE FUNCTION reports.collections_summary(p_from date, p_to date)
RETURNS TABLE (
    invoiced_count bigint,
    invoiced_amount numeric,
    collected_amount numeric,
    outstanding_amount numeric,
    overdue_amount numeric,
    dso_days numeric
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
    SELECT a.owner_ids INTO v_owner_ids FROM reports._authorize('collections_summary') AS a;
    PERFORM reports._check_range(p_from, p_to);
    RETURN QUERY SELECT * FROM reports._collections(v_owner_ids, p_from, p_to);
END
$$;

COMMENT ON FUNCTION reports.collections_summary(date, date) IS
'Payments invoiced and collected in a range, what is outstanding and overdue at its end, and days sales outstanding.
One row. Range p_from..p_to, both included, days in the reports time zone; 22023 for a null, infinite or
reversed range. Scope: payments whose owner the caller sees (its deal''s owner, else its client''s owner).
Payments of deleted clients or deleted deals are left out.
- invoiced_count: payments created (local day of created_at) in the range whose status is not failed.
- invoiced_amount: their summed amount, rounded half-up to 2 decimals.
- collected_amount: summed amount of payments whose paid_at local day is in the range (paid_at is kept when a
  payment is later refunded), rounded to 2.
- outstanding_amount: summed amount of the payments outstanding at the end of p_to (created on or before it, not
  failed, paid_at null or after it), rounded to 2.
- overdue_amount: the part of outstanding_amount whose due_date is before p_to, rounded to 2.
- dso_days: outstanding_amount / (invoiced_amount / days in the range) over unrounded amounts, rounded to 2;
  null when invoiced_amount is 0.';
