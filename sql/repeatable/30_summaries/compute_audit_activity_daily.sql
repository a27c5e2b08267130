-- Definition of reports.audit_activity_daily: audit events per local day and actor.

CREATE OR REPLACE FUNCTION reports.compute_audit_activity_daily(p_days daterange)
RETURNS TABLE (
    day date,
    actor_id bigint,
    action text,
    entity_type text,
    events bigint
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
        o.actor_id,
        o.action,
        o.entity_type,
        count(*)
    FROM (
        SELECT
            (e.occurred_at AT TIME ZONE v_tz)::date AS day,
            e.actor_id,
            e.action,
            e.entity_type
        FROM reports.src_events AS e
        WHERE
            e.occurred_at >= v_from
            AND e.occurred_at < v_to
    ) AS o
    WHERE v_every_day OR o.day <@ p_days
    GROUP BY o.day, o.actor_id, o.action, o.entity_type;
END
$$;

COMMENT ON FUNCTION reports.compute_audit_activity_daily(daterange) IS
'Rows of reports.audit_activity_daily for the local days in p_days: audit events per day, actor, action and
entity type.
Source: reports.src_events (every event). day = local date of occurred_at in reports.timezone(); actor_id
null for events without an actor, entity_type may be null. events = number of events. Distinct actors of
any period are the distinct non-null actor_id of its days.';
