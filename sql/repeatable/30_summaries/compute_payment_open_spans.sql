-- Definition of reports.payment_open_spans: when each payment is outstanding.

CREATE OR REPLACE FUNCTION reports.compute_payment_open_spans(p_days daterange)
RETURNS TABLE (
    created_day date,
    owner_id bigint,
    due_date date,
    paid_day date,
    payments bigint,
    amount numeric
)
LANGUAGE plpgsql
STABLE
SET search_path = reports, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_tz text;
    v_from timestamptz;
    v_to timestamptz;
    v_every_day constant boolean := lower_inf(p_days) AND upper_inf(p_days);
BEGIN
    SELECT w.tz, w.from_ts, w.to_ts INTO v_tz, v_from, v_to FROM reports._timezone_window(p_days) AS w;

    RETURN QUERY
    SELECT
        o.created_day,
        o.owner_id,
        o.due_date,
        o.paid_day,
        count(*),
        sum(o.amount)
    FROM (
        SELECT
            (p.created_at AT TIME ZONE v_tz)::date AS created_day,
            p.owner_id,
            p.due_date,
            (p.paid_at AT TIME ZONE v_tz)::date AS paid_day,
            p.amount
        FROM reports.src_payments AS p
        WHERE
            p.status <> 'failed'
            AND p.created_at >= v_from
            AND p.created_at < v_to
    ) AS o
    WHERE v_every_day OR o.created_day <@ p_days
    GROUP BY o.created_day, o.owner_id, o.due_date, o.paid_day;
END
$$;

COMMENT ON FUNCTION reports.compute_payment_open_spans(daterange) IS
'Rows of reports.payment_open_spans for the local creation days in p_days: payments that are not failed,
per created_day, owner, due_date and paid_day.
Source: reports.src_payments with status <> failed. created_day / paid_day = local dates of created_at /
paid_at in reports.timezone() (paid_day null when paid_at is null); owner_id = payment owner (may be
null). payments = number of payments, amount = sum of their amount (unrounded). Such a payment is
outstanding at the end of day D exactly when created_day <= D and (paid_day is null or paid_day > D),
i.e. open_span @> D; a payment is invoiced on its created_day.';
