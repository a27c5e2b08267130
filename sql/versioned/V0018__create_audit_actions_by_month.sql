-- Month totals of the audit actions (docs/architecture.md, "Storage"): audit_actions_by_day ORed over
-- each calendar month. activity_by_action over a one-year range in scope all then ORs the bitmaps of
-- 540 month rows instead of 16,117 day rows (one million deals, 2025-11-01..2026-10-31: p50 from 34 to
-- 3.9 ms, docs/benchmarks.md).
--
-- A summary whose bucket is a month: reports.summaries gets bucket_grain ('day', the default, or
-- 'month'). Its bucket column holds the first day of the month. The refresh engine hands a month
-- summary the months of the days recomputed in the summaries it depends on (one invalid entry per
-- month, dated its first day), and reports._pending_days reports a pending month as all its days.
-- Computed in the same refresh from audit_actions_by_day, as stored (depends_on).
--
-- A new column with a constant default (no table rewrite since PostgreSQL 11) and its check on the
-- small registry table (a few rows, read only by the refresh engine), and a new table: nothing to
-- wait for or to time out.
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts
-- squawk-ignore-file adding-not-nullable-field, constraint-missing-not-valid

ALTER TABLE reports.summaries
ADD COLUMN bucket_grain text NOT NULL DEFAULT 'day'
CONSTRAINT summaries_bucket_grain_check CHECK (bucket_grain IN ('day', 'month'));

CREATE TABLE reports.audit_actions_by_month (
    month date NOT NULL, -- noqa: RF04
    action text NOT NULL, -- noqa: RF04
    entity_type text,
    actor_block bigint NOT NULL,
    events bigint NOT NULL,
    actors bit(4096) NOT NULL,
    CONSTRAINT audit_actions_by_month_key UNIQUE NULLS NOT DISTINCT (month, action, entity_type, actor_block),
    CONSTRAINT audit_actions_by_month_month_check CHECK (month = date_trunc('month', month::timestamp)::date)
);

INSERT INTO reports.summaries (
    name, position, compute_function, key_columns, bucket_column, depends_on, bucket_grain
)
VALUES (
    'audit_actions_by_month', 17, 'compute_audit_actions_by_month', '{month,action,entity_type,actor_block}',
    'month', '{audit_actions_by_day}', 'month'
);
