-- Summary tables: what every report reads (docs/architecture.md, "Storage").
--
-- Each table is keyed by a day bucket in the reports time zone (reports.settings 'timezone')
-- plus dimension ids, and holds only additive measures (sums and counts; max for last_won_at),
-- so that any period rolls up exactly from its days. Each table's rows are defined by one
-- function reports.compute_<table>(p_days daterange) (sql/repeatable/30_summaries/) and
-- written only by reports._refresh_summary() (sql/repeatable/40_refresh/), which rewrites a
-- range of buckets in place: readers are never locked out and see the old or the new contents.
--
-- Keys: a primary key when every key column is NOT NULL; otherwise a UNIQUE NULLS NOT DISTINCT
-- constraint (PostgreSQL 15), so that a null owner, actor, entity type or paid day is one key
-- value and ON CONFLICT (key columns) finds it. Amounts are unrounded numeric sums; reports round.
-- Indexes: the bucket first (range scans), (owner_id, bucket) for scoped reports, client_id for
-- per-client reports.
--
-- New tables only: nothing to wait for or to time out.
-- The indexes are built on tables created earlier in this same transaction: empty and invisible
-- to every other session, so CONCURRENTLY (impossible in a transaction anyway) would buy nothing.
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts
-- squawk-ignore-file require-concurrent-index-creation

-- Won and lost deals by local day of closed_at, owner and client.
CREATE TABLE reports.deal_outcomes_daily (
    day date NOT NULL, -- noqa: RF04
    owner_id bigint NOT NULL,
    client_id bigint NOT NULL,
    won_deals bigint NOT NULL,
    won_amount numeric NOT NULL,
    won_cycle_days_sum numeric NOT NULL,
    lost_deals bigint NOT NULL,
    last_won_at timestamptz,
    CONSTRAINT deal_outcomes_daily_pkey PRIMARY KEY (day, owner_id, client_id)
);

CREATE INDEX deal_outcomes_daily_owner_id_day_idx ON reports.deal_outcomes_daily (owner_id, day);
CREATE INDEX deal_outcomes_daily_client_id_day_idx ON reports.deal_outcomes_daily (client_id, day);

-- Payments received, by local day of paid_at, payment owner and client.
CREATE TABLE reports.payments_collected_daily (
    day date NOT NULL, -- noqa: RF04
    owner_id bigint,
    client_id bigint NOT NULL,
    paid_payments bigint NOT NULL,
    paid_amount numeric NOT NULL,
    CONSTRAINT payments_collected_daily_key UNIQUE NULLS NOT DISTINCT (day, owner_id, client_id)
);

CREATE INDEX payments_collected_daily_owner_id_day_idx ON reports.payments_collected_daily (owner_id, day);
CREATE INDEX payments_collected_daily_client_id_day_idx ON reports.payments_collected_daily (client_id, day);

-- Payments that are not failed, by local day of created_at, owner, due date and local day of
-- paid_at (null: not paid). A payment is outstanding at the end of day D exactly when
-- open_span @> D, i.e. created_day <= D < paid_day.
CREATE TABLE reports.payment_open_spans (
    created_day date NOT NULL,
    owner_id bigint,
    due_date date NOT NULL,
    paid_day date,
    payments bigint NOT NULL,
    amount numeric NOT NULL,
    -- a payment paid before the day it was created is never outstanding (empty span)
    open_span daterange GENERATED ALWAYS AS (
        daterange(created_day, CASE WHEN paid_day < created_day THEN created_day ELSE paid_day END)
    ) STORED,
    CONSTRAINT payment_open_spans_key UNIQUE NULLS NOT DISTINCT (created_day, owner_id, due_date, paid_day)
);

CREATE INDEX payment_open_spans_owner_id_created_day_idx ON reports.payment_open_spans (owner_id, created_day);
CREATE INDEX payment_open_spans_open_span_idx ON reports.payment_open_spans USING gist (open_span);

-- Stage funnel of deals, by local day of the deal's created_at, owner and stage entered.
CREATE TABLE reports.stage_funnel_daily (
    created_day date NOT NULL,
    owner_id bigint NOT NULL,
    stage_code text NOT NULL,
    reached bigint NOT NULL,
    left_deals bigint NOT NULL,
    days_in_stage_sum numeric NOT NULL,
    CONSTRAINT stage_funnel_daily_pkey PRIMARY KEY (created_day, owner_id, stage_code)
);

CREATE INDEX stage_funnel_daily_owner_id_created_day_idx ON reports.stage_funnel_daily (owner_id, created_day);

-- Audit events by local day of occurred_at, actor, action and entity type.
CREATE TABLE reports.audit_activity_daily (
    day date NOT NULL, -- noqa: RF04
    actor_id bigint,
    action text NOT NULL, -- noqa: RF04
    entity_type text,
    events bigint NOT NULL,
    CONSTRAINT audit_activity_daily_key UNIQUE NULLS NOT DISTINCT (day, actor_id, action, entity_type)
);

CREATE INDEX audit_activity_daily_actor_id_day_idx ON reports.audit_activity_daily (actor_id, day);

-- Clients by local day of created_at and owner.
CREATE TABLE reports.clients_created_daily (
    day date NOT NULL, -- noqa: RF04
    owner_id bigint,
    clients bigint NOT NULL,
    CONSTRAINT clients_created_daily_key UNIQUE NULLS NOT DISTINCT (day, owner_id)
);

CREATE INDEX clients_created_daily_owner_id_day_idx ON reports.clients_created_daily (owner_id, day);

-- Snapshot of the open deals at refresh time (no day bucket), by owner and current stage.
CREATE TABLE reports.pipeline_open (
    owner_id bigint NOT NULL,
    stage_code text NOT NULL,
    deals bigint NOT NULL,
    amount numeric NOT NULL,
    weighted_amount numeric NOT NULL,
    age_days_sum numeric NOT NULL,
    as_of timestamptz NOT NULL,
    CONSTRAINT pipeline_open_pkey PRIMARY KEY (owner_id, stage_code)
);
