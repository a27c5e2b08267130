-- Report activity_by_action: audit events of a range by action and entity type.

CREATE OR REPLACE FUNCTION reports.activity_by_action(p_from date, p_to date)
RETURNS TABLE (
    action text,
    entity_type text,
    events bigint,
    actors bigint
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
BEGIN
    SELECT a.owner_ids INTO v_owner_ids FROM reports._authorize('activity_by_action') AS a;
    PERFORM reports._check_range(p_from, p_to);
    RETURN QUERY
    WITH by_block AS (
        -- the range's actors of each action, entity type and block: the OR of its days' bitmaps
        SELECT
            e.action,
            e.entity_type,
            bit_or(e.actors) AS actors,
            sum(e.events) AS events
        FROM reports._scoped_audit_action_days(v_owner_ids, p_from, p_to) AS e
        GROUP BY e.action, e.entity_type, e.actor_block
    )

    SELECT
        b.action,
        b.entity_type,
        sum(b.events)::bigint,
        sum(bit_count(b.actors))::bigint
    FROM by_block AS b
    GROUP BY b.action, b.entity_type
    ORDER BY 3 DESC, b.action, b.entity_type NULLS LAST;
END
$$;

COMMENT ON FUNCTION reports.activity_by_action(date, date) IS
'Audit events of a range by action and entity type, with how many users did them.
One row per (action, entity_type) with at least one event in p_from..p_to (both included; local day of occurred_at
in the reports time zone), ordered by events descending, then action, then entity_type (null last).
Only audit events with an actor count (as in activity_by_period). Scope: events whose actor the caller sees.
22023 for a null, infinite or reversed range.
- action: audit.events.action.
- entity_type: audit.events.entity_type (null for events without one).
- events: number of events.
- actors: distinct actors of those events.';
