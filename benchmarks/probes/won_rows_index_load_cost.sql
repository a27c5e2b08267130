-- What the partial index of V0020 (the won rows of deal_outcomes_daily) costs a first build
-- (docs/benchmarks.md, "top_clients and client_cohorts over the won rows"): every row of
-- deal_outcomes_daily inserted in key order, as a first build writes them, into a copy of the table
-- with all its indexes, with the won-rows index and without it in turn, three rounds. Each copy is
-- created in a transaction that is rolled back. (The index's name in the copy is PostgreSQL's default,
-- cut at 63 characters.)
--
--   psql "$BENCH_LIBPQ_URL" -X -f benchmarks/probes/won_rows_index_load_cost.sql

\timing on
SET jit = off;
CREATE TEMPORARY TABLE src AS SELECT * FROM reports.deal_outcomes_daily ORDER BY day, owner_id, client_id;
\echo round 1: with the won-rows index
BEGIN; CREATE TABLE public.probe_x (LIKE reports.deal_outcomes_daily INCLUDING ALL); INSERT INTO public.probe_x SELECT * FROM src; ROLLBACK;
\echo round 1: without it
BEGIN; CREATE TABLE public.probe_x (LIKE reports.deal_outcomes_daily INCLUDING ALL); DROP INDEX public.probe_x_day_client_id_owner_id_won_deals_won_amount_last_wo_idx; INSERT INTO public.probe_x SELECT * FROM src; ROLLBACK;
\echo round 2: with the won-rows index
BEGIN; CREATE TABLE public.probe_x (LIKE reports.deal_outcomes_daily INCLUDING ALL); INSERT INTO public.probe_x SELECT * FROM src; ROLLBACK;
\echo round 2: without it
BEGIN; CREATE TABLE public.probe_x (LIKE reports.deal_outcomes_daily INCLUDING ALL); DROP INDEX public.probe_x_day_client_id_owner_id_won_deals_won_amount_last_wo_idx; INSERT INTO public.probe_x SELECT * FROM src; ROLLBACK;
\echo round 3: with the won-rows index
BEGIN; CREATE TABLE public.probe_x (LIKE reports.deal_outcomes_daily INCLUDING ALL); INSERT INTO public.probe_x SELECT * FROM src; ROLLBACK;
\echo round 3: without it
BEGIN; CREATE TABLE public.probe_x (LIKE reports.deal_outcomes_daily INCLUDING ALL); DROP INDEX public.probe_x_day_client_id_owner_id_won_deals_won_amount_last_wo_idx; INSERT INTO public.probe_x SELECT * FROM src; ROLLBACK;
