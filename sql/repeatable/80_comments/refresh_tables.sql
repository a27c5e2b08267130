-- Comments on the refresh registry and journal (sql/versioned/V0011__create_refresh_log.sql).

COMMENT ON TABLE reports.summaries IS
'Registry of the summary tables, in dependency order, with the state of their last successful refresh.
Read by the generic refresh machinery (reports.refresh_views, reports._refresh_summary).';
COMMENT ON COLUMN reports.summaries.name IS 'Summary table reports.<name>; the view name of refresh_view().';
COMMENT ON COLUMN reports.summaries.position IS 'Dependency order: a summary comes after those it depends on.';
COMMENT ON COLUMN reports.summaries.compute_function IS
'reports.<compute_function>(p_days daterange): the rows of the summary for the buckets in p_days.';
COMMENT ON COLUMN reports.summaries.key_columns IS 'Columns of the table''s primary or unique key.';
COMMENT ON COLUMN reports.summaries.bucket_column IS
'Key column holding the local day bucket (bucket_grain day) or the first day of the month bucket (bucket_grain
month); NULL for a snapshot that is always replaced whole.';
COMMENT ON COLUMN reports.summaries.bucket_grain IS
'day: one bucket per local day; month: one per calendar month, dated its first day, recomputed whole when a day
of it changes in the summaries it depends on (its compute function returns the months whose first day lies in
p_days).';
COMMENT ON COLUMN reports.summaries.group_column IS
'NULL, or a bigint key column (not the bucket) by which an incremental refresh may recompute part of a day: a
change that touches only the rows of one value of it on a day is recorded as that day and value
(reports.invalid_days.group_id), and the compute function takes the values to recompute as its second argument.
deal_outcomes_daily: client_id (a changed deal touches only its client''s rows of its closing days).';
COMMENT ON COLUMN reports.summaries.depends_on IS
'Summaries whose contents this one is computed from (refreshed first; a failure there skips this one).';
COMMENT ON COLUMN reports.summaries.refreshed_at IS
'Start of the last successful refresh (the data reflects the sources as of then); NULL: never refreshed.';
COMMENT ON COLUMN reports.summaries.generation IS
'Incremented by every successful refresh that changed rows (for cache validators such as HTTP ETags).';
COMMENT ON COLUMN reports.summaries.rows IS 'Rows in the table after the last successful refresh.';
COMMENT ON COLUMN reports.summaries.timezone IS 'Time zone the local days of the current contents were built in.';
COMMENT ON COLUMN reports.summaries.needs_full_refresh IS
'True until the first refresh and after reports.set_timezone changed the zone; cleared by a full refresh.';

COMMENT ON TABLE reports.refresh_log IS
'Journal of refreshes: one row per summary per run (ok, failed, skipped or interrupted), appended by
reports.refresh_views. Rows of one call share run_id.';
COMMENT ON COLUMN reports.refresh_log.mode IS
'full: every day was recomputed; incremental: only the days invalidated by captured changes, within days;
days: only the days in days; NULL for an interrupted refresh (unknown).';
COMMENT ON COLUMN reports.refresh_log.days IS
'The buckets recomputed ((,) for a full refresh; for an incremental one, the range from the first to the last
invalid day, empty when there was none; NULL for an interrupted refresh).';
COMMENT ON COLUMN reports.refresh_log.duration_ms IS
'finished_at - started_at in milliseconds (0.1 ms); for an interrupted refresh, finished_at is when the next
refresh found it interrupted.';
COMMENT ON COLUMN reports.refresh_log.rows IS 'Rows in the summary afterwards (NULL unless ok).';
COMMENT ON COLUMN reports.refresh_log.rows_written IS
'Rows inserted or updated (rows whose measures did not change are not written).';
COMMENT ON COLUMN reports.refresh_log.rows_deleted IS 'Rows deleted because their key vanished.';
COMMENT ON COLUMN reports.refresh_log.status IS
'ok; failed (its changes were rolled back, the previous contents stayed); skipped (another refresh was
running, or a summary it depends on was not refreshed); interrupted (a start recorded by
reports.record_refresh_start whose refresh never committed: its session ended or its transaction rolled back;
logged by the next refresh).';
COMMENT ON COLUMN reports.refresh_log.error IS 'Message of the failure, or why it was skipped.';
COMMENT ON COLUMN reports.refresh_log.sqlstate IS 'SQLSTATE of the failure.';

COMMENT ON TABLE reports.refresh_starts IS
'The refreshes that recorded their start (reports.record_refresh_start) and have not committed: one row per
session. The refresh deletes its row in the transaction that writes reports.refresh_log; a row left behind is a
refresh that never finished (reports.refresh_status().interrupted_at), moved into reports.refresh_log with
status interrupted by the next refresh.';
COMMENT ON COLUMN reports.refresh_starts.pid IS 'Process id of the session that started the refresh.';
COMMENT ON COLUMN reports.refresh_starts.backend_start IS
'When that session started (pg_stat_activity.backend_start): with pid it names one session.';
COMMENT ON COLUMN reports.refresh_starts.started_at IS 'When the start was recorded (clock_timestamp()).';
COMMENT ON COLUMN reports.refresh_starts.views IS 'The summaries asked for (NULL: every summary).';
COMMENT ON COLUMN reports.refresh_starts.application_name IS 'application_name of that session.';
