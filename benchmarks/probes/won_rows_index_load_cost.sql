-- What the partial index of V0020 (the won rows of deal_outcomes_daily) costs a first build (issue 3,
-- docs/benchmarks.md, "top_clients and client_cohorts over the won rows"): every row of
-- deal_outcomes_daily inserted in key order, as a first build writes them, into a copy of the table with
-- all its indexes, three times with the won-rows index and three times without it. Each copy is created
-- in a transaction that is rolled back.
--
--   psql "$BENCH_LIBPQ_URL" -X -f benchmarks/probes/won_rows_index_load_cost.sql

\timing on
SET jit = off;
CREATE TEMPORARY TABLE src AS SELECT * FROM reports.deal_outcomes_daily ORDER BY day, owner_id, client_id;
\echo with the won-rows index
BEGIN; CREATE TABLE public.probe_x (LIKE reports.deal_outcomes_daily INCLUDING ALL); INSERT INTO public.probe_x SELECT * FROM src; ROLLBACK;
BEGIN; CREATE TABLE public.probe_x (LIKE reports.deal_outcomes_daily INCLUDING ALL); INSERT INTO public.probe_x SELECT * FROM src; ROLLBACK;
BEGIN; CREATE TABLE public.probe_x (LIKE reports.deal_outcomes_daily INCLUDING ALL); INSERT INTO public.probe_x SELECT * FROM src; ROLLBACK;
\echo without it
BEGIN; CREATE TABLE public.probe_x (LIKE reports.deal_outcomes_daily INCLUDING ALL); DROP INDEX public.probe_x_day_client_id_owner_id_won_deals_won_amount_last_wo_idx; INSERT INTO public.probe_x SELECT * FROM src; ROLLBACK;
BEGIN; CREATE TABLE public.probe_x (LIKE reports.deal_outcomes_daily INCLUDING ALL); DROP INDEX public.probe_x_day_client_id_owner_id_won_deals_won_amount_last_wo_idx; INSERT INTO public.probe_x SELECT * FROM src; ROLLBACK;
BEGIN; CREATE TABLE public.probe_x (LIKE reports.deal_outcomes_daily INCLUDING ALL); DROP INDEX public.probe_x_day_client_id_owner_id_won_deals_won_amount_last_wo_idx; INSERT INTO public.probe_x SELECT * FROM src; ROLLBACK;
