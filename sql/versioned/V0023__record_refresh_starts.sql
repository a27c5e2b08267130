-- A refresh killed before it commits (pg_terminate_backend, a crash, a timeout) leaves no refresh_log
-- row: the log is written in the refresh's own transaction, and PostgreSQL has no autonomous
-- transactions. So the drivers (CLI, scheduler, POST /refresh) first record the start in a committed
-- statement of their own (reports.record_refresh_start()), under the refresh lock; the engine deletes
-- the record in the transaction that writes the log. A record left behind is a refresh that never
-- finished: reports.refresh_status() shows it, and the next refresh logs it with status interrupted.
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts
-- squawk-ignore-file constraint-missing-not-valid, ban-drop-constraint, ban-drop-not-null, prefer-bigint-over-int

CREATE TABLE reports.refresh_starts (
    pid integer NOT NULL,
    backend_start timestamptz NOT NULL,
    started_at timestamptz NOT NULL,
    views text[], -- noqa: RF04
    application_name text NOT NULL,
    CONSTRAINT refresh_starts_pkey PRIMARY KEY (pid, started_at)
);

-- The checks are added NOT VALID and validated after, as in V0014: the validation does not block the
-- readers of the journal.
ALTER TABLE reports.refresh_log
ALTER COLUMN mode DROP NOT NULL,
ALTER COLUMN days DROP NOT NULL,
DROP CONSTRAINT refresh_log_status_check,
ADD CONSTRAINT refresh_log_status_check CHECK (status IN ('ok', 'failed', 'skipped', 'interrupted')) NOT VALID,
ADD CONSTRAINT refresh_log_interrupted_check
CHECK (status = 'interrupted' OR (mode IS NOT NULL AND days IS NOT NULL)) NOT VALID;

ALTER TABLE reports.refresh_log VALIDATE CONSTRAINT refresh_log_status_check;
ALTER TABLE reports.refresh_log VALIDATE CONSTRAINT refresh_log_interrupted_check;
