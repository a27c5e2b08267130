-- Uninstall the change capture of the reports (docs/capture.md).
--
-- NOT a migration: an explicit step (`psql -v ON_ERROR_STOP=1 -f sql/capture/uninstall.sql` or
-- `reports capture uninstall`). Idempotent. Dropping a trigger needs the owner of its table (or a
-- superuser): the TRIGGER privilege is not enough.
--
-- Afterwards every refresh recomputes the summaries in full, as before the capture was installed.
-- Captured changes not yet refreshed stay in reports.change_log until the next refresh consumes
-- them (harmlessly: that refresh is a full one).

-- crm.deals
DROP TRIGGER IF EXISTS reports_capture_insert ON crm.deals;
DROP TRIGGER IF EXISTS reports_capture_update ON crm.deals;
DROP TRIGGER IF EXISTS reports_capture_delete ON crm.deals;
DROP TRIGGER IF EXISTS reports_capture_truncate ON crm.deals;

-- crm.payments
DROP TRIGGER IF EXISTS reports_capture_insert ON crm.payments;
DROP TRIGGER IF EXISTS reports_capture_update ON crm.payments;
DROP TRIGGER IF EXISTS reports_capture_delete ON crm.payments;
DROP TRIGGER IF EXISTS reports_capture_truncate ON crm.payments;

-- crm.clients
DROP TRIGGER IF EXISTS reports_capture_insert ON crm.clients;
DROP TRIGGER IF EXISTS reports_capture_update ON crm.clients;
DROP TRIGGER IF EXISTS reports_capture_delete ON crm.clients;
DROP TRIGGER IF EXISTS reports_capture_truncate ON crm.clients;

-- crm.deal_stage_history
DROP TRIGGER IF EXISTS reports_capture_insert ON crm.deal_stage_history;
DROP TRIGGER IF EXISTS reports_capture_update ON crm.deal_stage_history;
DROP TRIGGER IF EXISTS reports_capture_delete ON crm.deal_stage_history;
DROP TRIGGER IF EXISTS reports_capture_truncate ON crm.deal_stage_history;

-- crm.pipeline_stages
DROP TRIGGER IF EXISTS reports_capture_insert ON crm.pipeline_stages;
DROP TRIGGER IF EXISTS reports_capture_update ON crm.pipeline_stages;
DROP TRIGGER IF EXISTS reports_capture_delete ON crm.pipeline_stages;
DROP TRIGGER IF EXISTS reports_capture_truncate ON crm.pipeline_stages;

-- audit.events
DROP TRIGGER IF EXISTS reports_capture_insert ON audit.events;
DROP TRIGGER IF EXISTS reports_capture_update ON audit.events;
DROP TRIGGER IF EXISTS reports_capture_delete ON audit.events;
DROP TRIGGER IF EXISTS reports_capture_truncate ON audit.events;

-- crm.users
DROP TRIGGER IF EXISTS reports_capture_insert ON crm.users;
DROP TRIGGER IF EXISTS reports_capture_update ON crm.users;
DROP TRIGGER IF EXISTS reports_capture_delete ON crm.users;
DROP TRIGGER IF EXISTS reports_capture_truncate ON crm.users;
