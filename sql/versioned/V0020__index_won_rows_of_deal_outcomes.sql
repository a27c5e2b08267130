-- The won rows of reports.deal_outcomes_daily by day and client, for top_clients (docs/architecture.md,
-- "Storage"): a partial index that holds only the rows with a won deal (about a quarter of the table at
-- one million deals: most rows are of lost deals) with the columns top_clients sums, so that a range is
-- read from the index and its heap pages instead of from every row of its days.
--
-- Built without CONCURRENTLY, in the migration's transaction (CONCURRENTLY cannot run in one). CREATE
-- INDEX takes a SHARE lock: report readers (ACCESS SHARE) do not wait for it, and the only writer of the
-- table, the refresh, waits until the migration commits (about 10 s at ten million deals).
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts
-- squawk-ignore-file require-concurrent-index-creation

CREATE INDEX deal_outcomes_daily_won_day_client_id_idx
ON reports.deal_outcomes_daily (day, client_id)
INCLUDE (owner_id, won_deals, won_amount, last_won_at)
WHERE won_deals > 0;
