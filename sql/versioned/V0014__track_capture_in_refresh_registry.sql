-- What the incremental refresh needs in the refresh registry and journal.
--
-- reports.summaries.capture_fingerprint: the capture triggers (oid and row version of each) that were
--   in place when the summary was last refreshed; a summary is refreshed incrementally only while the
--   same triggers stay in place, so installing, re-creating, disabling or re-enabling one of them
--   forces a full refresh (changes made while they were missing were not captured).
-- reports.summaries.clock_columns: columns whose values depend on the clock at refresh time (now()),
--   not only on the sources; reports.verify() does not compare them.
-- reports.refresh_log.mode gains 'incremental' (only the days invalidated by captured changes).
-- reports.last_refresh_run: one row, updated first by every refresh under the refresh lock. A
--   REPEATABLE READ refresh whose snapshot was taken before the previous refresh committed fails on
--   that update at once (40001) instead of working from stale contents.
--
-- The registry and the journal are small tables written by the refresh only; the constraint is
-- replaced NOT VALID then validated (a scan of the journal under SHARE UPDATE EXCLUSIVE).
-- The mode constraint is dropped only to be re-added wider, in the same transaction.
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts
-- squawk-ignore-file ban-drop-constraint

ALTER TABLE reports.summaries ADD COLUMN capture_fingerprint text;
ALTER TABLE reports.summaries ADD COLUMN clock_columns text[] NOT NULL DEFAULT '{}';

UPDATE reports.summaries SET clock_columns = '{age_days_sum,as_of}'
WHERE name = 'pipeline_open';

ALTER TABLE reports.refresh_log DROP CONSTRAINT refresh_log_mode_check;
ALTER TABLE reports.refresh_log ADD CONSTRAINT refresh_log_mode_check
CHECK (mode IN ('full', 'days', 'incremental')) NOT VALID;
ALTER TABLE reports.refresh_log VALIDATE CONSTRAINT refresh_log_mode_check;

CREATE TABLE reports.last_refresh_run (
    singleton boolean NOT NULL DEFAULT TRUE,
    run_id uuid,
    started_at timestamptz,
    CONSTRAINT last_refresh_run_pkey PRIMARY KEY (singleton),
    CONSTRAINT last_refresh_run_singleton_check CHECK (singleton)
);

INSERT INTO reports.last_refresh_run (singleton) VALUES (TRUE);
