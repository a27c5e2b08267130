-- reports.api_catalog(): the report functions the HTTP service exposes, with their typed contract.
-- Exposed = a set-returning function of schema reports, not _-prefixed, that reports_reader may
-- execute (sql/repeatable/90_grants/grants.sql). Refresh functions (reports_refresher),
-- reports.set_caller and these api_* functions (reports_api) are therefore never exposed.
-- SECURITY DEFINER only to read the registry reports.summaries (for the summaries column); the rest
-- is pg_catalog, readable by anyone.

CREATE OR REPLACE FUNCTION reports.api_catalog()
RETURNS TABLE (name text, comment text, parameters jsonb, columns jsonb, summaries text[], problem text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
    WITH RECURSIVE
    exposed AS (
        SELECT
            p.oid,
            p.proname::text AS name,
            p.prorettype,
            pg_catalog.count(*) OVER (PARTITION BY p.proname) AS overloads
        FROM pg_catalog.pg_proc AS p
        WHERE
            p.pronamespace = 'reports'::regnamespace
            AND p.prokind = 'f'
            AND p.proretset
            AND NOT starts_with(p.proname::text, '_')
            AND pg_catalog.has_function_privilege('reports_reader', p.oid, 'EXECUTE')
    ),

    args AS (
        SELECT
            e.oid,
            a.ordinal,
            nullif(a.name, '') AS name,
            a.type_oid,
            a.mode,
            a.mode IN ('i', 'b', 'v') AS is_input
        FROM exposed AS e
        INNER JOIN pg_catalog.pg_proc AS p ON e.oid = p.oid
        CROSS JOIN LATERAL unnest(
            coalesce(p.proallargtypes, p.proargtypes::oid []),
            coalesce(p.proargmodes, pg_catalog.array_fill('i'::"char", ARRAY[p.pronargs]::integer [])),
            p.proargnames
        ) WITH ORDINALITY AS a (type_oid, mode, name, ordinal)
    ),

    inputs AS (
        SELECT
            a.oid,
            a.name,
            a.mode,
            a.type_oid,
            pg_catalog.pg_get_function_arg_default(a.oid, a.ordinal::integer) AS default_expression,
            pg_catalog.row_number() OVER (PARTITION BY a.oid ORDER BY a.ordinal) AS position
        FROM args AS a
        WHERE a.is_input
    ),

    parameters AS (
        SELECT
            i.oid,
            pg_catalog.jsonb_agg(
                pg_catalog.jsonb_build_object(
                    'name', i.name,
                    'type', pg_catalog.format_type(i.type_oid, NULL),
                    'has_default', i.default_expression IS NOT NULL,
                    'default', reports._api_default_value(i.default_expression, i.type_oid),
                    'default_expression', i.default_expression,
                    'position', i.position
                )
                ORDER BY i.position
            ) AS parameters,
            pg_catalog.string_agg(
                CASE
                    WHEN i.name IS NULL THEN pg_catalog.format('parameter %s has no name', i.position)
                    WHEN i.mode = 'v' THEN pg_catalog.format('parameter %s is VARIADIC', i.name)
                END,
                '; '
            ) AS problem
        FROM inputs AS i
        GROUP BY i.oid
    ),

    out_columns AS (
        SELECT
            a.oid,
            pg_catalog.jsonb_agg(
                pg_catalog.jsonb_build_object('name', a.name, 'type', pg_catalog.format_type(a.type_oid, NULL))
                ORDER BY a.ordinal
            ) AS columns
        FROM args AS a
        WHERE a.mode IN ('o', 'b', 't')
        GROUP BY a.oid
    ),

    -- Without OUT/TABLE columns: the attributes of a composite result type, else one column named
    -- after the function (as SELECT * FROM f() names it).
    result_columns AS (
        SELECT
            e.oid,
            coalesce(
                o.columns,
                (
                    SELECT
                        pg_catalog.jsonb_agg(
                            pg_catalog.jsonb_build_object(
                                'name', att.attname, 'type', pg_catalog.format_type(att.atttypid, att.atttypmod)
                            )
                            ORDER BY att.attnum
                        )
                    FROM pg_catalog.pg_attribute AS att
                    WHERE att.attrelid = t.typrelid AND att.attnum > 0 AND NOT att.attisdropped
                ),
                pg_catalog.jsonb_build_array(
                    pg_catalog.jsonb_build_object('name', e.name, 'type', pg_catalog.format_type(e.prorettype, NULL))
                )
            ) AS columns,
            o.columns IS NULL AND t.typtype = 'p' AS untyped
        FROM exposed AS e
        INNER JOIN pg_catalog.pg_type AS t ON e.prorettype = t.oid
        LEFT JOIN out_columns AS o ON e.oid = o.oid
    ),

    -- The functions each exposed function calls, transitively: reports.<name> in their bodies.
    reach (root, fn) AS (
        SELECT
            e.oid,
            e.oid
        FROM exposed AS e
        UNION
        SELECT
            r.root,
            callee.oid
        FROM reach AS r
        INNER JOIN pg_catalog.pg_proc AS caller ON r.fn = caller.oid
        CROSS JOIN LATERAL pg_catalog.regexp_matches(caller.prosrc, 'reports\.([a-z_][a-z0-9_]*)', 'g') AS m (names)
        INNER JOIN pg_catalog.pg_proc AS callee
            ON callee.pronamespace = 'reports'::regnamespace AND m.names[1] = callee.proname::text
    ),

    reads AS (
        SELECT
            r.root AS oid,
            pg_catalog.array_agg(DISTINCT s.name ORDER BY s.name) AS summaries
        FROM reach AS r
        INNER JOIN pg_catalog.pg_proc AS p ON r.fn = p.oid
        CROSS JOIN LATERAL pg_catalog.regexp_matches(p.prosrc, 'reports\.([a-z_][a-z0-9_]*)', 'g') AS m (names)
        INNER JOIN reports.summaries AS s ON m.names[1] = s.name
        GROUP BY r.root
    )

    SELECT
        e.name,
        pg_catalog.obj_description(e.oid, 'pg_proc'),
        coalesce(p.parameters, '[]'::jsonb),
        c.columns,
        coalesce(r.summaries, '{}'::text []),
        nullif(
            concat_ws(
                '; ',
                CASE WHEN e.overloads > 1 THEN pg_catalog.format('%s signatures share the name', e.overloads) END,
                p.problem,
                CASE WHEN c.untyped THEN 'returns SETOF record without OUT or TABLE columns' END
            ),
            ''
        )
    FROM exposed AS e
    INNER JOIN result_columns AS c ON e.oid = c.oid
    LEFT JOIN parameters AS p ON e.oid = p.oid
    LEFT JOIN reads AS r ON e.oid = r.oid
    ORDER BY e.name, e.oid
$$;

COMMENT ON FUNCTION reports.api_catalog() IS
'The report functions exposed over HTTP and their contract, read from pg_catalog (granted to reports_api only).
Exposed: every set-returning function of schema reports whose name does not start with _ and that role
reports_reader may EXECUTE; so granting EXECUTE to reports_reader (90_grants/grants.sql) is what exposes a report.
One row per exposed function, by name:
- name: the function name, which is the endpoint (GET /reports/<name>).
- comment: its COMMENT (first line: summary; the rest: the exact definition).
- parameters: its input parameters in order, as [{name, type (format_type), has_default, default (the default
  as JSON when it is a constant, see reports._api_default_value; else null), default_expression (as
  pg_get_function_arg_default prints it; null without default), position (1-based among the inputs)}].
- columns: its result columns in order, as [{name, type}] (OUT/TABLE columns, else the attributes of its
  composite result type, else one column named after the function).
- summaries: the summary tables (reports.summaries) it reads, directly or through the reports functions it
  calls, found by the schema-qualified names reports.<name> in the function bodies; their generations
  (reports.api_data_versions) are the version of the report''s data.
- problem: why the function cannot be called by parameter name over HTTP (overloaded name, unnamed or
  VARIADIC parameter, SETOF record without columns); null when it can. The service skips such rows and logs
  the problem.';
