-- Definition of reports.audit_actions_by_month: audit_actions_by_day ORed over calendar months.

CREATE OR REPLACE FUNCTION reports.compute_audit_actions_by_month(p_days daterange)
RETURNS TABLE (
    month date,
    action text,
    entity_type text,
    actor_block bigint,
    events bigint,
    actors bit(4096)
)
LANGUAGE plpgsql
STABLE
SET search_path = reports, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    -- the months whose first day lies in p_days, as the days they cover: [v_from, v_to) (date_trunc on
    -- a timestamp: a date would become a timestamptz in the session time zone)
    v_from constant date := CASE
        WHEN lower_inf(p_days) THEN '-infinity'::date
        ELSE (date_trunc('month', (lower(p_days) - 1)::timestamp) + interval '1 month')::date
    END;
    v_to constant date := CASE
        WHEN upper_inf(p_days) THEN 'infinity'::date
        ELSE (date_trunc('month', (upper(p_days) - 1)::timestamp) + interval '1 month')::date
    END;
BEGIN
    IF isempty(p_days) THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT
        date_trunc('month', a.day::timestamp)::date,
        a.action,
        a.entity_type,
        a.actor_block,
        sum(a.events)::bigint,
        bit_or(a.actors)
    FROM reports.audit_actions_by_day AS a
    WHERE a.day >= v_from AND a.day < v_to
    GROUP BY date_trunc('month', a.day::timestamp)::date, a.action, a.entity_type, a.actor_block;
END
$$;

COMMENT ON FUNCTION reports.compute_audit_actions_by_month(daterange) IS
'Rows of reports.audit_actions_by_month for the months whose first day lies in p_days: the rows of
reports.audit_actions_by_day (as stored: refreshed first, in the same refresh) of every day of those months, per
month (its first day), action, entity type and actor block: events = sum of their events, actors = OR of their
actor bitmaps. Only groups with at least one event with an actor.';
