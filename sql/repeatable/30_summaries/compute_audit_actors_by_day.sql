-- Definition of reports.audit_actors_by_day: audit events with an actor per day, and their actors.

CREATE OR REPLACE FUNCTION reports.compute_audit_actors_by_day(p_days daterange)
RETURNS TABLE (
    day date,
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
        a.actor_block,
        sum(a.events)::bigint,
        bit_or(a.actors)
    FROM reports.audit_actions_by_day AS a
    WHERE a.day >= v_from AND a.day < v_to
    GROUP BY a.day, a.actor_block;
END
$$;

COMMENT ON FUNCTION reports.compute_audit_actors_by_day(daterange) IS
'Rows of reports.audit_actors_by_day for the local days in p_days: the rows of reports.audit_actions_by_day (as
stored: refreshed first, in the same refresh) per day and actor block over every action and entity type:
events = their sum, actors = the OR of their bitmaps (reports._actor_bit). Events without an actor are left
out (as there). Only days and blocks with at least one such event.';
