-- Definition of reports.audit_actions_by_day: audit events with an actor per day, action and entity
-- type, and their actors.

CREATE OR REPLACE FUNCTION reports.compute_audit_actions_by_day(p_days daterange)
RETURNS TABLE (
    day date,
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
    -- day bounds as plain comparisons (an index range scan; day <@ p_days is not indexable here)
    v_from constant date := coalesce(lower(p_days), '-infinity');
    v_to constant date := coalesce(upper(p_days), 'infinity');
BEGIN
    IF isempty(p_days) THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT
        a.day,
        a.action,
        a.entity_type,
        reports._actor_block(a.actor_id),
        sum(a.events)::bigint,
        bit_or(reports._actor_bit(a.actor_id))
    FROM reports.audit_activity_daily AS a
    WHERE a.day >= v_from AND a.day < v_to AND a.actor_id IS NOT NULL
    GROUP BY a.day, a.action, a.entity_type, reports._actor_block(a.actor_id);
END
$$;

COMMENT ON FUNCTION reports.compute_audit_actions_by_day(daterange) IS
'Rows of reports.audit_actions_by_day for the local days in p_days: the rows of reports.audit_activity_daily
with an actor (as stored: refreshed first, in the same refresh), per day, action, entity type and actor block
(reports._actor_block): events = their events, actors = the bitmap of their actors (reports._actor_bit).
Events without an actor are left out. Only groups with at least one such event.';
