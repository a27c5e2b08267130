-- Floors of the three reports that answer per owner or per client in scope all (docs/benchmarks.md,
-- "Floors of the per-owner and per-client reports"). Temporary tables only.
--
--   psql "$BENCH_LIBPQ_URL" -X -v from=2025-11-01 -v to=2026-10-31 -f benchmarks/probes/per_entity_floors.sql
--
-- :from and :to are the report range, both ends included. Each floor is the best any storage could
-- do for that range: the totals are summed beforehand for exactly this range, one row per owner or
-- client, and only the last step of the report is timed (six runs; read the last ones).
--
-- 1. manager_leaderboard: the top 20 owners of the range's per-owner totals.
-- 2. top_clients: the top 10 clients of the range's per-client won totals.
-- 3. client_cohorts: how many clients are cohort members (first won day ever in the range), how many
--    won rows of theirs fall in the range (what active_clients must count distinct), and how many
--    (first won day, won day) pairs those rows make (the least rows an exact won_amount can read);
--    then the time to read those rows once, and to count the distinct clients of each month cohort
--    and month from them (the heart of client_cohorts at month grain, with every row found already).

\timing on
SET jit = off;

CREATE TEMPORARY TABLE owner_range_totals AS
SELECT
    o.owner_id,
    sum(o.won_deals) AS won_deals,
    sum(o.won_amount) AS won_amount,
    sum(o.lost_deals) AS lost_deals
FROM reports.deal_outcomes_daily AS o
WHERE o.day BETWEEN :'from' AND :'to'
GROUP BY o.owner_id;

CREATE TEMPORARY TABLE client_range_totals AS
SELECT
    o.client_id,
    sum(o.won_deals) AS won_deals,
    sum(o.won_amount) AS won_amount
FROM reports.deal_outcomes_daily AS o
WHERE o.day BETWEEN :'from' AND :'to' AND o.won_deals > 0
GROUP BY o.client_id;

ANALYZE owner_range_totals;
ANALYZE client_range_totals;
SELECT
    (SELECT count(*) FROM owner_range_totals) AS owners,
    (SELECT count(*) FROM client_range_totals) AS clients_with_won_deals;

PREPARE top_owners AS
SELECT t.owner_id, t.won_amount
FROM owner_range_totals AS t
WHERE t.won_deals + t.lost_deals > 0
ORDER BY t.won_amount DESC, t.owner_id
LIMIT 20;

PREPARE top_clients AS
SELECT t.client_id, t.won_amount
FROM client_range_totals AS t
ORDER BY t.won_amount DESC, t.client_id
LIMIT 10;

\o /dev/null
\echo 'top 20 owners of the range totals (six runs)'
EXECUTE top_owners;
EXECUTE top_owners;
EXECUTE top_owners;
EXECUTE top_owners;
EXECUTE top_owners;
EXECUTE top_owners;
\echo 'top 10 clients of the range totals (six runs)'
EXECUTE top_clients;
EXECUTE top_clients;
EXECUTE top_clients;
EXECUTE top_clients;
EXECUTE top_clients;
EXECUTE top_clients;
\o

CREATE TEMPORARY TABLE client_first_won AS
SELECT o.client_id, min(o.day) AS first_day
FROM reports.deal_outcomes_daily AS o
WHERE o.won_deals > 0
GROUP BY o.client_id;

CREATE TEMPORARY TABLE member_won_rows AS
SELECT f.first_day, o.client_id, o.day, o.won_amount
FROM reports.deal_outcomes_daily AS o
INNER JOIN client_first_won AS f ON f.client_id = o.client_id
WHERE
    f.first_day BETWEEN :'from' AND :'to'
    AND o.won_deals > 0
    AND o.day BETWEEN f.first_day AND :'to';

SELECT
    (SELECT count(*) FROM client_first_won WHERE first_day BETWEEN :'from' AND :'to') AS cohort_members,
    (SELECT count(*) FROM member_won_rows) AS member_won_rows,
    (SELECT count(*) FROM (SELECT DISTINCT first_day, day FROM member_won_rows) AS p) AS first_day_won_day_pairs;

PREPARE members_read AS SELECT count(*) FROM member_won_rows;

PREPARE members_by_month AS
SELECT
    date_trunc('month', m.first_day) AS cohort_start,
    date_trunc('month', m.day) AS period_start,
    count(DISTINCT m.client_id) AS active_clients,
    sum(m.won_amount) AS won_amount
FROM member_won_rows AS m
GROUP BY 1, 2;

\o /dev/null
\echo 'reading the members'' won rows once: count(*) (six runs)'
EXECUTE members_read;
EXECUTE members_read;
EXECUTE members_read;
EXECUTE members_read;
EXECUTE members_read;
EXECUTE members_read;
\echo 'their month cohorts x months: count(DISTINCT client_id), sum(won_amount) (six runs)'
EXECUTE members_by_month;
EXECUTE members_by_month;
EXECUTE members_by_month;
EXECUTE members_by_month;
EXECUTE members_by_month;
EXECUTE members_by_month;
\o

DEALLOCATE top_owners;
DEALLOCATE top_clients;
DEALLOCATE members_read;
DEALLOCATE members_by_month;
DROP TABLE owner_range_totals, client_range_totals, client_first_won, member_won_rows;
