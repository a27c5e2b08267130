-- Where a full refresh of audit_activity_daily spends its time beyond the defining query
-- (docs/benchmarks.md, "Where the refresh ratio stays"). For a benchmark database of reports (as a
-- superuser: reports._refresh_days is internal); changes nothing (every refresh is rolled back).
--
--   psql "$BENCH_LIBPQ_URL" -X -f benchmarks/probes/refresh_diff_cost.sql
--
-- 1. the defining query alone; 2. the refresh of every day over unchanged rows (the query, the FULL
-- JOIN with the stored rows, nothing written), with the default work_mem and with 1GB; 3. the FULL
-- JOIN alone, of the computed rows (kept in a temporary table) with the stored ones, on the null-safe
-- key the refresh uses and on plain equalities (wrong where a key is null; timed for comparison only),
-- by hash as the refresh does.

\timing on
SET jit = off;
SELECT count(*) AS stored_rows FROM reports.audit_activity_daily;

\echo '1. the defining query'
SELECT count(*) AS computed_rows FROM reports.compute_audit_activity_daily('(,)');

\echo '2a. refresh of every day, work_mem as configured'
BEGIN;
SELECT * FROM reports._refresh_days('audit_activity_daily', '{(,)}');
ROLLBACK;

\echo '2b. the same with work_mem = 1GB'
BEGIN;
SET LOCAL work_mem = '1GB';
SELECT * FROM reports._refresh_days('audit_activity_daily', '{(,)}');
ROLLBACK;

\echo '3. the FULL JOIN alone (work_mem = 1GB: one in-memory hash table)'
CREATE TEMPORARY TABLE computed AS SELECT * FROM reports.compute_audit_activity_daily('(,)');
ANALYZE computed;
SET work_mem = '1GB';
-- The refresh joins by hash (the planner cannot estimate a function's rows); with the statistics of
-- two tables it would pick a merge join that sorts both sides, about four times slower here.
SET enable_mergejoin = off;
\echo '3a. null-safe key, as reports._refresh_days joins'
SELECT count(*) AS differing_rows
FROM reports.audit_activity_daily AS o
FULL JOIN computed AS n
    ON
        o.day = n.day
        AND (o.actor_id IS NULL) = (n.actor_id IS NULL)
        AND coalesce(o.actor_id, 0) = coalesce(n.actor_id, 0)
        AND o.action = n.action
        AND (o.entity_type IS NULL) = (n.entity_type IS NULL)
        AND coalesce(o.entity_type, '') = coalesce(n.entity_type, '')
WHERE o.day IS NULL OR n.day IS NULL OR o.events IS DISTINCT FROM n.events;
\echo '3b. plain equalities'
SELECT count(*) AS differing_rows_or_null_keys
FROM reports.audit_activity_daily AS o
FULL JOIN computed AS n
    ON
        o.day = n.day AND o.actor_id = n.actor_id AND o.action = n.action
        AND o.entity_type = n.entity_type
WHERE o.day IS NULL OR n.day IS NULL OR o.events IS DISTINCT FROM n.events;
RESET work_mem;
RESET enable_mergejoin;
DROP TABLE computed;
