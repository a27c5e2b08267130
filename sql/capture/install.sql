-- Install the change capture of the reports (docs/capture.md): statement-level triggers.
--
-- NOT a migration: an explicit step, reviewed and run by a DBA (`psql -v ON_ERROR_STOP=1 -f
-- sql/capture/install.sql`) or by `reports capture install`. Idempotent: run it again at will; it
-- replaces the row-level variant (install_row_level.sql) when that one is installed.
--
-- Run it as the owner of the tables below, a superuser, or a role that the owner granted
--     GRANT TRIGGER ON crm.deals, crm.payments, crm.clients, crm.deal_stage_history,
--         crm.pipeline_stages, crm.users, audit.events TO <role>;
-- and that may execute the reports._capture_* functions (the owner of schema reports, i.e. the role
-- that runs the migrations, may). The trigger functions are SECURITY DEFINER: writers to these
-- tables need no privilege on schema reports.
--
-- Per table: AFTER INSERT / UPDATE / DELETE triggers FOR EACH STATEMENT with transition tables
-- (PostgreSQL allows one event per trigger with transition tables), writing one row per changed
-- source row into reports.change_log in the writer's transaction, and an AFTER TRUNCATE trigger.
-- crm.users is captured only for the team of a user (the team scope, docs/permissions.md): a change
-- bumps the access version instead of logging rows; crm.teams is not captured (no summary or scope
-- reads it).
--
-- Until the next refresh after this, every summary is refreshed in full once (the refresh sees
-- that the triggers changed), then incrementally.

-- crm.deals
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON crm.deals
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_deals();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON crm.deals
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_deals();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON crm.deals
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_deals();
CREATE OR REPLACE TRIGGER reports_capture_truncate AFTER TRUNCATE ON crm.deals
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_truncate();

-- crm.payments
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON crm.payments
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_payments();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON crm.payments
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_payments();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON crm.payments
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_payments();
CREATE OR REPLACE TRIGGER reports_capture_truncate AFTER TRUNCATE ON crm.payments
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_truncate();

-- crm.clients
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON crm.clients
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_clients();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON crm.clients
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_clients();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON crm.clients
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_clients();
CREATE OR REPLACE TRIGGER reports_capture_truncate AFTER TRUNCATE ON crm.clients
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_truncate();

-- crm.deal_stage_history
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON crm.deal_stage_history
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_deal_stage_history();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON crm.deal_stage_history
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_deal_stage_history();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON crm.deal_stage_history
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_deal_stage_history();
CREATE OR REPLACE TRIGGER reports_capture_truncate AFTER TRUNCATE ON crm.deal_stage_history
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_truncate();

-- crm.pipeline_stages
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON crm.pipeline_stages
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_pipeline_stages();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON crm.pipeline_stages
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_pipeline_stages();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON crm.pipeline_stages
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_pipeline_stages();
CREATE OR REPLACE TRIGGER reports_capture_truncate AFTER TRUNCATE ON crm.pipeline_stages
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_truncate();

-- audit.events
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON audit.events
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_events();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON audit.events
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_events();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON audit.events
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_events();
CREATE OR REPLACE TRIGGER reports_capture_truncate AFTER TRUNCATE ON audit.events
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_truncate();

-- crm.users: a change of a user's team bumps the access version (no change_log row)
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON crm.users
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_users();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON crm.users
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_users();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON crm.users
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_users();
CREATE OR REPLACE TRIGGER reports_capture_truncate AFTER TRUNCATE ON crm.users
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_users();

-- Fire whatever session_replication_role is (a bulk load run with replica, or the apply worker of a
-- logical replication subscription, would otherwise skip them), where the current role may: ALTER
-- TABLE needs the table's owner. Otherwise they stay ENABLE (origin) and a NOTICE says so.
DO $always$
DECLARE
    v_trigger record;
BEGIN
    FOR v_trigger IN
        SELECT t.tgname, t.tgrelid::regclass AS source_table
        FROM pg_catalog.pg_trigger AS t
        INNER JOIN pg_catalog.pg_class AS c ON t.tgrelid = c.oid
        INNER JOIN pg_catalog.pg_proc AS p ON t.tgfoid = p.oid
        WHERE
            p.pronamespace = 'reports'::regnamespace
            AND p.proname LIKE '\_capture\_%'
            AND t.tgenabled <> 'A'
        ORDER BY 2, 1
    LOOP
        IF pg_catalog.pg_has_role(
            (SELECT c.relowner FROM pg_catalog.pg_class AS c WHERE c.oid = v_trigger.source_table), 'USAGE'
        ) THEN
            EXECUTE pg_catalog.format(
                'ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', v_trigger.source_table, v_trigger.tgname
            );
        ELSE
            RAISE NOTICE 'trigger % on % left ENABLE (origin): only the owner of the table may ENABLE ALWAYS',
                v_trigger.tgname, v_trigger.source_table;
        END IF;
    END LOOP;
END
$always$;
