-- Totals of the three remaining owner-keyed summaries, for the reports of callers whose scope is all
-- (docs/architecture.md, "Storage"), like the day totals of V0015:
-- - payment_open_spans_by_day: payment_open_spans summed over owners, per creation day, due date and
--   paid day (a one-year range reads about 19,000 rows instead of 150,000 at one million deals, and the
--   payments outstanding at the end of a day about 4,400 instead of 31,000);
-- - payments_invoiced_by_day: payment_open_spans_by_day summed per creation day (the invoiced side of
--   collections_summary: 365 rows a year);
-- - clients_created_by_day: clients_created_daily summed over owners, one row per day;
-- - pipeline_open_by_stage: pipeline_open summed over owners, one row per stage.
--
-- Summaries like the others (reports.summaries, written only by the refresh engine), computed in the
-- same refresh from the summary they depend on, as stored (depends_on).
--
-- New tables only: nothing to wait for or to time out, and the GiST index is built on a table
-- created empty in the same transaction (CONCURRENTLY cannot run in a transaction, nor is needed).
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts
-- squawk-ignore-file require-concurrent-index-creation

CREATE TABLE reports.payment_open_spans_by_day (
    created_day date NOT NULL,
    due_date date NOT NULL,
    paid_day date,
    payments bigint NOT NULL,
    amount numeric NOT NULL,
    -- as reports.payment_open_spans.open_span (V0010)
    open_span daterange GENERATED ALWAYS AS (
        daterange(created_day, CASE WHEN paid_day < created_day THEN created_day ELSE paid_day END)
    ) STORED,
    CONSTRAINT payment_open_spans_by_day_key UNIQUE NULLS NOT DISTINCT (created_day, due_date, paid_day)
);

CREATE INDEX payment_open_spans_by_day_open_span_idx ON reports.payment_open_spans_by_day USING gist (open_span);

CREATE TABLE reports.payments_invoiced_by_day (
    created_day date NOT NULL,
    payments bigint NOT NULL,
    amount numeric NOT NULL,
    CONSTRAINT payments_invoiced_by_day_pkey PRIMARY KEY (created_day)
);

CREATE TABLE reports.clients_created_by_day (
    day date NOT NULL, -- noqa: RF04
    clients bigint NOT NULL,
    CONSTRAINT clients_created_by_day_pkey PRIMARY KEY (day)
);

CREATE TABLE reports.pipeline_open_by_stage (
    stage_code text NOT NULL,
    deals bigint NOT NULL,
    amount numeric NOT NULL,
    weighted_amount numeric NOT NULL,
    age_days_sum numeric NOT NULL,
    as_of timestamptz NOT NULL,
    CONSTRAINT pipeline_open_by_stage_pkey PRIMARY KEY (stage_code)
);

-- pipeline_open_by_stage's as_of and ages are those of the pipeline_open it is computed from: they
-- depend on the time of the refresh (clock_columns, left out by reports.verify), as there.
INSERT INTO reports.summaries (
    name, position, compute_function, key_columns, bucket_column, depends_on, clock_columns
)
VALUES
(
    'payment_open_spans_by_day', 13, 'compute_payment_open_spans_by_day', '{created_day,due_date,paid_day}',
    'created_day', '{payment_open_spans}', '{}'
),
(
    'payments_invoiced_by_day', 14, 'compute_payments_invoiced_by_day', '{created_day}', 'created_day',
    '{payment_open_spans_by_day}', '{}'
),
(
    'clients_created_by_day', 15, 'compute_clients_created_by_day', '{day}', 'day', '{clients_created_daily}', '{}'
),
(
    'pipeline_open_by_stage', 16, 'compute_pipeline_open_by_stage', '{stage_code}', NULL, '{pipeline_open}',
    '{age_days_sum,as_of}'
);
