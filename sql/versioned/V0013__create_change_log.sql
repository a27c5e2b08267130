-- Change capture for incremental refresh (docs/architecture.md, "Incremental refresh and change
-- capture"; docs/capture.md for the DBA).
--
-- reports.change_log is an append-only queue: the capture triggers on the crm/audit source tables
-- (installed by the separate, explicit step sql/capture/install.sql, never by a migration) append
-- one row per changed source row, in the writer's own transaction. It has no unique key and no
-- ON CONFLICT: every statement inserts its rows, so a change can never be folded into an entry that
-- a refresh is consuming at that moment. It has no index either: every index would be paid by every
-- CRM write, and the only reader (the refresh, under its lock) reads and deletes the rows its
-- snapshot sees, whatever their order.
--
-- reports.invalid_days holds, per summary, the local days that captured changes invalidated and that
-- no refresh has recomputed yet. Written and emptied only by the refresh engine under the refresh
-- lock (reports._absorb_changes, reports._refresh): its ON CONFLICT upsert has no concurrent writer.
--
-- New tables only: nothing to wait for or to time out.
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts

CREATE TABLE reports.change_log (
    id bigint GENERATED ALWAYS AS IDENTITY,
    captured_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    source_table text NOT NULL,
    operation text NOT NULL, -- noqa: RF04
    deal_id bigint,
    client_id bigint,
    old_created_at timestamptz,
    new_created_at timestamptz,
    old_closed_at timestamptz,
    new_closed_at timestamptz,
    dependants boolean NOT NULL DEFAULT FALSE,
    open_deal boolean NOT NULL DEFAULT FALSE,
    CONSTRAINT change_log_operation_check CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'))
)
-- A queue: rows are deleted soon after they are inserted. Vacuum it after a fixed number of dead
-- rows rather than a fraction of a table that is usually nearly empty.
WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);

CREATE TABLE reports.invalid_days (
    summary text NOT NULL, -- noqa: RF04
    day date, -- noqa: RF04
    changes bigint NOT NULL,
    oldest_change_at timestamptz NOT NULL,
    CONSTRAINT invalid_days_key UNIQUE NULLS NOT DISTINCT (summary, day),
    CONSTRAINT invalid_days_summary_fkey FOREIGN KEY (summary) REFERENCES reports.summaries (name)
    ON DELETE CASCADE,
    CONSTRAINT invalid_days_changes_check CHECK (changes > 0)
);
