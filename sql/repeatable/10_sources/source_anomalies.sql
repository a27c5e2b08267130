-- The source values that the adapters leave out: one row per row and column, for the CRM's owners to fix.
-- A SECURITY DEFINER function rather than a view: a view's function calls are checked against its reader, and
-- the rule's helpers (sql/repeatable/10_sources/_reportable.sql) are granted to nobody.

DROP VIEW IF EXISTS reports.source_anomalies;

CREATE OR REPLACE FUNCTION reports.source_anomalies()
RETURNS TABLE (source_table text, id bigint, column_name text, value text, problem text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
    WITH source_values AS (
        SELECT
            'crm.clients' AS source_table,
            c.id,
            v.column_name,
            v.instant,
            NULL::date AS day -- noqa: RF04
        FROM crm.clients AS c
        CROSS JOIN LATERAL (VALUES ('created_at', c.created_at)) AS v (column_name, instant)
        WHERE c.deleted_at IS NULL
        UNION ALL
        SELECT
            'crm.deals' AS source_table,
            d.id,
            v.column_name,
            v.instant,
            NULL::date AS day -- noqa: RF04
        FROM crm.deals AS d
        CROSS JOIN LATERAL (VALUES ('created_at', d.created_at), ('closed_at', d.closed_at)) AS v (column_name, instant)
        WHERE d.deleted_at IS NULL
        UNION ALL
        SELECT
            'crm.deal_stage_history' AS source_table,
            h.id,
            'changed_at' AS column_name,
            h.changed_at AS instant,
            NULL::date AS day -- noqa: RF04
        FROM crm.deal_stage_history AS h
        UNION ALL
        SELECT
            'crm.payments' AS source_table,
            p.id,
            v.column_name,
            v.instant,
            v.day
        FROM crm.payments AS p
        CROSS JOIN
            LATERAL (
                VALUES
                ('created_at', p.created_at, NULL::date),
                ('paid_at', p.paid_at, NULL::date),
                ('due_date', NULL::timestamptz, p.due_date)
            ) AS v (column_name, instant, day)
        UNION ALL
        SELECT
            'audit.events' AS source_table,
            e.id,
            'occurred_at' AS column_name,
            e.occurred_at AS instant,
            NULL::date AS day -- noqa: RF04
        FROM audit.events AS e
    )

    SELECT
        s.source_table,
        s.id,
        s.column_name,
        coalesce(s.instant::text, s.day::text) AS value, -- noqa: RF04
        CASE
            WHEN NOT isfinite(s.instant) OR NOT isfinite(s.day) THEN 'not finite'
            ELSE 'outside the reportable days'
        END AS problem
    FROM source_values AS s
    WHERE NOT reports._is_reportable_instant(s.instant) OR NOT reports._is_reportable_date(s.day)$$;

COMMENT ON FUNCTION reports.source_anomalies() IS
'The source values that no report can place in a day, one row per source row and column: source_table
(crm.clients, crm.deals, crm.deal_stage_history, crm.payments, audit.events), id (the row''s primary key),
column_name, value (as text, in the session''s DateStyle and TimeZone) and problem (not finite: infinity or
-infinity; outside the reportable days: an instant before 0001-01-02 00:00 UTC or from 9999-12-31 00:00 UTC
on, a date outside 0001-01-01..9999-12-31). The adapters (reports.src_*) leave each such row out of every
summary and report, with what depends on it: the deals and payments of a client, the stage history and
payments of a deal. It comes back on the next refresh once its value is fixed. Soft-deleted clients and deals
are not listed (they are left out anyway). Computed on every read: a scan of every source table.';
