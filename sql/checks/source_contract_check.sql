-- Source contract check: what reports reads from the crm and audit schemas.
--
-- One read-only SELECT (creates nothing); run it as the role reports reads the sources with:
--     psql "$CRM_DATABASE_URL" -f sql/checks/source_contract_check.sql
-- (`reports check-sources` runs the same file). One row per problem, none when the contract holds:
--     object    schema, schema.table or schema.table.column
--     problem   missing schema | no USAGE on schema | missing table | no SELECT on table
--               | missing column | incompatible type | no SELECT on column
--     expected  what the contract requires
--     actual    what the database has
--
-- A column's type is compatible when it is one of the accepted types below (a domain counts
-- as its base type): a real CRM may use wider types, never narrower or different ones.
-- timestamptz must stay timestamptz: a timestamp without time zone has no defined instant.
-- docs/source-contract.md explains the contract.

WITH expected_columns (schema_name, table_name, column_name, expected_type) AS (
    VALUES
    ('crm', 'teams', 'id', 'bigint'),
    ('crm', 'teams', 'name', 'text'),
    ('crm', 'teams', 'head_user_id', 'bigint'),
    ('crm', 'users', 'id', 'bigint'),
    ('crm', 'users', 'full_name', 'text'),
    ('crm', 'users', 'email', 'text'),
    ('crm', 'users', 'team_id', 'bigint'),
    ('crm', 'users', 'role', 'text'),
    ('crm', 'users', 'is_active', 'boolean'),
    ('crm', 'users', 'created_at', 'timestamptz'),
    ('crm', 'clients', 'id', 'bigint'),
    ('crm', 'clients', 'name', 'text'),
    ('crm', 'clients', 'industry', 'text'),
    ('crm', 'clients', 'country', 'text'),
    ('crm', 'clients', 'source', 'text'),
    ('crm', 'clients', 'owner_id', 'bigint'),
    ('crm', 'clients', 'created_at', 'timestamptz'),
    ('crm', 'clients', 'updated_at', 'timestamptz'),
    ('crm', 'clients', 'deleted_at', 'timestamptz'),
    ('crm', 'pipeline_stages', 'code', 'text'),
    ('crm', 'pipeline_stages', 'name', 'text'),
    ('crm', 'pipeline_stages', 'position', 'integer'),
    ('crm', 'pipeline_stages', 'probability', 'numeric(4,3)'),
    ('crm', 'pipeline_stages', 'is_closed', 'boolean'),
    ('crm', 'deals', 'id', 'bigint'),
    ('crm', 'deals', 'client_id', 'bigint'),
    ('crm', 'deals', 'owner_id', 'bigint'),
    ('crm', 'deals', 'title', 'text'),
    ('crm', 'deals', 'stage', 'text'),
    ('crm', 'deals', 'status', 'text'),
    ('crm', 'deals', 'amount', 'numeric(14,2)'),
    ('crm', 'deals', 'currency', 'char(3)'),
    ('crm', 'deals', 'created_at', 'timestamptz'),
    ('crm', 'deals', 'updated_at', 'timestamptz'),
    ('crm', 'deals', 'closed_at', 'timestamptz'),
    ('crm', 'deals', 'expected_close_date', 'date'),
    ('crm', 'deals', 'lost_reason', 'text'),
    ('crm', 'deals', 'deleted_at', 'timestamptz'),
    ('crm', 'deal_stage_history', 'id', 'bigint'),
    ('crm', 'deal_stage_history', 'deal_id', 'bigint'),
    ('crm', 'deal_stage_history', 'from_stage', 'text'),
    ('crm', 'deal_stage_history', 'to_stage', 'text'),
    ('crm', 'deal_stage_history', 'changed_at', 'timestamptz'),
    ('crm', 'deal_stage_history', 'changed_by', 'bigint'),
    ('crm', 'payments', 'id', 'bigint'),
    ('crm', 'payments', 'deal_id', 'bigint'),
    ('crm', 'payments', 'client_id', 'bigint'),
    ('crm', 'payments', 'amount', 'numeric(14,2)'),
    ('crm', 'payments', 'currency', 'char(3)'),
    ('crm', 'payments', 'status', 'text'),
    ('crm', 'payments', 'due_date', 'date'),
    ('crm', 'payments', 'paid_at', 'timestamptz'),
    ('crm', 'payments', 'created_at', 'timestamptz'),
    ('crm', 'payments', 'updated_at', 'timestamptz'),
    ('audit', 'events', 'id', 'bigint'),
    ('audit', 'events', 'occurred_at', 'timestamptz'),
    ('audit', 'events', 'actor_id', 'bigint'),
    ('audit', 'events', 'service', 'text'),
    ('audit', 'events', 'action', 'text'),
    ('audit', 'events', 'entity_type', 'text'),
    ('audit', 'events', 'entity_id', 'text'),
    ('audit', 'events', 'payload', 'jsonb'),
    ('audit', 'events', 'request_id', 'uuid')
),

-- Which actual types each expected type accepts.
accepted_types (expected_type, accepted_type) AS (
    VALUES
    ('bigint', 'bigint'::regtype),
    ('bigint', 'numeric'),
    ('integer', 'integer'),
    ('integer', 'bigint'),
    ('text', 'text'),
    ('text', 'character varying'),
    ('char(3)', 'character'),
    ('char(3)', 'character varying'),
    ('char(3)', 'text'),
    ('numeric(4,3)', 'numeric'),
    ('numeric(14,2)', 'numeric'),
    ('timestamptz', 'timestamp with time zone'),
    ('boolean', 'boolean'),
    ('date', 'date'),
    ('jsonb', 'jsonb'),
    ('uuid', 'uuid')
),

expected_schemas AS (
    SELECT DISTINCT
        e.schema_name,
        n.oid AS schema_oid
    FROM expected_columns AS e
    LEFT JOIN pg_catalog.pg_namespace AS n ON e.schema_name = n.nspname
),

expected_tables AS (
    SELECT DISTINCT
        e.schema_name,
        e.table_name,
        s.schema_oid,
        c.oid AS table_oid
    FROM expected_columns AS e
    INNER JOIN expected_schemas AS s ON e.schema_name = s.schema_name
    LEFT JOIN pg_catalog.pg_class AS c
        ON
            s.schema_oid = c.relnamespace
            AND e.table_name = c.relname
            AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
),

actual_columns AS (
    SELECT
        e.schema_name,
        e.table_name,
        e.column_name,
        e.expected_type,
        t.table_oid,
        a.attnum,
        pg_catalog.format_type(a.atttypid, a.atttypmod) AS actual_type,
        -- a domain counts as its base type
        coalesce(nullif(ty.typbasetype, 0), a.atttypid) AS base_type
    FROM expected_columns AS e
    INNER JOIN expected_tables AS t
        ON e.schema_name = t.schema_name AND e.table_name = t.table_name
    LEFT JOIN pg_catalog.pg_attribute AS a
        ON
            t.table_oid = a.attrelid
            AND e.column_name = a.attname
            AND a.attnum > 0
            AND NOT a.attisdropped
    LEFT JOIN pg_catalog.pg_type AS ty ON a.atttypid = ty.oid
),

problems (object, problem, expected, actual) AS (
    SELECT
        s.schema_name,
        'missing schema',
        'schema ' || s.schema_name,
        'no such schema'
    FROM expected_schemas AS s
    WHERE s.schema_oid IS NULL

    UNION ALL
    SELECT
        s.schema_name,
        'no USAGE on schema',
        'USAGE for ' || current_user,
        'not granted'
    FROM expected_schemas AS s
    WHERE NOT pg_catalog.has_schema_privilege(s.schema_oid, 'USAGE')

    UNION ALL
    SELECT
        t.schema_name || '.' || t.table_name,
        'missing table',
        'table or view ' || t.schema_name || '.' || t.table_name,
        'no such table'
    FROM expected_tables AS t
    WHERE t.schema_oid IS NOT NULL AND t.table_oid IS NULL

    UNION ALL
    -- the whole table is unreadable: reported once instead of once per column
    SELECT
        t.schema_name || '.' || t.table_name,
        'no SELECT on table',
        'SELECT for ' || current_user,
        'not granted'
    FROM expected_tables AS t
    WHERE
        NOT pg_catalog.has_table_privilege(t.table_oid, 'SELECT')
        AND NOT EXISTS (
            SELECT
            FROM actual_columns AS a
            WHERE
                a.table_oid = t.table_oid
                AND pg_catalog.has_column_privilege(a.table_oid, a.attnum, 'SELECT')
        )

    UNION ALL
    SELECT
        a.schema_name || '.' || a.table_name || '.' || a.column_name,
        'missing column',
        a.column_name || ' ' || a.expected_type,
        'no such column'
    FROM actual_columns AS a
    WHERE a.table_oid IS NOT NULL AND a.attnum IS NULL

    UNION ALL
    SELECT
        a.schema_name || '.' || a.table_name || '.' || a.column_name,
        'incompatible type',
        a.expected_type || ' (accepted: ' || (
            SELECT string_agg(pg_catalog.format_type(x.accepted_type, NULL), ', ' ORDER BY x.accepted_type::text)
            FROM accepted_types AS x
            WHERE x.expected_type = a.expected_type
        ) || ')',
        a.actual_type
    FROM actual_columns AS a
    WHERE
        a.attnum IS NOT NULL
        AND NOT EXISTS (
            SELECT
            FROM accepted_types AS x
            WHERE x.expected_type = a.expected_type AND x.accepted_type = a.base_type
        )

    UNION ALL
    -- some columns of the table are readable, this one is not
    SELECT
        a.schema_name || '.' || a.table_name || '.' || a.column_name,
        'no SELECT on column',
        'SELECT for ' || current_user,
        'not granted'
    FROM actual_columns AS a
    WHERE
        a.attnum IS NOT NULL
        AND NOT pg_catalog.has_column_privilege(a.table_oid, a.attnum, 'SELECT')
        AND EXISTS (
            SELECT
            FROM actual_columns AS b
            WHERE
                b.table_oid = a.table_oid
                AND pg_catalog.has_column_privilege(b.table_oid, b.attnum, 'SELECT')
        )
)

SELECT
    p.object,
    p.problem,
    p.expected,
    p.actual
FROM problems AS p
ORDER BY p.object, p.problem;
