-- Capture of changes to crm.pipeline_stages: a stage's probability weighs the open pipeline.
--
-- pipeline_open stores probability-weighted amounts per stage code; every other use of the stages
-- (names, positions, closed or not) is read live by the reports. What a change touches: code,
-- probability (pipeline_open, recomputed whole); an insert or a delete touches it too. The row logs
-- no key: pipeline_open has no day bucket.
--
-- Two variants write the same rows (see capture_deals.sql): reports._capture_pipeline_stages() for
-- statement-level triggers, reports._capture_pipeline_stages_row() for row-level triggers.

CREATE OR REPLACE FUNCTION reports._capture_pipeline_stages()
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
        INSERT INTO reports.change_log (source_table, operation)
        SELECT 'crm.pipeline_stages', TG_OP
        FROM new_rows AS n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO reports.change_log (source_table, operation)
        SELECT 'crm.pipeline_stages', TG_OP
        FROM old_rows AS o;
    ELSE
        INSERT INTO reports.change_log (source_table, operation)
        SELECT 'crm.pipeline_stages', TG_OP
        FROM old_rows AS o
        FULL JOIN new_rows AS n ON o.code = n.code
        WHERE o.code IS NULL OR n.code IS NULL OR o.probability IS DISTINCT FROM n.probability;
    END IF;
    GET DIAGNOSTICS v_logged = ROW_COUNT;
    IF v_logged > 0 THEN
        PERFORM reports._notify_changes('crm.pipeline_stages');
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_pipeline_stages() IS
'Trigger function of the statement-level AFTER INSERT / UPDATE / DELETE capture triggers on
crm.pipeline_stages (transition tables new_rows / old_rows): appends one reports.change_log row per stage whose
change can change pipeline_open (see the header of sql/repeatable/35_capture/capture_pipeline_stages.sql),
then NOTIFY reports_changes (internal).';

CREATE OR REPLACE FUNCTION reports._capture_pipeline_stages_row()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_logged bigint;
BEGIN
    INSERT INTO reports.change_log (source_table, operation)
    SELECT 'crm.pipeline_stages', TG_OP
    FROM (SELECT OLD.* WHERE TG_OP <> 'INSERT') AS o
    FULL JOIN (SELECT NEW.* WHERE TG_OP <> 'DELETE') AS n ON o.code = n.code
    WHERE o.code IS NULL OR n.code IS NULL OR o.probability IS DISTINCT FROM n.probability;
    GET DIAGNOSTICS v_logged = ROW_COUNT;
    IF v_logged > 0 THEN
        PERFORM reports._notify_changes('crm.pipeline_stages');
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_pipeline_stages_row() IS
'Trigger function of the row-level AFTER INSERT / UPDATE / DELETE capture triggers on crm.pipeline_stages (for
a logical replication subscriber): logs exactly what reports._capture_pipeline_stages() logs for the same
change, one row at a time (internal).';
