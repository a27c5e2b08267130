-- Scoped day totals: the rows of a summary summed per day over owners, read from its day-total
-- summary when the caller's scope is all (one row per day instead of one per day and owner), else
-- summed from the caller's visible rows (reports._scoped_*). Same contract as the scoped readers:
-- p_owner_ids null = scope all, inclusive day bounds (null = open), inlined into the report's query
-- (no SET clause; every name qualified), real-time reports honoured: with reports.realtime on, the
-- days whose rows may be stale (the pending days of the day totals, which include those of the
-- summary they are computed from) are computed live from the sources. The audit actor bitmaps
-- (audit_actors_by_day, audit_actions_by_day: sets of actors per day, V0016) are read the same way,
-- with the month totals of V0018 (audit_actions_by_month) for the whole months of a range, and so are
-- the totals of V0017: payment_open_spans_by_day (per creation day, due date and paid day),
-- payments_invoiced_by_day, clients_created_by_day and pipeline_open_by_stage (per stage, no day).

CREATE OR REPLACE FUNCTION reports._scoped_deal_outcome_days(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.deal_outcomes_by_day
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('deal_outcomes_by_day', p_from, p_to) AS days
    )

    SELECT t.*
    FROM reports.deal_outcomes_by_day AS t
    CROSS JOIN live
    WHERE
        p_owner_ids IS NULL
        AND t.day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND NOT t.day <@ live.days
    UNION ALL
    SELECT
        c.day,
        sum(c.won_deals)::bigint,
        sum(c.won_amount),
        sum(c.won_cycle_days_sum),
        sum(c.lost_deals)::bigint,
        max(c.last_won_at)
    FROM live
    CROSS JOIN LATERAL reports._compute_ranges(live.days) AS r (days)
    CROSS JOIN LATERAL reports.compute_deal_outcomes_daily(r.days) AS c
    WHERE p_owner_ids IS NULL AND c.day <@ live.days
    GROUP BY c.day
    UNION ALL
    SELECT
        o.day,
        sum(o.won_deals)::bigint,
        sum(o.won_amount),
        sum(o.won_cycle_days_sum),
        sum(o.lost_deals)::bigint,
        max(o.last_won_at)
    FROM reports._scoped_deal_outcomes(p_owner_ids, p_from, p_to) AS o
    WHERE p_owner_ids IS NOT NULL
    GROUP BY o.day
$$;

COMMENT ON FUNCTION reports._scoped_deal_outcome_days(bigint[], date, date) IS
'reports.deal_outcomes_daily summed per day over the visible owners and their clients, for the days in
p_from..p_to with at least one won or lost deal: in scope all (p_owner_ids null) the stored
reports.deal_outcomes_by_day, else the sums of reports._scoped_deal_outcomes; with reports.realtime on, live
rows for the days with pending changes (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_stage_funnel_days(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.stage_funnel_by_day
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('stage_funnel_by_day', p_from, p_to) AS days
    )

    SELECT t.*
    FROM reports.stage_funnel_by_day AS t
    CROSS JOIN live
    WHERE
        p_owner_ids IS NULL
        AND t.created_day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND NOT t.created_day <@ live.days
    UNION ALL
    SELECT
        c.created_day,
        c.stage_code,
        sum(c.reached)::bigint,
        sum(c.left_deals)::bigint,
        sum(c.days_in_stage_sum)
    FROM live
    CROSS JOIN LATERAL reports._compute_ranges(live.days) AS r (days)
    CROSS JOIN LATERAL reports.compute_stage_funnel_daily(r.days) AS c
    WHERE p_owner_ids IS NULL AND c.created_day <@ live.days
    GROUP BY c.created_day, c.stage_code
    UNION ALL
    SELECT
        f.created_day,
        f.stage_code,
        sum(f.reached)::bigint,
        sum(f.left_deals)::bigint,
        sum(f.days_in_stage_sum)
    FROM reports._scoped_stage_funnel(p_owner_ids, p_from, p_to) AS f
    WHERE p_owner_ids IS NOT NULL
    GROUP BY f.created_day, f.stage_code
$$;

COMMENT ON FUNCTION reports._scoped_stage_funnel_days(bigint[], date, date) IS
'reports.stage_funnel_daily summed per creation day and stage over the visible owners, for the creation days in
p_from..p_to: in scope all (p_owner_ids null) the stored reports.stage_funnel_by_day, else the sums of
reports._scoped_stage_funnel; with reports.realtime on, live rows for the days with pending changes
(internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_payments_collected_days(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.payments_collected_by_day
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('payments_collected_by_day', p_from, p_to) AS days
    )

    SELECT t.*
    FROM reports.payments_collected_by_day AS t
    CROSS JOIN live
    WHERE
        p_owner_ids IS NULL
        AND t.day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND NOT t.day <@ live.days
    UNION ALL
    SELECT
        c.day,
        sum(c.paid_payments)::bigint,
        sum(c.paid_amount)
    FROM live
    CROSS JOIN LATERAL reports._compute_ranges(live.days) AS r (days)
    CROSS JOIN LATERAL reports.compute_payments_collected_daily(r.days) AS c
    WHERE p_owner_ids IS NULL AND c.day <@ live.days
    GROUP BY c.day
    UNION ALL
    SELECT
        o.day,
        sum(o.paid_payments)::bigint,
        sum(o.paid_amount)
    FROM reports._scoped_payments_collected(p_owner_ids, p_from, p_to) AS o
    WHERE p_owner_ids IS NOT NULL
    GROUP BY o.day
$$;

COMMENT ON FUNCTION reports._scoped_payments_collected_days(bigint[], date, date) IS
'reports.payments_collected_daily summed per day over the visible payment owners and their clients, for the days
in p_from..p_to with at least one payment received: in scope all (p_owner_ids null; payments without owner
included) the stored reports.payments_collected_by_day, else the sums of reports._scoped_payments_collected; with
reports.realtime on, live rows for the days with pending changes (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_audit_actor_days(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.audit_actors_by_day
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('audit_actors_by_day', p_from, p_to) AS days
    )

    SELECT t.*
    FROM reports.audit_actors_by_day AS t
    CROSS JOIN live
    WHERE
        p_owner_ids IS NULL
        AND t.day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND NOT t.day <@ live.days
    UNION ALL
    SELECT
        c.day,
        reports._actor_block(c.actor_id),
        sum(c.events)::bigint,
        bit_or(reports._actor_bit(c.actor_id))
    FROM live
    CROSS JOIN LATERAL reports._compute_ranges(live.days) AS r (days)
    CROSS JOIN LATERAL reports.compute_audit_activity_daily(r.days) AS c
    WHERE p_owner_ids IS NULL AND c.day <@ live.days AND c.actor_id IS NOT NULL
    GROUP BY c.day, reports._actor_block(c.actor_id)
    UNION ALL
    SELECT
        a.day,
        reports._actor_block(a.actor_id),
        sum(a.events)::bigint,
        bit_or(reports._actor_bit(a.actor_id))
    FROM reports._scoped_audit_activity(p_owner_ids, p_from, p_to) AS a
    WHERE p_owner_ids IS NOT NULL
    GROUP BY a.day, reports._actor_block(a.actor_id)
$$;

COMMENT ON FUNCTION reports._scoped_audit_actor_days(bigint[], date, date) IS
'Audit events with a visible actor per day and actor block, with the bitmap of those actors, for the days in
p_from..p_to: in scope all (p_owner_ids null) the stored reports.audit_actors_by_day, else computed from
reports._scoped_audit_activity; with reports.realtime on, live rows for the days with pending changes
(internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_audit_action_days(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.audit_actions_by_day
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('audit_actions_by_day', p_from, p_to) AS days
    ),

    -- In scope all, the whole months of the range with no day computed live, read from the month totals
    -- (one row per month, dated its first day, instead of a row per day). The live days of the month
    -- totals include those of audit_actions_by_day, which they are computed from.
    months AS MATERIALIZED (
        SELECT coalesce(range_agg(m.days), '{}'::datemultirange) AS days
        FROM reports._live_days('audit_actions_by_month', p_from, p_to) AS lm (days)
        CROSS JOIN LATERAL generate_series(
            date_trunc('month', (p_from - 1)::timestamp) + interval '1 month',
            date_trunc('month', (p_to + 1)::timestamp) - interval '1 month',
            interval '1 month'
        ) AS g (month)
        CROSS JOIN LATERAL (SELECT daterange(g.month::date, (g.month + interval '1 month')::date) AS days) AS m
        WHERE p_owner_ids IS NULL AND NOT m.days && lm.days
    ),

    -- the other days of the range, read day by day
    day_ranges AS MATERIALIZED (
        SELECT r.days
        FROM months
        CROSS JOIN LATERAL unnest(
            datemultirange(daterange(coalesce(p_from, '-infinity'), coalesce(p_to, 'infinity'), '[]')) - months.days
        ) AS r (days)
        WHERE p_owner_ids IS NULL
    )

    SELECT
        t.month,
        t.action,
        t.entity_type,
        t.actor_block,
        t.events,
        t.actors
    FROM months
    INNER JOIN reports.audit_actions_by_month AS t
        ON t.month >= lower(range_merge(months.days)) AND t.month < upper(range_merge(months.days))
    WHERE t.month <@ months.days
    UNION ALL
    SELECT t.*
    FROM day_ranges AS r
    CROSS JOIN live
    INNER JOIN reports.audit_actions_by_day AS t ON t.day >= lower(r.days) AND t.day < upper(r.days)
    WHERE NOT t.day <@ live.days
    UNION ALL
    SELECT
        c.day,
        c.action,
        c.entity_type,
        reports._actor_block(c.actor_id),
        sum(c.events)::bigint,
        bit_or(reports._actor_bit(c.actor_id))
    FROM live
    CROSS JOIN LATERAL reports._compute_ranges(live.days) AS r (days)
    CROSS JOIN LATERAL reports.compute_audit_activity_daily(r.days) AS c
    WHERE p_owner_ids IS NULL AND c.day <@ live.days AND c.actor_id IS NOT NULL
    GROUP BY c.day, c.action, c.entity_type, reports._actor_block(c.actor_id)
    UNION ALL
    SELECT
        a.day,
        a.action,
        a.entity_type,
        reports._actor_block(a.actor_id),
        sum(a.events)::bigint,
        bit_or(reports._actor_bit(a.actor_id))
    FROM reports._scoped_audit_activity(p_owner_ids, p_from, p_to) AS a
    WHERE p_owner_ids IS NOT NULL
    GROUP BY a.day, a.action, a.entity_type, reports._actor_block(a.actor_id)
$$;

COMMENT ON FUNCTION reports._scoped_audit_action_days(bigint[], date, date) IS
'Audit events with a visible actor per action, entity type and actor block, with the bitmap of those actors,
for the days in p_from..p_to, in rows that each cover one day or one whole month (day = the month''s first day:
for sums and ORs over the range, not for grouping by day): in scope all (p_owner_ids null) the stored
reports.audit_actions_by_month for the whole months of the range and reports.audit_actions_by_day for the other
days, else per day computed from reports._scoped_audit_activity; with reports.realtime on, live rows for the days
with pending changes, whose months are then read day by day (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_payments_invoiced_days(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.payments_invoiced_by_day
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('payments_invoiced_by_day', p_from, p_to) AS days
    )

    SELECT t.*
    FROM reports.payments_invoiced_by_day AS t
    CROSS JOIN live
    WHERE
        p_owner_ids IS NULL
        AND t.created_day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND NOT t.created_day <@ live.days
    UNION ALL
    SELECT
        s.created_day,
        sum(s.payments)::bigint,
        sum(s.amount)
    FROM live
    CROSS JOIN LATERAL reports._live_payment_open_spans(live.days) AS s
    WHERE p_owner_ids IS NULL
    GROUP BY s.created_day
    UNION ALL
    SELECT
        o.created_day,
        sum(o.payments)::bigint,
        sum(o.amount)
    FROM reports._scoped_payments_created(p_owner_ids, p_from, p_to) AS o
    WHERE p_owner_ids IS NOT NULL
    GROUP BY o.created_day
$$;

COMMENT ON FUNCTION reports._scoped_payments_invoiced_days(bigint[], date, date) IS
'reports.payment_open_spans (payments not failed) summed per creation day over the visible payment owners, for the
creation days in p_from..p_to with at least one payment: in scope all (p_owner_ids null; payments without owner
included) the stored reports.payments_invoiced_by_day, else the sums of reports._scoped_payments_created; with
reports.realtime on, live rows for the days with pending changes (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_payments_outstanding_days(p_owner_ids bigint[], p_as_of date)
RETURNS SETOF reports.payment_open_spans_by_day
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('payment_open_spans_by_day', NULL, p_as_of) AS days
    )

    SELECT t.*
    FROM reports.payment_open_spans_by_day AS t
    CROSS JOIN live
    WHERE
        p_owner_ids IS NULL
        AND t.open_span @> p_as_of
        AND NOT t.created_day <@ live.days
    UNION ALL
    SELECT
        s.created_day,
        s.due_date,
        s.paid_day,
        sum(s.payments)::bigint,
        sum(s.amount),
        s.open_span
    FROM live
    CROSS JOIN LATERAL reports._live_payment_open_spans(live.days) AS s
    WHERE p_owner_ids IS NULL AND s.open_span @> p_as_of
    GROUP BY s.created_day, s.due_date, s.paid_day, s.open_span
    UNION ALL
    SELECT
        o.created_day,
        o.due_date,
        o.paid_day,
        sum(o.payments)::bigint,
        sum(o.amount),
        o.open_span
    FROM reports._scoped_payments_outstanding(p_owner_ids, p_as_of) AS o
    WHERE p_owner_ids IS NOT NULL
    GROUP BY o.created_day, o.due_date, o.paid_day, o.open_span
$$;

COMMENT ON FUNCTION reports._scoped_payments_outstanding_days(bigint[], date) IS
'The payments outstanding at the end of day p_as_of (created on or before it, not failed, not paid by the end of
it: open_span @> p_as_of) summed per creation day, due date and paid day over the visible payment owners: in scope
all (p_owner_ids null; payments without owner included) the stored reports.payment_open_spans_by_day, else the
sums of reports._scoped_payments_outstanding; with reports.realtime on, live rows for the creation days with
pending changes (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_clients_created_days(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.clients_created_by_day
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('clients_created_by_day', p_from, p_to) AS days
    )

    SELECT t.*
    FROM reports.clients_created_by_day AS t
    CROSS JOIN live
    WHERE
        p_owner_ids IS NULL
        AND t.day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND NOT t.day <@ live.days
    UNION ALL
    SELECT
        c.day,
        sum(c.clients)::bigint
    FROM live
    CROSS JOIN LATERAL reports._compute_ranges(live.days) AS r (days)
    CROSS JOIN LATERAL reports.compute_clients_created_daily(r.days) AS c
    WHERE p_owner_ids IS NULL AND c.day <@ live.days
    GROUP BY c.day
    UNION ALL
    SELECT
        o.day,
        sum(o.clients)::bigint
    FROM reports._scoped_clients_created(p_owner_ids, p_from, p_to) AS o
    WHERE p_owner_ids IS NOT NULL
    GROUP BY o.day
$$;

COMMENT ON FUNCTION reports._scoped_clients_created_days(bigint[], date, date) IS
'reports.clients_created_daily summed per day over the visible client owners, for the days in p_from..p_to with at
least one client created: in scope all (p_owner_ids null; clients without owner included) the stored
reports.clients_created_by_day, else the sums of reports._scoped_clients_created; with reports.realtime on, live
rows for the days with pending changes (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_pipeline_stages(p_owner_ids bigint[])
RETURNS SETOF reports.pipeline_open_by_stage
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._realtime() AS now_live
    )

    SELECT t.*
    FROM reports.pipeline_open_by_stage AS t
    CROSS JOIN live
    WHERE p_owner_ids IS NULL AND NOT live.now_live
    UNION ALL
    SELECT
        o.stage_code,
        sum(o.deals)::bigint,
        sum(o.amount),
        sum(o.weighted_amount),
        sum(o.age_days_sum),
        max(o.as_of)
    FROM live
    CROSS JOIN LATERAL reports._scoped_pipeline_open(p_owner_ids) AS o
    WHERE p_owner_ids IS NOT NULL OR live.now_live
    GROUP BY o.stage_code
$$;

COMMENT ON FUNCTION reports._scoped_pipeline_stages(bigint[]) IS
'reports.pipeline_open (open deals at the last refresh) summed per stage over the visible deal owners: in scope all
(p_owner_ids null) the stored reports.pipeline_open_by_stage, else the sums of reports._scoped_pipeline_open; with
reports.realtime on, the sums of the open deals now, computed live (internal, inlined)';
