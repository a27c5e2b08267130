-- Invalid rows narrower than a day (docs/architecture.md, "Incremental refresh and change capture"): a
-- changed deal invalidates only the rows of its client on its closing days in deal_outcomes_daily, not
-- every row of those days. At ten million deals a day holds about 9,000 deals, and recomputing a whole
-- day for one changed deal took 65 to 780 ms (docs/benchmarks.md, issue 5).
--
-- reports.summaries.group_column: a bigint key column by which the refresh engine may recompute part of a
-- day (its compute function then takes the values as a second argument). reports.invalid_days.group_id:
-- NULL for a whole invalid day (as before), else one value of that column on that day. The change log
-- keeps the deal's client before and after a change, so that the refresh can tell which groups it touched.
--
-- New nullable columns without defaults and a new key on the small registry and the invalid days (written
-- only under the refresh lock, and short-lived), on PostgreSQL 15: no table rewrite. The capture
-- functions write the two new columns once the repeatable files that follow are applied; a change logged
-- before has no client, and invalidates whole days as before.
-- The key of reports.invalid_days is replaced by a wider one in the same statement: only the refresh engine
-- (this project's own functions, changed with it) writes that table, and it names the new key.
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts
-- squawk-ignore-file constraint-missing-not-valid, disallowed-unique-constraint, ban-drop-constraint

ALTER TABLE reports.summaries
ADD COLUMN group_column text,
ADD CONSTRAINT summaries_group_column_check CHECK (group_column = any(key_columns) AND group_column <> bucket_column);

UPDATE reports.summaries SET group_column = 'client_id'
WHERE name = 'deal_outcomes_daily';

ALTER TABLE reports.change_log
ADD COLUMN old_client_id bigint,
ADD COLUMN new_client_id bigint;

ALTER TABLE reports.invalid_days
ADD COLUMN group_id bigint,
DROP CONSTRAINT invalid_days_key,
ADD CONSTRAINT invalid_days_key UNIQUE NULLS NOT DISTINCT (summary, day, group_id),
ADD CONSTRAINT invalid_days_group_id_check CHECK (group_id IS NULL OR day IS NOT NULL);
