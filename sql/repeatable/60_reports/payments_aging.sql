-- Report payments_aging: payments outstanding at the end of a day, by days past due.

CREATE OR REPLACE FUNCTION reports.payments_aging(p_as_of date DEFAULT NULL)
RETURNS TABLE (
    bucket text,
    payments bigint,
    amount numeric,
    share_pct numeric
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
    v_as_of date;
BEGIN
    SELECT a.owner_ids INTO v_owner_ids FROM reports._authorize('payments_aging') AS a;
    v_as_of := reports._resolve_as_of(p_as_of);
    RETURN QUERY
    WITH buckets (bucket, first_day, last_day) AS (
        VALUES
        ('current', NULL::integer, 0),
        ('1-30', 1, 30),
        ('31-60', 31, 60),
        ('61-90', 61, 90),
        ('90+', 91, NULL::integer)
    ),

    -- summed per due date first: a few thousand rows become one per due date before the bucket join
    outstanding AS (
        SELECT
            v_as_of - s.due_date AS days_past_due,
            sum(s.payments) AS payments,
            sum(s.amount) AS amount
        FROM reports._scoped_payments_outstanding_days(v_owner_ids, v_as_of) AS s
        GROUP BY s.due_date
    ),

    by_bucket AS (
        SELECT
            b.bucket,
            b.first_day,
            coalesce(sum(o.payments), 0) AS payments,
            coalesce(sum(o.amount), 0) AS amount
        FROM buckets AS b
        LEFT JOIN outstanding AS o
            ON o.days_past_due BETWEEN coalesce(b.first_day, -2147483648) AND coalesce(b.last_day, 2147483647)
        GROUP BY b.bucket, b.first_day
    )

    SELECT
        b.bucket,
        b.payments::bigint,
        round(b.amount, 2),
        reports._percent(b.amount, sum(b.amount) OVER ())
    FROM by_bucket AS b
    ORDER BY b.first_day NULLS FIRST;
END
$$;

COMMENT ON FUNCTION reports.payments_aging(date) IS
'Payments outstanding at the end of a day, by how many days past their due date.
Outstanding at the end of day D (p_as_of): created (local day of created_at in the reports time zone) on or
before D, status not failed, and not paid by the end of D (paid_at null or its local day after D); so the
report can be asked for any past day. Payments of deleted clients or deleted deals are left out.
p_as_of: the day D; null (the default) means today in the reports time zone (reports.timezone()), not the
session''s current_date. 22023 when infinite.
Scope: payments whose owner the caller sees (its deal''s owner, else its client''s owner).
One row per bucket, always all five, in this order: current (days past due <= 0), 1-30, 31-60, 61-90, 90+,
where days past due = D - due_date.
- bucket: the bucket name.
- payments: number of outstanding payments in the bucket.
- amount: their summed amount, rounded half-up to 2 decimals.
- share_pct: 100 * amount / total outstanding amount (all buckets, unrounded), rounded to 2; null when nothing
  is outstanding.';
