-- Scoped reads of the summary tables: the ONE place where a report's scope restricts rows.
--
-- Every report reads the summaries only through these functions. p_owner_ids is the caller's
-- visible owner ids from reports._authorize() (null = every row, scope all); a row whose owner is
-- null (a payment or client without owner) is visible in scope all only. Day bounds are inclusive;
-- a null bound is open.

CREATE OR REPLACE FUNCTION reports._scoped_deal_outcomes(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.deal_outcomes_daily
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT o.*
    FROM reports.deal_outcomes_daily AS o
    WHERE
        o.day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND (p_owner_ids IS NULL OR o.owner_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_deal_outcomes(bigint[], date, date) IS
'Rows of reports.deal_outcomes_daily (won/lost deals by closing day) with day in p_from..p_to and a visible
deal owner (internal).';

CREATE OR REPLACE FUNCTION reports._scoped_payments_collected(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.payments_collected_daily
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT c.*
    FROM reports.payments_collected_daily AS c
    WHERE
        c.day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND (p_owner_ids IS NULL OR c.owner_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_payments_collected(bigint[], date, date) IS
'Rows of reports.payments_collected_daily (payments by paid day) with day in p_from..p_to and a visible
payment owner (internal).';

CREATE OR REPLACE FUNCTION reports._scoped_payments_created(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.payment_open_spans
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT s.*
    FROM reports.payment_open_spans AS s
    WHERE
        s.created_day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND (p_owner_ids IS NULL OR s.owner_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_payments_created(bigint[], date, date) IS
'Rows of reports.payment_open_spans (payments not failed) created on a day in p_from..p_to, with a visible
payment owner (internal).';

CREATE OR REPLACE FUNCTION reports._scoped_payments_outstanding(p_owner_ids bigint[], p_as_of date)
RETURNS SETOF reports.payment_open_spans
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT s.*
    FROM reports.payment_open_spans AS s
    WHERE
        s.open_span @> p_as_of
        AND (p_owner_ids IS NULL OR s.owner_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_payments_outstanding(bigint[], date) IS
'Rows of reports.payment_open_spans outstanding at the end of day p_as_of (created on or before it, not
failed, not paid by the end of it: open_span @> p_as_of), with a visible payment owner (internal).';

CREATE OR REPLACE FUNCTION reports._scoped_stage_funnel(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.stage_funnel_daily
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT f.*
    FROM reports.stage_funnel_daily AS f
    WHERE
        f.created_day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND (p_owner_ids IS NULL OR f.owner_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_stage_funnel(bigint[], date, date) IS
'Rows of reports.stage_funnel_daily for deals created on a day in p_from..p_to, with a visible deal owner
(internal).';

CREATE OR REPLACE FUNCTION reports._scoped_audit_activity(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.audit_activity_daily
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT a.*
    FROM reports.audit_activity_daily AS a
    WHERE
        a.day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND a.actor_id IS NOT NULL
        AND (p_owner_ids IS NULL OR a.actor_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_audit_activity(bigint[], date, date) IS
'Rows of reports.audit_activity_daily with day in p_from..p_to and a visible actor (internal). Events without
an actor are left out in every scope: the activity reports count users'' activity.';

CREATE OR REPLACE FUNCTION reports._scoped_clients_created(p_owner_ids bigint[], p_from date, p_to date)
RETURNS SETOF reports.clients_created_daily
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT c.*
    FROM reports.clients_created_daily AS c
    WHERE
        c.day BETWEEN coalesce(p_from, '-infinity') AND coalesce(p_to, 'infinity')
        AND (p_owner_ids IS NULL OR c.owner_id = ANY(p_owner_ids))
$$;

COMMENT ON FUNCTION reports._scoped_clients_created(bigint[], date, date) IS
'Rows of reports.clients_created_daily with day in p_from..p_to and a visible client owner (internal).';

CREATE OR REPLACE FUNCTION reports._scoped_pipeline_open(p_owner_ids bigint[])
RETURNS SETOF reports.pipeline_open
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT o.*
    FROM reports.pipeline_open AS o
    WHERE p_owner_ids IS NULL OR o.owner_id = ANY(p_owner_ids)
$$;

COMMENT ON FUNCTION reports._scoped_pipeline_open(bigint[]) IS
'Rows of reports.pipeline_open (open deals at the last refresh) with a visible deal owner (internal).';
