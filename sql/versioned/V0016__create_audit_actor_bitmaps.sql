-- Distinct actors without counting them row by row (docs/architecture.md, "Storage"):
-- audit_actors_by_day and audit_actions_by_day hold, per day (and action and entity type), the
-- audit events with an actor and the set of those actors as bitmaps of 4096 actor ids each
-- (reports._actor_bit). The distinct actors of any set of days are then the bits set in the OR of
-- their bitmaps (bit_or, bit_count): a one-year activity report in scope all ORs a few thousand
-- bitmaps instead of counting distinct actors over millions of (day, actor) rows.
--
-- Summaries like the others (reports.summaries, written only by the refresh engine), computed in the
-- same refresh from the summary before them, as stored (depends_on), like the day totals of V0015:
-- audit_actions_by_day from audit_activity_daily (building a bitmap costs about a microsecond per
-- row, so this is done once), audit_actors_by_day from audit_actions_by_day (an OR per row).
--
-- New tables only: nothing to wait for or to time out.
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts

CREATE TABLE reports.audit_actors_by_day (
    day date NOT NULL, -- noqa: RF04
    actor_block bigint NOT NULL,
    events bigint NOT NULL,
    actors bit(4096) NOT NULL,
    CONSTRAINT audit_actors_by_day_pkey PRIMARY KEY (day, actor_block)
);

CREATE TABLE reports.audit_actions_by_day (
    day date NOT NULL, -- noqa: RF04
    action text NOT NULL, -- noqa: RF04
    entity_type text,
    actor_block bigint NOT NULL,
    events bigint NOT NULL,
    actors bit(4096) NOT NULL,
    CONSTRAINT audit_actions_by_day_key UNIQUE NULLS NOT DISTINCT (day, action, entity_type, actor_block)
);

INSERT INTO reports.summaries (name, position, compute_function, key_columns, bucket_column, depends_on)
VALUES
(
    'audit_actions_by_day', 11, 'compute_audit_actions_by_day', '{day,action,entity_type,actor_block}', 'day',
    '{audit_activity_daily}'
),
(
    'audit_actors_by_day', 12, 'compute_audit_actors_by_day', '{day,actor_block}', 'day',
    '{audit_actions_by_day}'
);
