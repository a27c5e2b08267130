-- Definition of reports.deal_outcomes_daily: won and lost deals per local closing day.
-- p_clients (its group column, client_id: reports.summaries.group_column) narrows the rows to those clients:
-- an incremental refresh recomputes only the clients whose deals changed, through the deals' client index.

DROP FUNCTION IF EXISTS reports.compute_deal_outcomes_daily(daterange);

CREATE OR REPLACE FUNCTION reports.compute_deal_outcomes_daily(p_days daterange, p_clients bigint[] DEFAULT NULL)
RETURNS TABLE (
    day date,
    owner_id bigint,
    client_id bigint,
    won_deals bigint,
    won_amount numeric,
    won_cycle_days_sum numeric,
    lost_deals bigint,
    last_won_at timestamptz
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
        count(*) FILTER (WHERE o.status = 'won'),
        coalesce(sum(o.amount) FILTER (WHERE o.status = 'won'), 0),
        coalesce(sum(extract(EPOCH FROM o.closed_at - o.created_at) / 86400) FILTER (WHERE o.status = 'won'), 0),
        count(*) FILTER (WHERE o.status = 'lost'),
        max(o.closed_at) FILTER (WHERE o.status = 'won')
    FROM (
        SELECT
            (d.closed_at AT TIME ZONE v_tz)::date AS day,
            d.owner_id,
            d.client_id,
            d.status,
            d.amount,
            d.created_at,
            d.closed_at
        FROM reports.src_deals AS d
        WHERE
            d.status IN ('won', 'lost')
            AND d.closed_at >= v_from
            AND d.closed_at < v_to
            AND (p_clients IS NULL OR d.client_id = ANY(p_clients))
    ) AS o
    WHERE v_every_day OR o.day <@ p_days
    GROUP BY o.day, o.owner_id, o.client_id;
END
$$;

COMMENT ON FUNCTION reports.compute_deal_outcomes_daily(daterange, bigint[]) IS
'Rows of reports.deal_outcomes_daily for the local days in p_days (and, when p_clients is not NULL, of the
clients in p_clients only): deals won or lost, per day, owner, client.
Source: reports.src_deals with status won or lost (closed_at not null). day = local date of closed_at
in reports.timezone(); owner_id and client_id of the deal. won_deals / lost_deals = number of deals won /
lost that day; won_amount = sum of amount of the won deals; won_cycle_days_sum = sum over won deals of
(closed_at - created_at) in days (interval epoch / 86400, unrounded); last_won_at = latest closed_at of a
won deal (null when none). Only keys with at least one won or lost deal; amounts unrounded.';
