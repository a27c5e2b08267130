-- Capture of TRUNCATE on any source table: every summary reading it needs a full refresh.

CREATE OR REPLACE FUNCTION reports._capture_truncate()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_source_table constant text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME;
BEGIN
    INSERT INTO reports.change_log (source_table, operation) VALUES (v_source_table, TG_OP);
    PERFORM reports._notify_changes(v_source_table);
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_truncate() IS
'Trigger function (AFTER TRUNCATE, statement level) of every captured source table: logs one TRUNCATE row
in reports.change_log; every summary reading that table (reports.summary_sources) is then refreshed in full
(internal).';
