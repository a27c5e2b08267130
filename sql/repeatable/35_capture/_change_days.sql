-- The days of the summaries that each captured change invalidates, in the current time zone.
--
-- A change invalidates the days holding the rows it touched, before and after it: the local days of
-- the instants it logged (old and new), and the days of the rows that depend on the changed row,
-- looked up in the crm tables as they are now (deleted rows included: a deleted client's deals still
-- have rows in the summaries until the refresh removes them). Looking dependants up now, rather than
-- when the change happened, is safe: a dependant that moved since was moved by a change of its own,
-- which logged its old and new days (docs/architecture.md, "Incremental refresh and change capture").
-- day is NULL when the change invalidates the whole summary: pipeline_open (no day bucket) and a
-- TRUNCATE of any table the summary reads. group_id narrows a day to the rows of one value of the
-- summary's group_column (reports.summaries): in deal_outcomes_daily the client of the changed deal
-- (before and after the change, as logged) or the changed client; NULL for the whole day, and for a deal
-- change logged without its client (before V0019).
-- An instant that is not reportable (reports._is_reportable_instant) gives no day: the adapters leave its
-- row out of every summary, so it has no row to invalidate, and its day could not be enumerated.
-- One branch per summary and reason, each naming its summary as a constant: a query for one summary
-- (reports._pending_days) runs only that summary's branches.

CREATE OR REPLACE VIEW reports._change_days AS
WITH zone AS MATERIALIZED (
    SELECT reports.timezone() AS tz
),

-- Instants logged by the changes themselves, old and new.
logged AS MATERIALIZED (
    SELECT
        l.id AS change_id,
        l.captured_at,
        l.source_table,
        r.created_at,
        r.closed_at,
        i.client_id
    FROM reports.change_log AS l
    CROSS JOIN
        LATERAL (
            VALUES
            (l.old_created_at, l.old_closed_at, l.old_client_id),
            (l.new_created_at, l.new_closed_at, l.new_client_id)
        ) AS i (created_at, closed_at, client_id)
    CROSS JOIN LATERAL reports._reportable_instants(i.created_at, i.closed_at) AS r
),

-- Payments whose summary rows follow a changed deal (owner, existence) or client (existence; owner of
-- a payment without a deal), including the payments of a changed client's deals.
dependant_payments AS MATERIALIZED (
    SELECT
        l.id AS change_id,
        l.captured_at,
        r.closed_at AS paid_at,
        r.created_at
    FROM reports.change_log AS l
    INNER JOIN crm.payments AS p ON l.deal_id = p.deal_id
    CROSS JOIN LATERAL reports._reportable_instants(p.created_at, p.paid_at) AS r
    WHERE l.source_table = 'crm.deals' AND l.dependants
    UNION ALL
    SELECT
        l.id,
        l.captured_at,
        r.closed_at,
        r.created_at
    FROM reports.change_log AS l
    INNER JOIN crm.payments AS p ON l.client_id = p.client_id
    CROSS JOIN LATERAL reports._reportable_instants(p.created_at, p.paid_at) AS r
    WHERE l.source_table = 'crm.clients' AND l.dependants
    UNION ALL
    SELECT
        l.id,
        l.captured_at,
        r.closed_at,
        r.created_at
    FROM reports.change_log AS l
    INNER JOIN crm.deals AS d ON l.client_id = d.client_id
    INNER JOIN crm.payments AS p ON d.id = p.deal_id
    CROSS JOIN LATERAL reports._reportable_instants(p.created_at, p.paid_at) AS r
    WHERE l.source_table = 'crm.clients' AND l.dependants
),

-- Deals (with their stage history) whose summary rows follow a changed client (existence).
dependant_deals AS MATERIALIZED (
    SELECT
        l.id AS change_id,
        l.captured_at,
        r.closed_at,
        r.created_at,
        d.client_id
    FROM reports.change_log AS l
    INNER JOIN crm.deals AS d ON l.client_id = d.client_id
    CROSS JOIN LATERAL reports._reportable_instants(d.created_at, d.closed_at) AS r
    WHERE l.source_table = 'crm.clients' AND l.dependants
)

SELECT
    c.change_id,
    c.captured_at,
    c.summary,
    c.day,
    c.group_id
FROM (
    -- deal_outcomes_daily: the deal's closing days; the closing days of a client's deals.
    SELECT
        g.change_id,
        g.captured_at,
        'deal_outcomes_daily' AS summary, -- noqa: RF04
        (g.closed_at AT TIME ZONE z.tz)::date AS day, -- noqa: RF04
        g.client_id AS group_id
    FROM logged AS g CROSS JOIN zone AS z
    WHERE g.source_table = 'crm.deals' AND g.closed_at IS NOT NULL
    UNION ALL
    SELECT
        d.change_id,
        d.captured_at,
        'deal_outcomes_daily' AS summary, -- noqa: RF04
        (d.closed_at AT TIME ZONE z.tz)::date AS day, -- noqa: RF04
        d.client_id AS group_id
    FROM dependant_deals AS d CROSS JOIN zone AS z
    WHERE d.closed_at IS NOT NULL

    -- payments_collected_daily: the payment's paid days; those of a deal's or a client's payments.
    UNION ALL
    SELECT
        g.change_id,
        g.captured_at,
        'payments_collected_daily' AS summary, -- noqa: RF04
        (g.closed_at AT TIME ZONE z.tz)::date AS day, -- noqa: RF04
        NULL::bigint AS group_id
    FROM logged AS g CROSS JOIN zone AS z
    WHERE g.source_table = 'crm.payments' AND g.closed_at IS NOT NULL
    UNION ALL
    SELECT
        p.change_id,
        p.captured_at,
        'payments_collected_daily' AS summary, -- noqa: RF04
        (p.paid_at AT TIME ZONE z.tz)::date AS day, -- noqa: RF04
        NULL::bigint AS group_id
    FROM dependant_payments AS p CROSS JOIN zone AS z
    WHERE p.paid_at IS NOT NULL

    -- payment_open_spans: the payment's creation days; those of a deal's or a client's payments.
    UNION ALL
    SELECT
        g.change_id,
        g.captured_at,
        'payment_open_spans' AS summary, -- noqa: RF04
        (g.created_at AT TIME ZONE z.tz)::date AS day, -- noqa: RF04
        NULL::bigint AS group_id
    FROM logged AS g CROSS JOIN zone AS z
    WHERE g.source_table = 'crm.payments' AND g.created_at IS NOT NULL
    UNION ALL
    SELECT
        p.change_id,
        p.captured_at,
        'payment_open_spans' AS summary, -- noqa: RF04
        (p.created_at AT TIME ZONE z.tz)::date AS day, -- noqa: RF04
        NULL::bigint AS group_id
    FROM dependant_payments AS p CROSS JOIN zone AS z
    WHERE p.created_at IS NOT NULL

    -- stage_funnel_daily: the deal's creation days; the creation day of the deal of a stage history
    -- row; the creation days of a client's deals.
    UNION ALL
    SELECT
        g.change_id,
        g.captured_at,
        'stage_funnel_daily' AS summary, -- noqa: RF04
        (g.created_at AT TIME ZONE z.tz)::date AS day, -- noqa: RF04
        NULL::bigint AS group_id
    FROM logged AS g CROSS JOIN zone AS z
    WHERE g.source_table = 'crm.deals' AND g.created_at IS NOT NULL
    UNION ALL
    SELECT
        l.id,
        l.captured_at,
        'stage_funnel_daily' AS summary, -- noqa: RF04
        (d.created_at AT TIME ZONE z.tz)::date AS day, -- noqa: RF04
        NULL::bigint AS group_id
    FROM reports.change_log AS l
    CROSS JOIN zone AS z
    INNER JOIN crm.deals AS d ON l.deal_id = d.id
    WHERE l.source_table = 'crm.deal_stage_history' AND reports._is_reportable_instant(d.created_at)
    UNION ALL
    SELECT
        d.change_id,
        d.captured_at,
        'stage_funnel_daily' AS summary, -- noqa: RF04
        (d.created_at AT TIME ZONE z.tz)::date AS day, -- noqa: RF04
        NULL::bigint AS group_id
    FROM dependant_deals AS d CROSS JOIN zone AS z
    WHERE d.created_at IS NOT NULL

    -- audit_activity_daily: the event's days (occurred_at).
    UNION ALL
    SELECT
        g.change_id,
        g.captured_at,
        'audit_activity_daily' AS summary, -- noqa: RF04
        (g.created_at AT TIME ZONE z.tz)::date AS day, -- noqa: RF04
        NULL::bigint AS group_id
    FROM logged AS g CROSS JOIN zone AS z
    WHERE g.source_table = 'audit.events' AND g.created_at IS NOT NULL

    -- clients_created_daily: the client's creation days.
    UNION ALL
    SELECT
        g.change_id,
        g.captured_at,
        'clients_created_daily' AS summary, -- noqa: RF04
        (g.created_at AT TIME ZONE z.tz)::date AS day, -- noqa: RF04
        NULL::bigint AS group_id
    FROM logged AS g CROSS JOIN zone AS z
    WHERE g.source_table = 'crm.clients' AND g.created_at IS NOT NULL

    -- pipeline_open, whole: an open deal changed, a client's deals changed, a stage's probability.
    UNION ALL
    SELECT
        l.id,
        l.captured_at,
        'pipeline_open' AS summary, -- noqa: RF04
        NULL::date,
        NULL::bigint
    FROM reports.change_log AS l
    WHERE
        (l.source_table = 'crm.deals' AND l.open_deal)
        OR (l.source_table = 'crm.clients' AND l.dependants)
        OR (l.source_table = 'crm.pipeline_stages' AND l.operation <> 'TRUNCATE')

    -- A TRUNCATE: every summary reading the table, whole.
    UNION ALL
    SELECT
        l.id,
        l.captured_at,
        s.summary,
        NULL::date,
        NULL::bigint
    FROM reports.change_log AS l
    INNER JOIN reports.summary_sources AS s ON l.source_table = s.source_table
    WHERE l.operation = 'TRUNCATE'
) AS c;

COMMENT ON VIEW reports._change_days IS
'One row per (captured change in reports.change_log, summary, local day in reports.timezone(), group) that the
change invalidates: change_id (change_log.id), captured_at, summary, day, group_id; day NULL = the whole summary
(pipeline_open, and every summary reading a truncated table), never a day outside reports._reportable_days()
(an instant that is not reportable gives no row); group_id NULL = the whole day, else only the rows
of the day whose group_column (reports.summaries) equals it (deal_outcomes_daily: the client). A change may give the same (summary, day) more than once.
Dependants (a deal''s payments, a client''s deals, their payments and stage history) are looked up in the crm
tables as the caller''s snapshot sees them, deleted rows included (internal).';
