-- Source rows with an instant or a date that no day can hold (infinity, -infinity, years before 1 or
-- after 9999) are left out of every summary by the adapters (sql/repeatable/10_sources/_reportable.sql)
-- and give no invalid day.
-- - reports.invalid_days may hold only days of 0001-01-01..9999-12-31 (reports._reportable_days()),
--   so that every list of invalid days can be enumerated; entries outside them, written before, are
--   dropped (no summary row can lie on such a day any more).
-- - Every summary is rebuilt by its next refresh: summaries built before may hold rows of the rows that
--   the adapters now leave out.
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts
-- squawk-ignore-file constraint-missing-not-valid, ban-drop-constraint, ban-drop-not-null, prefer-bigint-over-int

DELETE FROM reports.invalid_days AS i
WHERE i.day < '0001-01-01' OR i.day > '9999-12-31';

ALTER TABLE reports.invalid_days
ADD CONSTRAINT invalid_days_day_check CHECK (day >= '0001-01-01' AND day <= '9999-12-31');

UPDATE reports.summaries AS s SET needs_full_refresh = TRUE
WHERE NOT s.needs_full_refresh;
