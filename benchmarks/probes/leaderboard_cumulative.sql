-- A storage that was tried for manager_leaderboard in scope all and not adopted (docs/benchmarks.md,
-- "Where the refresh ratio stays"): per-owner totals cumulated up to each month start, so that a range
-- of whole months is one row per owner at each end. Temporary tables only.
--
--   psql "$BENCH_LIBPQ_URL" -X -v from=2025-11-01 -v to=2026-11-01 -f benchmarks/probes/leaderboard_cumulative.sql
--
-- :from and :to are month starts: the range is [:from, :to). Prints how long building the
-- cumulative table takes, its rows, and the top 20 by won amount three times (the last timings
-- count), next to the same top 20 summed from deal_outcomes_daily; the two lists must be equal.

\timing on
SET jit = off;

CREATE TEMPORARY TABLE owner_totals_to_month AS
WITH by_month AS (
    SELECT
        date_trunc('month', o.day)::date AS month_start,
        o.owner_id,
        sum(o.won_deals) AS won_deals,
        sum(o.won_amount) AS won_amount,
        sum(o.lost_deals) AS lost_deals
    FROM reports.deal_outcomes_daily AS o
    GROUP BY 1, 2
),

owners AS (
    SELECT owner_id, min(month_start) AS first_month FROM by_month GROUP BY owner_id
),

month_starts AS (
    SELECT g::date AS month_start
    FROM generate_series(
        (SELECT min(month_start) FROM by_month),
        (SELECT max(month_start) FROM by_month) + interval '1 month',
        interval '1 month'
    ) AS g
),

grid AS (
    -- every owner at every month start after its first month: totals of the months before it
    SELECT m.month_start, w.owner_id
    FROM month_starts AS m
    INNER JOIN owners AS w ON m.month_start > w.first_month
)

SELECT
    g.month_start,
    g.owner_id,
    sum(coalesce(b.won_deals, 0)) OVER w AS won_deals,
    sum(coalesce(b.won_amount, 0)) OVER w AS won_amount,
    sum(coalesce(b.lost_deals, 0)) OVER w AS lost_deals
FROM grid AS g
LEFT JOIN by_month AS b
    ON b.owner_id = g.owner_id AND b.month_start = g.month_start - interval '1 month'
WINDOW w AS (PARTITION BY g.owner_id ORDER BY g.month_start);
CREATE UNIQUE INDEX ON owner_totals_to_month (month_start, owner_id);
CLUSTER owner_totals_to_month USING owner_totals_to_month_month_start_owner_id_idx;
ANALYZE owner_totals_to_month;
SELECT count(*) AS cumulative_rows FROM owner_totals_to_month;

PREPARE top_owners (date, date) AS
SELECT a.owner_id, a.won_amount - coalesce(b.won_amount, 0) AS won_amount
FROM owner_totals_to_month AS a
LEFT JOIN owner_totals_to_month AS b ON b.owner_id = a.owner_id AND b.month_start = $1
WHERE
    a.month_start = $2
    AND (a.won_deals - coalesce(b.won_deals, 0)) + (a.lost_deals - coalesce(b.lost_deals, 0)) > 0
ORDER BY 2 DESC, 1
LIMIT 20;

\echo 'top 20 from the cumulative totals (three runs)'
EXECUTE top_owners(:'from', :'to');
EXECUTE top_owners(:'from', :'to');
EXECUTE top_owners(:'from', :'to');

\echo 'the same top 20 summed from deal_outcomes_daily'
SELECT o.owner_id, sum(o.won_amount) AS won_amount
FROM reports.deal_outcomes_daily AS o
WHERE o.day >= :'from' AND o.day < :'to'
GROUP BY o.owner_id
HAVING sum(o.won_deals) + sum(o.lost_deals) > 0
ORDER BY 2 DESC, 1
LIMIT 20;
DEALLOCATE top_owners;
DROP TABLE owner_totals_to_month;
