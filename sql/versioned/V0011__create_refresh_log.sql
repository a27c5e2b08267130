-- The refresh registry (reports.summaries) and the refresh journal (reports.refresh_log).
--
-- reports.summaries lists every summary table in dependency order with what the generic
-- refresh machinery (sql/repeatable/40_refresh/) needs to rewrite it: the function that
-- computes its rows, its key columns and its day-bucket column; and the state of its last
-- successful refresh. reports.refresh_log records every refresh of every summary.
--
-- New tables only: nothing to wait for or to time out.
-- The indexes are built on tables created earlier in this same transaction (empty, invisible to
-- others). summaries.position is an ordinal of a handful of rows: integer is the right type.
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts
-- squawk-ignore-file require-concurrent-index-creation, prefer-bigint-over-int

CREATE TABLE reports.summaries (
    name text NOT NULL, -- noqa: RF04
    position integer NOT NULL, -- noqa: RF04
    compute_function text NOT NULL,
    key_columns text[] NOT NULL,
    bucket_column text,
    depends_on text[] NOT NULL DEFAULT '{}',
    refreshed_at timestamptz,
    generation bigint NOT NULL DEFAULT 0,
    rows bigint, -- noqa: RF04
    timezone text, -- noqa: RF04
    needs_full_refresh boolean NOT NULL DEFAULT TRUE,
    CONSTRAINT summaries_pkey PRIMARY KEY (name),
    CONSTRAINT summaries_position_key UNIQUE (position),
    CONSTRAINT summaries_name_check CHECK (name ~ '^[a-z_][a-z0-9_]*$'),
    CONSTRAINT summaries_compute_function_check CHECK (compute_function ~ '^[a-z_][a-z0-9_]*$'),
    CONSTRAINT summaries_key_columns_check CHECK (cardinality(key_columns) > 0),
    CONSTRAINT summaries_bucket_column_check CHECK (bucket_column = any(key_columns)),
    CONSTRAINT summaries_generation_check CHECK (generation >= 0)
);

CREATE TABLE reports.refresh_log (
    id bigint GENERATED ALWAYS AS IDENTITY,
    run_id uuid NOT NULL,
    view text NOT NULL, -- noqa: RF04
    mode text NOT NULL, -- noqa: RF04
    days daterange NOT NULL, -- noqa: RF04
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    duration_ms numeric NOT NULL,
    rows bigint, -- noqa: RF04
    rows_written bigint,
    rows_deleted bigint,
    status text NOT NULL, -- noqa: RF04
    error text,
    sqlstate text,
    CONSTRAINT refresh_log_pkey PRIMARY KEY (id),
    CONSTRAINT refresh_log_mode_check CHECK (mode IN ('full', 'days')),
    CONSTRAINT refresh_log_status_check CHECK (status IN ('ok', 'failed', 'skipped')),
    CONSTRAINT refresh_log_error_check CHECK (status <> 'failed' OR error IS NOT NULL),
    CONSTRAINT refresh_log_duration_check CHECK (duration_ms >= 0)
);

CREATE INDEX refresh_log_view_started_at_idx ON reports.refresh_log (view, started_at DESC);
CREATE INDEX refresh_log_run_id_idx ON reports.refresh_log (run_id);

INSERT INTO reports.summaries (name, position, compute_function, key_columns, bucket_column)
VALUES
('deal_outcomes_daily', 1, 'compute_deal_outcomes_daily', '{day,owner_id,client_id}', 'day'),
('payments_collected_daily', 2, 'compute_payments_collected_daily', '{day,owner_id,client_id}', 'day'),
(
    'payment_open_spans', 3, 'compute_payment_open_spans',
    '{created_day,owner_id,due_date,paid_day}', 'created_day'
),
('stage_funnel_daily', 4, 'compute_stage_funnel_daily', '{created_day,owner_id,stage_code}', 'created_day'),
('audit_activity_daily', 5, 'compute_audit_activity_daily', '{day,actor_id,action,entity_type}', 'day'),
('clients_created_daily', 6, 'compute_clients_created_daily', '{day,owner_id}', 'day'),
('pipeline_open', 7, 'compute_pipeline_open', '{owner_id,stage_code}', NULL);
