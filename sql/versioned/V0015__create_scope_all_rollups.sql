-- Day totals of three summaries, for the reports of callers whose scope is all (docs/architecture.md,
-- "Storage"): deal_outcomes_by_day, payments_collected_by_day and stage_funnel_by_day hold the sums
-- of deal_outcomes_daily, payments_collected_daily and stage_funnel_daily over every owner (and
-- client), one row per day (and stage), so that a one-year report in scope all reads hundreds of
-- rows instead of hundreds of thousands.
--
-- They are summaries like the others (reports.summaries, written only by the refresh engine), but
-- computed from the summary they depend on (depends_on), in the same refresh, after it: the engine
-- hands each day it recomputed in a summary on to its dependants (reports._refresh).
--
-- New tables only: nothing to wait for or to time out.
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts

CREATE TABLE reports.deal_outcomes_by_day (
    day date NOT NULL, -- noqa: RF04
    won_deals bigint NOT NULL,
    won_amount numeric NOT NULL,
    won_cycle_days_sum numeric NOT NULL,
    lost_deals bigint NOT NULL,
    last_won_at timestamptz,
    CONSTRAINT deal_outcomes_by_day_pkey PRIMARY KEY (day)
);

CREATE TABLE reports.payments_collected_by_day (
    day date NOT NULL, -- noqa: RF04
    paid_payments bigint NOT NULL,
    paid_amount numeric NOT NULL,
    CONSTRAINT payments_collected_by_day_pkey PRIMARY KEY (day)
);

CREATE TABLE reports.stage_funnel_by_day (
    created_day date NOT NULL,
    stage_code text NOT NULL,
    reached bigint NOT NULL,
    left_deals bigint NOT NULL,
    days_in_stage_sum numeric NOT NULL,
    CONSTRAINT stage_funnel_by_day_pkey PRIMARY KEY (created_day, stage_code)
);

INSERT INTO reports.summaries (name, position, compute_function, key_columns, bucket_column, depends_on)
VALUES
(
    'deal_outcomes_by_day', 8, 'compute_deal_outcomes_by_day', '{day}', 'day', '{deal_outcomes_daily}'
),
(
    'payments_collected_by_day', 9, 'compute_payments_collected_by_day', '{day}', 'day',
    '{payments_collected_daily}'
),
(
    'stage_funnel_by_day', 10, 'compute_stage_funnel_by_day', '{created_day,stage_code}', 'created_day',
    '{stage_funnel_daily}'
);
