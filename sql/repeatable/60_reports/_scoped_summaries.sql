-- Scoped reads of the summary tables: the ONE place where a report's scope restricts rows, and where
-- a real-time report reads live rows.
--
-- They are SQL functions without a SET clause (their bodies qualify every name), so PostgreSQL inlines
-- them into the calling report's query: the report's plan (a custom plan: the reports run with
-- plan_cache_mode = force_custom_plan) sees the caller's owner ids and days as constants, uses the
-- (owner_id, day) indexes for a narrow scope and drops the owner filter for scope all.
--
-- Every report reads the summaries only through these functions. p_owner_ids is the caller's
-- visible owner ids from reports._authorize() (null = every row, scope all); a row whose owner is
-- null (a payment or client without owner) is visible in scope all only. Day bounds are inclusive;
-- a null bound is open.
--
-- Real-time reports (docs/architecture.md, "Real-time reports"): off by default. A caller who runs
-- SET LOCAL reports.realtime = on (or set_config('reports.realtime', 'on', true)) in its transaction
-- gets, for the days that captured changes invalidated and no refresh has recomputed yet
-- (reports._realtime_days), rows computed live by the summary's compute function instead of the
-- stored ones, and for pipeline_open the live snapshot: every report then equals a full recompute at
-- the caller's snapshot. Without change capture (or while a full refresh is due) every day is live.

CREATE OR REPLACE FUNCTION reports._live_days(p_summary text, p_from date, p_to date)
RETURNS datemultirange
LANGUAGE sql
STABLE
AS $$
    SELECT
        CASE
            WHEN p_from > p_to THEN '{}'::datemultirange
            ELSE reports._realtime_days(p_summary) * datemultirange(daterange(p_from, p_to, '[]'))
        END
$$;

COMMENT ON FUNCTION reports._live_days(text, date, date) IS
'The days in p_from..p_to (inclusive, null = open) that the readers of summary p_summary compute live: empty
unless real-time reports are on (reports._realtime_days) (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_deal_outcomes(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.deal_outcomes_daily
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('deal_outcomes_daily', p_from, p_to) AS days
    )

    SELECT o.*
    FROM reports.deal_outcomes_daily AS o
    CROSS JOIN live
    WHERE
        o.day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND (p_owner_ids IS NULL OR o.owner_id = ANY(p_owner_ids))
        AND NOT o.day <@ live.days
    UNION ALL
    SELECT c.*
    FROM live
    CROSS JOIN LATERAL reports._compute_ranges(live.days) AS r (days)
    CROSS JOIN LATERAL reports.compute_deal_outcomes_daily(r.days) AS c
    WHERE
        c.day <@ live.days
        AND (p_owner_ids IS NULL OR c.owner_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_deal_outcomes(bigint[], date, date) IS
'Rows of reports.deal_outcomes_daily (won/lost deals by closing day) with day in p_from..p_to and a visible
deal owner; with reports.realtime on, live rows for the days with pending changes (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_payments_collected(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.payments_collected_daily
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('payments_collected_daily', p_from, p_to) AS days
    )

    SELECT c.*
    FROM reports.payments_collected_daily AS c
    CROSS JOIN live
    WHERE
        c.day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND (p_owner_ids IS NULL OR c.owner_id = ANY(p_owner_ids))
        AND NOT c.day <@ live.days
    UNION ALL
    SELECT c.*
    FROM live
    CROSS JOIN LATERAL reports._compute_ranges(live.days) AS r (days)
    CROSS JOIN LATERAL reports.compute_payments_collected_daily(r.days) AS c
    WHERE
        c.day <@ live.days
        AND (p_owner_ids IS NULL OR c.owner_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_payments_collected(bigint[], date, date) IS
'Rows of reports.payments_collected_daily (payments by paid day) with day in p_from..p_to and a visible
payment owner; with reports.realtime on, live rows for the days with pending changes (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._live_payment_open_spans(p_days datemultirange)
RETURNS SETOF reports.payment_open_spans
LANGUAGE sql
STABLE
AS $$
    SELECT
        c.created_day,
        c.owner_id,
        c.due_date,
        c.paid_day,
        c.payments,
        c.amount,
        -- as the generated column reports.payment_open_spans.open_span (V0010)
        daterange(c.created_day, CASE WHEN c.paid_day < c.created_day THEN c.created_day ELSE c.paid_day END)
    FROM reports._compute_ranges(p_days) AS r (days)
    CROSS JOIN LATERAL reports.compute_payment_open_spans(r.days) AS c
    WHERE c.created_day <@ p_days
$$;

COMMENT ON FUNCTION reports._live_payment_open_spans(datemultirange) IS
'Rows of reports.payment_open_spans for the creation days p_days computed live from the sources, with
open_span as the table generates it (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_payments_created(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.payment_open_spans
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('payment_open_spans', p_from, p_to) AS days
    )

    SELECT s.*
    FROM reports.payment_open_spans AS s
    CROSS JOIN live
    WHERE
        s.created_day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND (p_owner_ids IS NULL OR s.owner_id = ANY(p_owner_ids))
        AND NOT s.created_day <@ live.days
    UNION ALL
    SELECT s.*
    FROM live
    CROSS JOIN LATERAL reports._live_payment_open_spans(live.days) AS s
    WHERE p_owner_ids IS NULL OR s.owner_id = ANY(p_owner_ids)
$$;

COMMENT ON FUNCTION reports._scoped_payments_created(bigint[], date, date) IS
'Rows of reports.payment_open_spans (payments not failed) created on a day in p_from..p_to, with a visible
payment owner; with reports.realtime on, live rows for the days with pending changes (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_payments_outstanding(p_owner_ids bigint[], p_as_of date)
RETURNS SETOF reports.payment_open_spans
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('payment_open_spans', NULL, p_as_of) AS days
    )

    SELECT s.*
    FROM reports.payment_open_spans AS s
    CROSS JOIN live
    WHERE
        s.open_span @> p_as_of
        AND (p_owner_ids IS NULL OR s.owner_id = ANY(p_owner_ids))
        AND NOT s.created_day <@ live.days
    UNION ALL
    SELECT s.*
    FROM live
    CROSS JOIN LATERAL reports._live_payment_open_spans(live.days) AS s
    WHERE
        s.open_span @> p_as_of
        AND (p_owner_ids IS NULL OR s.owner_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_payments_outstanding(bigint[], date) IS
'Rows of reports.payment_open_spans outstanding at the end of day p_as_of (created on or before it, not
failed, not paid by the end of it: open_span @> p_as_of), with a visible payment owner; with reports.realtime
on, live rows for the creation days with pending changes (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_stage_funnel(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.stage_funnel_daily
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('stage_funnel_daily', p_from, p_to) AS days
    )

    SELECT f.*
    FROM reports.stage_funnel_daily AS f
    CROSS JOIN live
    WHERE
        f.created_day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND (p_owner_ids IS NULL OR f.owner_id = ANY(p_owner_ids))
        AND NOT f.created_day <@ live.days
    UNION ALL
    SELECT f.*
    FROM live
    CROSS JOIN LATERAL reports._compute_ranges(live.days) AS r (days)
    CROSS JOIN LATERAL reports.compute_stage_funnel_daily(r.days) AS f
    WHERE
        f.created_day <@ live.days
        AND (p_owner_ids IS NULL OR f.owner_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_stage_funnel(bigint[], date, date) IS
'Rows of reports.stage_funnel_daily for deals created on a day in p_from..p_to, with a visible deal owner; with
reports.realtime on, live rows for the days with pending changes (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_audit_activity(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.audit_activity_daily
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('audit_activity_daily', p_from, p_to) AS days
    )

    SELECT a.*
    FROM reports.audit_activity_daily AS a
    CROSS JOIN live
    WHERE
        a.day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND a.actor_id IS NOT NULL
        AND (p_owner_ids IS NULL OR a.actor_id = ANY(p_owner_ids))
        AND NOT a.day <@ live.days
    UNION ALL
    SELECT a.*
    FROM live
    CROSS JOIN LATERAL reports._compute_ranges(live.days) AS r (days)
    CROSS JOIN LATERAL reports.compute_audit_activity_daily(r.days) AS a
    WHERE
        a.day <@ live.days
        AND a.actor_id IS NOT NULL
        AND (p_owner_ids IS NULL OR a.actor_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_audit_activity(bigint[], date, date) IS
'Rows of reports.audit_activity_daily with day in p_from..p_to and a visible actor; with reports.realtime on,
live rows for the days with pending changes. Events without an actor are left out in every scope: the
activity reports count users'' activity (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_clients_created(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.clients_created_daily
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._live_days('clients_created_daily', p_from, p_to) AS days
    )

    SELECT c.*
    FROM reports.clients_created_daily AS c
    CROSS JOIN live
    WHERE
        c.day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND (p_owner_ids IS NULL OR c.owner_id = ANY(p_owner_ids))
        AND NOT c.day <@ live.days
    UNION ALL
    SELECT c.*
    FROM live
    CROSS JOIN LATERAL reports._compute_ranges(live.days) AS r (days)
    CROSS JOIN LATERAL reports.compute_clients_created_daily(r.days) AS c
    WHERE
        c.day <@ live.days
        AND (p_owner_ids IS NULL OR c.owner_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_clients_created(bigint[], date, date) IS
'Rows of reports.clients_created_daily with day in p_from..p_to and a visible client owner; with
reports.realtime on, live rows for the days with pending changes (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._scoped_pipeline_open(p_owner_ids bigint[])
RETURNS SETOF reports.pipeline_open
LANGUAGE sql
STABLE
AS $$
    WITH live AS MATERIALIZED (
        SELECT reports._realtime() AS now_live
    )

    SELECT o.*
    FROM reports.pipeline_open AS o
    CROSS JOIN live
    WHERE
        NOT live.now_live
        AND (p_owner_ids IS NULL OR o.owner_id = ANY(p_owner_ids))
    UNION ALL
    SELECT o.*
    FROM live
    CROSS JOIN LATERAL reports.compute_pipeline_open('(,)'::daterange) AS o
    WHERE
        live.now_live
        AND (p_owner_ids IS NULL OR o.owner_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_pipeline_open(bigint[]) IS
'Rows of reports.pipeline_open (open deals at the last refresh) with a visible deal owner; with reports.realtime
on, the open deals now, computed live (ages as of now()) (internal, inlined)';
