-- Definition of reports.clients_created_daily: new clients per local day.

CREATE OR REPLACE FUNCTION reports.compute_clients_created_daily(p_days daterange)
RETURNS TABLE (
    day date,
    owner_id bigint,
    clients bigint
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
        count(*)
    FROM (
        SELECT
            (c.created_at AT TIME ZONE v_tz)::date AS day,
            c.owner_id
        FROM reports.src_clients AS c
        WHERE
            c.created_at >= v_from
            AND c.created_at < v_to
    ) AS o
    WHERE v_every_day OR o.day <@ p_days
    GROUP BY o.day, o.owner_id;
END
$$;

COMMENT ON FUNCTION reports.compute_clients_created_daily(daterange) IS
'Rows of reports.clients_created_daily for the local days in p_days: clients created per day and owner.
Source: reports.src_clients (soft-deleted clients excluded). day = local date of created_at in
reports.timezone(); owner_id = client owner (may be null). clients = number of clients.';
