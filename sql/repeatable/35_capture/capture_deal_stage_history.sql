-- Capture of changes to crm.deal_stage_history: which deals' funnel rows a history change invalidates.
--
-- stage_funnel_daily buckets a deal's history by the deal's creation day, which the history row does
-- not carry: the row logs its deal (deal_id), and the refresh finds that deal's creation day in
-- crm.deals. What a change touches: deal_id, to_stage, changed_at (entries, their order and the time
-- in each stage); a row moved to another deal logs both deals (old and new rows are matched on id and
-- deal_id). An insert or a delete touches its deal. Other columns (from_stage, changed_by) log nothing.
--
-- Two variants write the same rows (see capture_deals.sql): reports._capture_deal_stage_history() for
-- statement-level triggers, reports._capture_deal_stage_history_row() for row-level triggers.

CREATE OR REPLACE FUNCTION reports._capture_deal_stage_history()
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
        INSERT INTO reports.change_log (source_table, operation, deal_id)
        SELECT 'crm.deal_stage_history', TG_OP, n.deal_id
        FROM new_rows AS n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO reports.change_log (source_table, operation, deal_id)
        SELECT 'crm.deal_stage_history', TG_OP, o.deal_id
        FROM old_rows AS o;
    ELSE
        INSERT INTO reports.change_log (source_table, operation, deal_id)
        SELECT 'crm.deal_stage_history', TG_OP, coalesce(n.deal_id, o.deal_id)
        FROM old_rows AS o
        FULL JOIN new_rows AS n ON o.id = n.id AND o.deal_id = n.deal_id
        WHERE
            o.id IS NULL OR n.id IS NULL
            OR (o.to_stage, o.changed_at) IS DISTINCT FROM (n.to_stage, n.changed_at);
    END IF;
    GET DIAGNOSTICS v_logged = ROW_COUNT;
    IF v_logged > 0 THEN
        PERFORM reports._notify_changes('crm.deal_stage_history');
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_deal_stage_history() IS
'Trigger function of the statement-level AFTER INSERT / UPDATE / DELETE capture triggers on
crm.deal_stage_history (transition tables new_rows / old_rows): appends one reports.change_log row (its
deal_id) per history row whose change can change the funnel (see the header of
sql/repeatable/35_capture/capture_deal_stage_history.sql), then NOTIFY reports_changes (internal).';

CREATE OR REPLACE FUNCTION reports._capture_deal_stage_history_row()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_logged bigint;
BEGIN
    INSERT INTO reports.change_log (source_table, operation, deal_id)
    SELECT 'crm.deal_stage_history', TG_OP, coalesce(n.deal_id, o.deal_id)
    FROM (SELECT OLD.* WHERE TG_OP <> 'INSERT') AS o
    FULL JOIN (SELECT NEW.* WHERE TG_OP <> 'DELETE') AS n ON o.id = n.id AND o.deal_id = n.deal_id
    WHERE
        o.id IS NULL OR n.id IS NULL
        OR (o.to_stage, o.changed_at) IS DISTINCT FROM (n.to_stage, n.changed_at);
    GET DIAGNOSTICS v_logged = ROW_COUNT;
    IF v_logged > 0 THEN
        PERFORM reports._notify_changes('crm.deal_stage_history');
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_deal_stage_history_row() IS
'Trigger function of the row-level AFTER INSERT / UPDATE / DELETE capture triggers on crm.deal_stage_history
(for a logical replication subscriber): logs exactly what reports._capture_deal_stage_history() logs for the
same change, one row at a time (internal).';
