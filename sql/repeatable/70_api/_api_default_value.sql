-- reports._api_default_value(): a parameter default as a JSON value, when it is a constant.

CREATE OR REPLACE FUNCTION reports._api_default_value(p_expression text, p_type oid)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = reports, pg_temp
AS $$
    -- A constant default deparses (pg_get_function_arg_default) as NULL::type, a bare number,
    -- true/false or a quoted literal with a cast ('month'::text, '-1'::integer); anything else
    -- (CURRENT_DATE, (2 + 3), lower('A'::text)) is an expression and gives null.
    WITH constant AS (
        SELECT
            m.parts[1] AS bare,
            replace(m.parts[2], '''''', '''') AS quoted
        FROM pg_catalog.regexp_match(
            p_expression,
            '^(?:(NULL|true|false|-?[0-9]+(?:\.[0-9]+)?)|''((?:[^'']|'''')*)'')'
            || '(?:::[a-z_][a-z0-9_]*(?: [a-z_][a-z0-9_]*)*(?:\([0-9, ]+\))?(?:\[\])*)?$'
        ) AS m (parts)
    ),

    literal AS (
        SELECT
            t.typcategory AS category,
            CASE WHEN c.bare IS NULL THEN c.quoted WHEN c.bare <> 'NULL' THEN c.bare END AS value,
            c.bare = 'NULL' AS is_null
        FROM constant AS c
        INNER JOIN pg_catalog.pg_type AS t ON t.oid = p_type
    )

    SELECT
        CASE
            WHEN l.is_null THEN 'null'::jsonb
            -- Each cast sits behind a test of the text alone: PostgreSQL 18 plans this body with
            -- the argument values as constants and folds a branch's cast (so '...'::numeric of a
            -- text default raised 22P02) unless a constant-false test drops the branch first.
            -- The exponent's three digits at most keep the number inside numeric's range.
            WHEN l.category = 'N' THEN
                CASE
                    WHEN l.value ~ '^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,3})?$'
                        THEN pg_catalog.to_jsonb(l.value::numeric)
                END
            WHEN l.category = 'B' THEN
                CASE
                    WHEN l.value ~* '^(t|tr|tru|true|f|fa|fal|fals|false|y|ye|yes|n|no|on|of|off|1|0)$'
                        THEN pg_catalog.to_jsonb(l.value::boolean)
                END
            WHEN l.category <> 'A' THEN pg_catalog.to_jsonb(l.value)
        END
    FROM literal AS l
$$;

COMMENT ON FUNCTION reports._api_default_value(text, oid) IS
'The JSON value of a parameter default given as pg_get_function_arg_default() prints it, for parameter type
p_type (internal; used by reports.api_catalog). Constants only: NULL gives JSON null; a number or a literal of a
numeric type a JSON number (null when the literal is no plain or exponent number); of type boolean a JSON
boolean (null when the literal is no boolean spelling); of an array type null (not representable); of any
other type (text, date, ...) the literal as a JSON string. An expression (CURRENT_DATE, (2 + 3), a function
call) gives SQL null.';
