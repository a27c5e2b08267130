-- Install the change capture of the reports (docs/capture.md): row-level triggers.
--
-- The variant for a reports database fed by logical replication: the apply worker of a
-- subscription fires row-level triggers only (statement-level INSERT / UPDATE / DELETE triggers do
-- not fire for replicated changes), and only those enabled ALWAYS or REPLICA, so run this as the
-- owner of the replicated tables (the ENABLE ALWAYS step below needs it). The rows written to
-- reports.change_log are the same as with install.sql; the refresh does not change. Costs a
-- function call per changed row: on a database where the CRM writes directly, prefer install.sql.
--
-- NOT a migration: an explicit step (`psql -v ON_ERROR_STOP=1 -f sql/capture/install_row_level.sql`
-- or `reports capture install --row-level`). Idempotent; replaces the statement-level variant.
-- Privileges: as for install.sql (TRIGGER on the tables, EXECUTE on the reports._capture_*
-- functions), plus ownership of the tables for ENABLE ALWAYS.

-- crm.deals
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON crm.deals
FOR EACH ROW EXECUTE FUNCTION reports._capture_deals_row();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON crm.deals
FOR EACH ROW EXECUTE FUNCTION reports._capture_deals_row();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON crm.deals
FOR EACH ROW EXECUTE FUNCTION reports._capture_deals_row();
CREATE OR REPLACE TRIGGER reports_capture_truncate AFTER TRUNCATE ON crm.deals
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_truncate();

-- crm.payments
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON crm.payments
FOR EACH ROW EXECUTE FUNCTION reports._capture_payments_row();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON crm.payments
FOR EACH ROW EXECUTE FUNCTION reports._capture_payments_row();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON crm.payments
FOR EACH ROW EXECUTE FUNCTION reports._capture_payments_row();
CREATE OR REPLACE TRIGGER reports_capture_truncate AFTER TRUNCATE ON crm.payments
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_truncate();

-- crm.clients
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON crm.clients
FOR EACH ROW EXECUTE FUNCTION reports._capture_clients_row();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON crm.clients
FOR EACH ROW EXECUTE FUNCTION reports._capture_clients_row();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON crm.clients
FOR EACH ROW EXECUTE FUNCTION reports._capture_clients_row();
CREATE OR REPLACE TRIGGER reports_capture_truncate AFTER TRUNCATE ON crm.clients
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_truncate();

-- crm.deal_stage_history
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON crm.deal_stage_history
FOR EACH ROW EXECUTE FUNCTION reports._capture_deal_stage_history_row();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON crm.deal_stage_history
FOR EACH ROW EXECUTE FUNCTION reports._capture_deal_stage_history_row();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON crm.deal_stage_history
FOR EACH ROW EXECUTE FUNCTION reports._capture_deal_stage_history_row();
CREATE OR REPLACE TRIGGER reports_capture_truncate AFTER TRUNCATE ON crm.deal_stage_history
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_truncate();

-- crm.pipeline_stages
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON crm.pipeline_stages
FOR EACH ROW EXECUTE FUNCTION reports._capture_pipeline_stages_row();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON crm.pipeline_stages
FOR EACH ROW EXECUTE FUNCTION reports._capture_pipeline_stages_row();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON crm.pipeline_stages
FOR EACH ROW EXECUTE FUNCTION reports._capture_pipeline_stages_row();
CREATE OR REPLACE TRIGGER reports_capture_truncate AFTER TRUNCATE ON crm.pipeline_stages
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_truncate();

-- audit.events
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON audit.events
FOR EACH ROW EXECUTE FUNCTION reports._capture_events_row();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON audit.events
FOR EACH ROW EXECUTE FUNCTION reports._capture_events_row();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON audit.events
FOR EACH ROW EXECUTE FUNCTION reports._capture_events_row();
CREATE OR REPLACE TRIGGER reports_capture_truncate AFTER TRUNCATE ON audit.events
FOR EACH STATEMENT EXECUTE FUNCTION reports._capture_truncate();

-- crm.users: a change of a user's team bumps the access version (no change_log row)
CREATE OR REPLACE TRIGGER reports_capture_insert AFTER INSERT ON crm.users
FOR EACH ROW EXECUTE FUNCTION reports._capture_users_row();
CREATE OR REPLACE TRIGGER reports_capture_update AFTER UPDATE ON crm.users
FOR EACH ROW EXECUTE FUNCTION reports._capture_users_row();
CREATE OR REPLACE TRIGGER reports_capture_delete AFTER DELETE ON crm.users
FOR EACH ROW EXECUTE FUNCTION reports._capture_users_row();
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
