-- Capture of changes to audit.events: which days of audit_activity_daily a changed event invalidates.
--
-- One reports.change_log row per changed event with occurred_at, old and new, in old/new_created_at
-- (audit_activity_daily buckets events by the local day of occurred_at). What a change touches:
-- occurred_at, actor_id, action, entity_type; an insert or a delete touches its day. Other columns
-- (service, payload, ...) log nothing.
--
-- Two variants write the same rows (see capture_deals.sql): reports._capture_events() for
-- statement-level triggers, reports._capture_events_row() for row-level triggers.

CREATE OR REPLACE FUNCTION reports._capture_events()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_logged bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO reports.change_log (source_table, operation, new_created_at)
        SELECT 'audit.events', TG_OP, n.occurred_at
        FROM new_rows AS n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO reports.change_log (source_table, operation, old_created_at)
        SELECT 'audit.events', TG_OP, o.occurred_at
        FROM old_rows AS o;
    ELSE
        INSERT INTO reports.change_log (source_table, operation, old_created_at, new_created_at)
        SELECT 'audit.events', TG_OP, o.occurred_at, n.occurred_at
        FROM old_rows AS o
        FULL JOIN new_rows AS n ON o.id = n.id
        WHERE
            o.id IS NULL OR n.id IS NULL
            OR (o.occurred_at, o.actor_id, o.action, o.entity_type)
            IS DISTINCT FROM (n.occurred_at, n.actor_id, n.action, n.entity_type);
    END IF;
    GET DIAGNOSTICS v_logged = ROW_COUNT;
    IF v_logged > 0 THEN
        PERFORM reports._notify_changes('audit.events');
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_events() IS
'Trigger function of the statement-level AFTER INSERT / UPDATE / DELETE capture triggers on audit.events
(transition tables new_rows / old_rows): appends one reports.change_log row per event whose change can change
audit_activity_daily (see the header of sql/repeatable/35_capture/capture_events.sql), then NOTIFY
reports_changes (internal).';

CREATE OR REPLACE FUNCTION reports._capture_events_row()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_logged bigint;
BEGIN
    INSERT INTO reports.change_log (source_table, operation, old_created_at, new_created_at)
    SELECT 'audit.events', TG_OP, o.occurred_at, n.occurred_at
    FROM (SELECT OLD.* WHERE TG_OP <> 'INSERT') AS o
    FULL JOIN (SELECT NEW.* WHERE TG_OP <> 'DELETE') AS n ON o.id = n.id
    WHERE
        o.id IS NULL OR n.id IS NULL
        OR (o.occurred_at, o.actor_id, o.action, o.entity_type)
        IS DISTINCT FROM (n.occurred_at, n.actor_id, n.action, n.entity_type);
    GET DIAGNOSTICS v_logged = ROW_COUNT;
    IF v_logged > 0 THEN
        PERFORM reports._notify_changes('audit.events');
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_events_row() IS
'Trigger function of the row-level AFTER INSERT / UPDATE / DELETE capture triggers on audit.events (for a
logical replication subscriber): logs exactly what reports._capture_events() logs for the same change, one
row at a time (internal).';
