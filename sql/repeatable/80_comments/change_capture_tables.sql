-- Comments on the change capture tables (sql/versioned/V0013__create_change_log.sql and V0014).

COMMENT ON TABLE reports.change_log IS
'Captured changes of the source tables, not yet consumed by a refresh: one row per changed source row (or per
TRUNCATE), appended by the capture triggers (reports._capture_*, installed by sql/capture/install.sql) in the
writer''s transaction, deleted by the refresh that maps them to invalid days (reports._absorb_changes).
Append-only: no unique key, no ON CONFLICT, no index. Which columns a source table fills is described in the
header of its capture file, sql/repeatable/35_capture/capture_<table>.sql.';
COMMENT ON COLUMN reports.change_log.id IS 'Identity; never used to decide what a refresh consumes.';
COMMENT ON COLUMN reports.change_log.captured_at IS 'clock_timestamp() when the writer''s statement logged it.';
COMMENT ON COLUMN reports.change_log.source_table IS
'The changed table, schema.table (crm.deals, crm.payments, crm.clients, crm.deal_stage_history,
crm.pipeline_stages, audit.events).';
COMMENT ON COLUMN reports.change_log.operation IS 'INSERT, UPDATE, DELETE or TRUNCATE.';
COMMENT ON COLUMN reports.change_log.deal_id IS
'crm.deals: the deal (its payments depend on it); crm.deal_stage_history: the deal of the history row.';
COMMENT ON COLUMN reports.change_log.client_id IS 'crm.clients: the client (its deals and payments depend on it).';
COMMENT ON COLUMN reports.change_log.old_client_id IS
'crm.deals: the deal''s client before the change, logged with its closing instants (NULL: no such row, or the
change does not touch the deal''s outcome rows).';
COMMENT ON COLUMN reports.change_log.new_client_id IS
'crm.deals: the deal''s client after the change, as old_client_id.';
COMMENT ON COLUMN reports.change_log.old_created_at IS
'Before the change (NULL: no such row, or the change does not touch the days of this instant): created_at of a
deal, payment or client; occurred_at of an audit event.';
COMMENT ON COLUMN reports.change_log.new_created_at IS 'After the change: as old_created_at.';
COMMENT ON COLUMN reports.change_log.old_closed_at IS
'Before the change (NULL as for old_created_at): closed_at of a deal, paid_at of a payment.';
COMMENT ON COLUMN reports.change_log.new_closed_at IS 'After the change: as old_closed_at.';
COMMENT ON COLUMN reports.change_log.dependants IS
'The change can change the summary rows of other rows: a deal''s payments, a client''s deals and payments.';
COMMENT ON COLUMN reports.change_log.open_deal IS
'crm.deals: the deal was or is an open deal (not deleted) and the change can change reports.pipeline_open.';

COMMENT ON TABLE reports.invalid_days IS
'Per summary, the local days (reports.timezone()), or groups of rows of a day, that captured changes invalidated
and no refresh of that summary has recomputed yet. Filled by every refresh from reports.change_log for every summary, emptied for a summary by
its own refresh; written only under the refresh lock.';
COMMENT ON COLUMN reports.invalid_days.summary IS 'The summary (reports.summaries.name).';
COMMENT ON COLUMN reports.invalid_days.day IS
'The invalid local day, one of reports._reportable_days() (0001-01-01..9999-12-31, a CHECK); NULL: the whole
summary (pipeline_open, or a source table was truncated).';
COMMENT ON COLUMN reports.invalid_days.group_id IS
'NULL: every row of the day is invalid. Else only the rows of the day whose group column
(reports.summaries.group_column) equals it (deal_outcomes_daily: the client).';
COMMENT ON COLUMN reports.invalid_days.changes IS 'How many captured changes invalidated this day.';
COMMENT ON COLUMN reports.invalid_days.oldest_change_at IS 'captured_at of the oldest of them.';

COMMENT ON COLUMN reports.summaries.capture_fingerprint IS
'The capture triggers (oid and row version) of its source tables at its last refresh; NULL when the capture was
incomplete then. A different value now means the triggers were installed, re-created, disabled or re-enabled
since, so the next refresh is a full one.';
COMMENT ON COLUMN reports.summaries.clock_columns IS
'Columns whose value depends on the time of the refresh (now()), not only on the sources: reports.verify() does
not compare them.';

COMMENT ON TABLE reports.last_refresh_run IS
'One row: the last refresh run that took the refresh lock (run_id as in reports.refresh_log, started_at). Every
refresh updates it first, so that a REPEATABLE READ refresh whose snapshot predates the previous refresh''s commit
fails at once (40001) instead of working from stale contents.';
