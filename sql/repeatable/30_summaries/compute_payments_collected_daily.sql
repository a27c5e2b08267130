-- Definition of reports.payments_collected_daily: money received per local day.

CREATE OR REPLACE FUNCTION reports.compute_payments_collected_daily(p_days daterange)
RETURNS TABLE (
    day date,
    owner_id bigint,
    client_id bigint,
    paid_payments bigint,
    paid_amount numeric
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
        o.day,
        o.owner_id,
        o.client_id,
        count(*),
        sum(o.amount)
    FROM (
        SELECT
            (p.paid_at AT TIME ZONE v_tz)::date AS day,
            p.owner_id,
            p.client_id,
            p.amount
        FROM reports.src_payments AS p
        WHERE
            p.paid_at >= v_from
            AND p.paid_at < v_to
    ) AS o
    WHERE v_every_day OR o.day <@ p_days
    GROUP BY o.day, o.owner_id, o.client_id;
END
$$;

COMMENT ON FUNCTION reports.compute_payments_collected_daily(daterange) IS
'Rows of reports.payments_collected_daily for the local days in p_days: payments paid, per day, owner, client.
Source: reports.src_payments with paid_at not null, whatever their status (paid_at is set when money
was received and kept on refund). day = local date of paid_at in reports.timezone(); owner_id = payment
owner (deal owner, else client owner; may be null). paid_payments = number of payments, paid_amount = sum
of their amount (unrounded).';
