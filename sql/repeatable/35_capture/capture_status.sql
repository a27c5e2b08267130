-- Which capture triggers are installed, and whether a summary's capture is complete.
--
-- A capture trigger is a trigger on a source table that executes one of the reports._capture_*
-- functions (sql/capture/install.sql creates them; their names do not matter here). A source table
-- is captured when enabled AFTER triggers cover INSERT, UPDATE, DELETE and TRUNCATE.

CREATE OR REPLACE FUNCTION reports.capture_status()
RETURNS TABLE (
    source_table text,
    event text,
    trigger_name text,
    level text,
    enabled text,
    trigger_function text
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
    SELECT
        s.source_table,
        e.event,
        t.tgname::text,
        CASE WHEN t.oid IS NOT NULL THEN CASE WHEN t.tgtype & 1 = 1 THEN 'row' ELSE 'statement' END END,
        CASE t.tgenabled WHEN 'O' THEN 'origin' WHEN 'A' THEN 'always' WHEN 'R' THEN 'replica' WHEN 'D' THEN 'disabled' END,
        t.tgfoid::regproc::text
    FROM (SELECT DISTINCT ss.source_table FROM reports.summary_sources AS ss) AS s
    CROSS JOIN (
        VALUES ('INSERT', 4, 1), ('UPDATE', 16, 2), ('DELETE', 8, 3), ('TRUNCATE', 32, 4)
    ) AS e (event, bit, ord)
    LEFT JOIN (
        SELECT
            tr.oid,
            tr.tgrelid,
            tr.tgname,
            tr.tgtype,
            tr.tgenabled,
            tr.tgfoid
        FROM pg_catalog.pg_trigger AS tr
        INNER JOIN pg_catalog.pg_proc AS p ON tr.tgfoid = p.oid
        WHERE
            p.pronamespace = 'reports'::regnamespace
            AND p.proname LIKE '\_capture\_%'
            AND tr.tgtype & 2 = 0
    ) AS t ON t.tgrelid = pg_catalog.to_regclass(s.source_table) AND t.tgtype & e.bit = e.bit
    ORDER BY s.source_table, e.ord, t.tgname
$$;

COMMENT ON FUNCTION reports.capture_status() IS
'The change capture triggers of every source table the summaries read (reports.summary_sources): one row per
source table and event (INSERT, UPDATE, DELETE, TRUNCATE) and capture trigger, in table and event order.
- source_table: schema.table; event: the event the trigger fires on.
- trigger_name: the AFTER trigger executing a reports._capture_* function on that event; NULL when none is
  installed (then changes of that kind are not captured and the summaries reading the table are refreshed in
  full).
- level: statement (sql/capture/install.sql, with transition tables) or row (install_row_level.sql, for a
  logical replication subscriber); enabled: origin, always, replica or disabled (pg_trigger.tgenabled; a
  logical replication apply worker fires only always and replica triggers); trigger_function: its function.
A summary is refreshed incrementally while every event of every one of its source tables has an enabled
capture trigger (reports.refresh_status().mode).';

CREATE OR REPLACE FUNCTION reports._capture_fingerprints()
RETURNS TABLE (summary text, fingerprint text)
LANGUAGE plpgsql
STABLE
SET search_path = reports, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- One query for every summary: a refresh reads this once, not once per summary (about 0.4 ms a call).
    -- PL/pgSQL, so that a session plans it once (a SQL function with a SET clause is planned on every call).
    RETURN QUERY
    WITH
    capture_functions AS MATERIALIZED (
        SELECT array_agg(p.oid) AS oids
        FROM pg_catalog.pg_proc AS p
        WHERE p.pronamespace = 'reports'::regnamespace AND p.proname LIKE '\_capture\_%'
    ),

    source_tables AS (
        SELECT
            d.source_table,
            coalesce(bit_or(t.tgtype::integer) FILTER (WHERE t.tgenabled <> 'D') & 60 = 60, FALSE) AS complete,
            d.source_table || '=' || coalesce(string_agg(t.oid::text || ':' || t.xmin::text, ',' ORDER BY t.oid), '')
                AS fingerprint
        FROM (SELECT DISTINCT ss.source_table FROM reports.summary_sources AS ss) AS d
        LEFT JOIN pg_catalog.pg_trigger AS t
            ON
                t.tgrelid = pg_catalog.to_regclass(d.source_table)
                AND t.tgtype & 2 = 0
                AND t.tgfoid = ANY((SELECT f.oids FROM capture_functions AS f)::oid [])
        GROUP BY d.source_table
    )

    SELECT
        s.name,
        CASE WHEN bool_and(c.complete) THEN string_agg(c.fingerprint, ' ' ORDER BY c.source_table) END
    FROM reports.summaries AS s
    LEFT JOIN reports.summary_sources AS ss ON s.name = ss.summary
    LEFT JOIN source_tables AS c ON ss.source_table = c.source_table
    GROUP BY s.name;
END
$$;

COMMENT ON FUNCTION reports._capture_fingerprints() IS
'One row per summary of reports.summaries: its capture fingerprint. NULL unless every source table of the summary
(reports.summary_sources) has enabled capture triggers on INSERT, UPDATE, DELETE and TRUNCATE; then the oid and
row version (xmin) of each of those triggers. Any install, re-creation, ENABLE or DISABLE of one of them gives
another value: the refresh then rebuilds the summary in full, since changes made while a trigger was missing or
disabled were not captured (internal).';

CREATE OR REPLACE FUNCTION reports._capture_fingerprint(p_summary text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = reports, pg_temp
AS $$
BEGIN
    RETURN (SELECT f.fingerprint FROM reports._capture_fingerprints() AS f WHERE f.summary = p_summary);
END
$$;

COMMENT ON FUNCTION reports._capture_fingerprint(text) IS
'The capture fingerprint of summary p_summary (reports._capture_fingerprints()); NULL for an unknown summary
(internal).';
