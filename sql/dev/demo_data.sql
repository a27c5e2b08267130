-- Deterministic demo data for the dev/test source contract (sql/dev/source_contract.sql).
--
-- NEVER applied to a real database. Creates schema reports_demo with the generator:
--
--     SELECT * FROM reports_demo.generate(p_scale => 1, p_seed => 42, p_end => DATE '2026-10-31');
--
-- One unit of scale = 1,000 deals. Per unit (reports_demo.scale_unit() returns the same numbers):
--     crm.teams                   2  exact     each with a head
--     crm.users                  20  exact     2 heads, 1 admin, 1 analyst, 16 managers (2 inactive)
--     crm.clients               300  exact     industries, countries, lead sources; ~4 % soft-deleted
--     crm.deals               1,000  exact     ~3 years up to p_end; ~19 % won, ~67 % lost, ~14 % open; ~2 % deleted
--     crm.deal_stage_history ~3,300  expected  one row per stage a deal entered
--     crm.payments             ~320  expected  won deals in 1, 2 or 4 installments, plus 15 without a deal
--     audit.events           ~5,400  expected  deal, client, payment and auth events
-- crm.pipeline_stages keeps its 6 default rows at every scale.
--
-- Everything is computed inside PostgreSQL by a few set-based INSERT ... SELECT statements over
-- generate_series. Every pseudo-random value is reports_demo.rnd(seed, id, salt): a hash of
-- (seed, row id, purpose), so the same (scale, seed, end date) gives identical rows whatever
-- the plan, the session or the machine's load. Ids are explicit (the identity sequences are
-- moved past them afterwards). Timestamps are computed in UTC. Stage changes, closings and
-- payments happen in office hours (07:00-21:30 UTC, which hold no midnight of the zones below);
-- then 12 % of closing and payment times (ids 0, 1 and 2 modulo 25) are moved to within 30
-- minutes of the next midnight in UTC, Europe/Berlin and America/New_York respectively (4 % per
-- zone), so that day boundaries in every reporting time zone are exercised deliberately.

CREATE SCHEMA IF NOT EXISTS reports_demo;

COMMENT ON SCHEMA reports_demo IS
'reports dev demo data generator (sql/dev/demo_data.sql); never installed in production';

-- Small helpers, written as SQL-standard function bodies (RETURN ...): PostgreSQL inlines
-- them into the calling query, which a SET search_path clause would prevent (and make the
-- generation several times slower); their bodies are bound when created, so they do not
-- depend on the caller's search_path either. between_ts and near_midnight are STABLE only
-- because timestamptz + interval is (they add whole seconds, independent of TimeZone).

-- Pseudo-random number in [0, 1) for (seed, key, salt): the low 52 bits of a 64-bit hash,
-- divided by 2^52 (exact in double precision, so never 1).
CREATE OR REPLACE FUNCTION reports_demo.rnd(p_seed integer, p_key bigint, p_salt text)
RETURNS double precision
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN (hashint8extended(p_key, hashtextextended(p_salt, p_seed)) & 4503599627370495)::double precision
/ 4503599627370496;

COMMENT ON FUNCTION reports_demo.rnd(integer, bigint, text) IS
'Deterministic pseudo-random number in [0, 1): a hash of (seed, key, salt); the same inputs always give the same value';

-- Element of p_items chosen by p_r in [0, 1).
CREATE OR REPLACE FUNCTION reports_demo.pick(p_r double precision, p_items text[])
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN p_items[1 + floor(p_r * cardinality(p_items))::integer];

COMMENT ON FUNCTION reports_demo.pick(double precision, text[]) IS
'The element of p_items that p_r (in [0, 1)) falls on; used to draw from weighted lists';

-- Seconds p_r (in [0, 1)) of the way through [p_from, p_to), rounded down to a whole second.
CREATE OR REPLACE FUNCTION reports_demo.between_ts(p_r double precision, p_from timestamptz, p_to timestamptz)
RETURNS timestamptz
LANGUAGE sql
STABLE
PARALLEL SAFE
RETURN p_from + make_interval(secs => floor(p_r * date_part('epoch', p_to - p_from)));

COMMENT ON FUNCTION reports_demo.between_ts(double precision, timestamptz, timestamptz) IS
'The whole second p_r (in [0, 1)) of the way from p_from to p_to';

-- A time on p_day between 07:00 and 21:30 UTC (European and American office hours), p_r of
-- the way through; stage changes, closings and payments happen then, so that the times near
-- midnight are the deliberate ones (see reports_demo.near_midnight).
CREATE OR REPLACE FUNCTION reports_demo.business_time(p_day date, p_r double precision)
RETURNS timestamptz
LANGUAGE sql
STABLE
PARALLEL SAFE
RETURN ((p_day + time '07:00')::timestamp AT TIME ZONE 'UTC') + make_interval(secs => floor(p_r * 52200));

COMMENT ON FUNCTION reports_demo.business_time(date, double precision) IS
'A whole second on p_day between 07:00 and 21:30 UTC, p_r (in [0, 1)) of the way through';

-- A uuid made of two 64-bit hashes of (seed, key): request ids that look random but repeat.
CREATE OR REPLACE FUNCTION reports_demo.request_uuid(p_seed integer, p_key bigint)
RETURNS uuid
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN encode(
    int8send(hashint8extended(p_key, hashtextextended('request_uuid.high', p_seed)))
    || int8send(hashint8extended(p_key, hashtextextended('request_uuid.low', p_seed))),
    'hex'
)::uuid;

COMMENT ON FUNCTION reports_demo.request_uuid(integer, bigint) IS
'Deterministic uuid for (seed, key), built from two 64-bit hashes (cheaper than md5)';

-- The midnight (in p_zone) that follows p_ts, moved by p_offset_seconds (within +/- 1800).
CREATE OR REPLACE FUNCTION reports_demo.near_midnight(p_ts timestamptz, p_zone text, p_offset_seconds integer)
RETURNS timestamptz
LANGUAGE sql
STABLE
PARALLEL SAFE
RETURN ((date_trunc('day', p_ts AT TIME ZONE p_zone) + interval '1 day') AT TIME ZONE p_zone)
+ make_interval(secs => p_offset_seconds);

COMMENT ON FUNCTION reports_demo.near_midnight(timestamptz, text, integer) IS
'The next midnight after p_ts in time zone p_zone, shifted by p_offset_seconds';

-- Users come in blocks of 20 (one block per unit of scale): positions 1 and 2 are the heads
-- of the block's two teams, 3 an admin, 4 an analyst, 5-12 managers of the first team and
-- 13-20 of the second; positions 11 and 19 are inactive.
CREATE OR REPLACE FUNCTION reports_demo.sales_user_id(p_scale integer, p_r double precision)
RETURNS bigint
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN 20 * (floor(p_r * p_scale * 18)::bigint / 18)
+ (ARRAY[1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])[
    floor(p_r * p_scale * 18)::integer % 18 + 1
];

COMMENT ON FUNCTION reports_demo.sales_user_id(integer, double precision) IS
'A user who sells (a manager or a team head), chosen by p_r in [0, 1) among the 18 per unit of scale';

CREATE OR REPLACE FUNCTION reports_demo.head_of(p_user_id bigint)
RETURNS bigint
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN 20 * ((p_user_id - 1) / 20)
+ CASE WHEN (p_user_id - 1) % 20 + 1 IN (2, 13, 14, 15, 16, 17, 18, 19, 20) THEN 2 ELSE 1 END;

COMMENT ON FUNCTION reports_demo.head_of(bigint) IS
'The head of the team of a demo user (by the block layout of reports_demo.generate)';

CREATE OR REPLACE FUNCTION reports_demo.scale_unit()
RETURNS TABLE (entity text, rows_per_unit numeric, exact boolean, note text)
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = reports_demo, pg_temp
AS $$
    VALUES
    ('crm.teams', 2, TRUE, 'each with a head'),
    ('crm.users', 20, TRUE, 'every role; 2 heads, 1 admin, 1 analyst, 16 managers (2 inactive)'),
    ('crm.clients', 300, TRUE, 'about 4 % soft-deleted'),
    ('crm.deals', 1000, TRUE, 'over about 3 years up to the end date; about 2 % soft-deleted'),
    ('crm.deal_stage_history', 3300, FALSE, 'one row per stage entered'),
    ('crm.payments', 320, FALSE, 'won deals in 1, 2 or 4 installments, plus some without a deal'),
    ('audit.events', 5400, FALSE, 'deal, client, payment and auth events')
$$;

COMMENT ON FUNCTION reports_demo.scale_unit() IS
'Rows per unit of scale of reports_demo.generate: exact counts, or expected ones (exact false)';

CREATE OR REPLACE FUNCTION reports_demo.row_counts()
RETURNS TABLE (table_name text, row_count bigint)
LANGUAGE sql
STABLE
SET search_path = reports_demo, pg_temp
AS $$
    SELECT 'crm.teams', count(*) FROM crm.teams
    UNION ALL SELECT 'crm.users', count(*) FROM crm.users
    UNION ALL SELECT 'crm.clients', count(*) FROM crm.clients
    UNION ALL SELECT 'crm.pipeline_stages', count(*) FROM crm.pipeline_stages
    UNION ALL SELECT 'crm.deals', count(*) FROM crm.deals
    UNION ALL SELECT 'crm.deal_stage_history', count(*) FROM crm.deal_stage_history
    UNION ALL SELECT 'crm.payments', count(*) FROM crm.payments
    UNION ALL SELECT 'audit.events', count(*) FROM audit.events
$$;

COMMENT ON FUNCTION reports_demo.row_counts() IS
'Row count of every table of the source contract';

-- The tables the generator fills, in load order.
CREATE OR REPLACE FUNCTION reports_demo.loaded_tables()
RETURNS regclass[]
LANGUAGE sql
STABLE
SET search_path = reports_demo, pg_temp
AS $$
    SELECT ARRAY[
        'crm.teams', 'crm.users', 'crm.clients', 'crm.deals',
        'crm.deal_stage_history', 'crm.payments', 'audit.events'
    ]::regclass[]
$$;

COMMENT ON FUNCTION reports_demo.loaded_tables() IS
'The tables reports_demo.generate fills (reports_demo.clear empties them)';

CREATE OR REPLACE FUNCTION reports_demo.assert_dev_schemas()
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = reports_demo, pg_temp
AS $$
DECLARE
    v_schema text;
BEGIN
    FOR v_schema IN
        SELECT s.name
        FROM unnest(ARRAY['crm', 'audit']) AS s (name)
        LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname = s.name
        WHERE coalesce(pg_catalog.obj_description(n.oid, 'pg_namespace'), '') NOT LIKE 'reports dev source contract%'
    LOOP
        RAISE EXCEPTION 'schema % was not created by the reports dev source contract (no marker comment)', v_schema
            USING HINT = 'demo data is only ever written to a throwaway database set up by sql/dev/source_contract.sql';
    END LOOP;
END
$$;

COMMENT ON FUNCTION reports_demo.assert_dev_schemas() IS
'Raises unless schemas crm and audit carry the marker comment of sql/dev/source_contract.sql';

CREATE OR REPLACE FUNCTION reports_demo.clear()
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = reports_demo, pg_temp
AS $$
BEGIN
    PERFORM reports_demo.assert_dev_schemas();
    -- the tables of reports_demo.loaded_tables()
    TRUNCATE crm.teams, crm.users, crm.clients, crm.deals, crm.deal_stage_history, crm.payments, audit.events
    RESTART IDENTITY;
END
$$;

COMMENT ON FUNCTION reports_demo.clear() IS
'Empties the dev copies of the crm and audit tables (pipeline stages kept); refuses unmarked schemas';

-- Drops the foreign keys and the plain (non-constraint) indexes of the loaded tables and
-- remembers their definitions (as the catalog prints them) in pg_temp.demo_deferred_ddl;
-- restore_constraints re-creates them after the load. Building an index once is faster than
-- maintaining it row by row, and re-adding a foreign key validates every row in one join.
CREATE OR REPLACE FUNCTION reports_demo.drop_constraints()
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = reports_demo, pg_temp
AS $$
DECLARE
    v_item record;
BEGIN
    IF to_regclass('pg_temp.demo_deferred_ddl') IS NOT NULL THEN
        DROP TABLE pg_temp.demo_deferred_ddl;
    END IF;
    CREATE TEMP TABLE demo_deferred_ddl ON COMMIT DROP AS
    SELECT
        'foreign key'::text AS kind,
        n.nspname::text AS schema_name,
        r.relname::text AS table_name,
        c.conname::text AS object_name,
        pg_catalog.pg_get_constraintdef(c.oid) AS definition
    FROM pg_catalog.pg_constraint AS c
    INNER JOIN pg_catalog.pg_class AS r ON r.oid = c.conrelid
    INNER JOIN pg_catalog.pg_namespace AS n ON n.oid = r.relnamespace
    WHERE c.contype = 'f' AND c.conrelid = ANY(reports_demo.loaded_tables())
    UNION ALL
    SELECT 'index', n.nspname, r.relname, x.relname, pg_catalog.pg_get_indexdef(i.indexrelid)
    FROM pg_catalog.pg_index AS i
    INNER JOIN pg_catalog.pg_class AS r ON r.oid = i.indrelid
    INNER JOIN pg_catalog.pg_class AS x ON x.oid = i.indexrelid
    INNER JOIN pg_catalog.pg_namespace AS n ON n.oid = r.relnamespace
    WHERE
        i.indrelid = ANY(reports_demo.loaded_tables())
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint AS c WHERE c.conindid = i.indexrelid);

    FOR v_item IN SELECT * FROM pg_temp.demo_deferred_ddl LOOP
        IF v_item.kind = 'foreign key' THEN
            EXECUTE format(
                'ALTER TABLE %I.%I DROP CONSTRAINT %I', v_item.schema_name, v_item.table_name, v_item.object_name
            );
        ELSE
            EXECUTE format('DROP INDEX %I.%I', v_item.schema_name, v_item.object_name);
        END IF;
    END LOOP;
END
$$;

COMMENT ON FUNCTION reports_demo.drop_constraints() IS
'Drops foreign keys and plain indexes of the loaded tables for a bulk load, remembering them for restore_constraints';

CREATE OR REPLACE FUNCTION reports_demo.restore_constraints()
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = reports_demo, pg_temp
AS $$
DECLARE
    v_item record;
BEGIN
    -- Indexes first, then foreign keys (ADD CONSTRAINT checks every existing row).
    FOR v_item IN
        SELECT * FROM pg_temp.demo_deferred_ddl ORDER BY kind DESC, schema_name, table_name, object_name
    LOOP
        IF v_item.kind = 'foreign key' THEN
            EXECUTE format(
                'ALTER TABLE %I.%I ADD CONSTRAINT %I %s',
                v_item.schema_name, v_item.table_name, v_item.object_name, v_item.definition
            );
        ELSE
            -- a complete CREATE INDEX statement printed by pg_get_indexdef (names already quoted)
            EXECUTE v_item.definition;
        END IF;
    END LOOP;
    DROP TABLE pg_temp.demo_deferred_ddl;
END
$$;

COMMENT ON FUNCTION reports_demo.restore_constraints() IS
'Re-creates the indexes and foreign keys dropped by drop_constraints (each foreign key validates all rows)';

CREATE OR REPLACE FUNCTION reports_demo.load_people(p_scale integer, p_seed integer, p_start timestamptz)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = reports_demo, pg_temp
AS $$
DECLARE
    v_regions text[] := ARRAY[
        'DACH', 'Nordics', 'UK & Ireland', 'North America', 'Benelux', 'Southern Europe', 'CEE', 'France'
    ];
    v_first text[] := ARRAY[
        'Anna', 'Ben', 'Clara', 'David', 'Elena', 'Felix', 'Greta', 'Hugo', 'Ida', 'Jonas', 'Katrin', 'Lukas',
        'Maria', 'Noah', 'Olivia', 'Paul', 'Quinn', 'Rosa', 'Sven', 'Tara', 'Umar', 'Vera', 'William', 'Yara',
        'Zoe', 'Emma', 'Liam', 'Sofia', 'Mateo', 'Chloe'
    ];
    v_last text[] := ARRAY[
        'Schmidt', 'Miller', 'Dubois', 'Rossi', 'Nowak', 'Jensen', 'Garcia', 'Smith', 'Fischer', 'Weber',
        'Martin', 'Johnson', 'Kowalski', 'Larsen', 'Bianchi', 'Brown', 'Wagner', 'Moreau', 'Lopez', 'Becker',
        'Hansen', 'Taylor', 'Novak', 'Svensson', 'Meyer', 'Clark', 'Silva', 'Keller', 'Walsh', 'Young'
    ];
BEGIN
    INSERT INTO crm.teams (id, name, head_user_id)
    SELECT
        t.id,
        'Sales ' || v_regions[1 + (t.id - 1) % 8] || CASE WHEN t.id > 8 THEN ' ' || ((t.id - 1) / 8 + 1) ELSE '' END,
        20 * ((t.id - 1) / 2) + 1 + (t.id - 1) % 2
    FROM generate_series(1, 2 * p_scale::bigint) AS t (id);

    INSERT INTO crm.users (id, full_name, email, team_id, role, is_active, created_at)
    SELECT
        u.id,
        n.first_name || ' ' || n.last_name,
        lower(n.first_name || '.' || n.last_name || '.' || u.id) || '@example.com',
        CASE
            WHEN u.pos IN (1, 2) THEN 2 * u.block + u.pos
            WHEN u.pos BETWEEN 5 AND 12 THEN 2 * u.block + 1
            WHEN u.pos >= 13 THEN 2 * u.block + 2
        END,
        CASE u.pos WHEN 1 THEN 'head' WHEN 2 THEN 'head' WHEN 3 THEN 'admin' WHEN 4 THEN 'analyst' ELSE 'manager' END,
        u.pos NOT IN (11, 19),
        between_ts(rnd(p_seed, u.id, 'user.created'), p_start - interval '1095 days', p_start - interval '760 days')
    FROM generate_series(1, 20 * p_scale::bigint) AS g (id)
    CROSS JOIN LATERAL (SELECT g.id, (g.id - 1) / 20 AS block, (g.id - 1) % 20 + 1 AS pos) AS u
    CROSS JOIN LATERAL (
        SELECT
            pick(rnd(p_seed, u.id, 'user.first'), v_first) AS first_name,
            pick(rnd(p_seed, u.id, 'user.last'), v_last) AS last_name
    ) AS n;
END
$$;

COMMENT ON FUNCTION reports_demo.load_people(integer, integer, timestamptz) IS
'Demo teams (2 per unit) and users (20 per unit, every role, some inactive), created before p_start';

CREATE OR REPLACE FUNCTION reports_demo.load_clients(
    p_scale integer, p_seed integer, p_start timestamptz, p_end timestamptz
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = reports_demo, pg_temp
AS $$
DECLARE
    v_prefixes text[] := ARRAY[
        'Nordwind', 'Alpen', 'Blue Harbor', 'Cedar', 'Delta', 'Evergreen', 'Falcon', 'Granite', 'Horizon',
        'Iron Bridge', 'Juniper', 'Keystone', 'Lakeside', 'Meridian', 'Northstar', 'Oakridge', 'Pioneer',
        'Quarry', 'Riverbend', 'Summit', 'Tidewater', 'Union', 'Vantage', 'Westgate', 'Zenith', 'Aurora',
        'Brightline', 'Copperfield', 'Driftwood', 'Eastwind'
    ];
    v_nouns text[] := ARRAY[
        'Logistics', 'Systems', 'Foods', 'Health', 'Energy', 'Retail', 'Analytics', 'Manufacturing',
        'Media', 'Consulting', 'Robotics', 'Finance', 'Pharma', 'Textiles', 'Software'
    ];
    v_industries text[] := ARRAY[
        'software', 'software', 'manufacturing', 'manufacturing', 'retail', 'finance', 'healthcare',
        'logistics', 'energy', 'education', 'media', 'public sector', 'telecom', 'hospitality'
    ];
    v_countries text[] := ARRAY[
        'DE', 'DE', 'DE', 'DE', 'US', 'US', 'US', 'GB', 'GB', 'FR', 'FR', 'NL', 'AT', 'CH', 'PL', 'ES',
        'IT', 'SE', 'CA', 'DK'
    ];
    v_sources text[] := ARRAY[
        'website', 'website', 'website', 'referral', 'referral', 'cold_call', 'event', 'partner', 'ads', 'ads'
    ];
BEGIN
    INSERT INTO crm.clients (id, name, industry, country, source, owner_id, created_at, updated_at, deleted_at)
    SELECT
        c.id,
        pick(rnd(p_seed, c.id, 'client.prefix'), v_prefixes) || ' ' || pick(rnd(p_seed, c.id, 'client.noun'), v_nouns)
        || CASE c.country
            WHEN 'DE' THEN ' GmbH' WHEN 'AT' THEN ' GmbH' WHEN 'CH' THEN ' AG' WHEN 'US' THEN ' Inc.'
            WHEN 'CA' THEN ' Inc.' WHEN 'GB' THEN ' Ltd' WHEN 'FR' THEN ' SAS' WHEN 'NL' THEN ' B.V.'
            ELSE ''
        END,
        CASE WHEN rnd(p_seed, c.id, 'client.industry.null') >= 0.04 THEN
            pick(rnd(p_seed, c.id, 'client.industry'), v_industries)
        END,
        c.country,
        CASE WHEN rnd(p_seed, c.id, 'client.source.null') >= 0.03 THEN
            pick(rnd(p_seed, c.id, 'client.source'), v_sources)
        END,
        CASE WHEN rnd(p_seed, c.id, 'client.owner.null') >= 0.01 THEN
            sales_user_id(p_scale, rnd(p_seed, c.id, 'client.owner'))
        END,
        c.created_at,
        CASE
            WHEN c.deleted THEN c.deleted_at
            WHEN rnd(p_seed, c.id, 'client.touched') < 0.7 THEN
                between_ts(rnd(p_seed, c.id, 'client.updated'), c.created_at, p_end)
            ELSE c.created_at
        END,
        CASE WHEN c.deleted THEN c.deleted_at END
    FROM generate_series(1, 300 * p_scale::bigint) AS g (id)
    CROSS JOIN LATERAL (
        SELECT
            g.id,
            CASE WHEN rnd(p_seed, g.id, 'client.country.null') >= 0.02 THEN
                pick(rnd(p_seed, g.id, 'client.country'), v_countries)
            END AS country,
            between_ts(rnd(p_seed, g.id, 'client.created'), p_start - interval '730 days', p_end) AS created_at,
            rnd(p_seed, g.id, 'client.deleted') < 0.04 AS deleted
    ) AS c0
    CROSS JOIN LATERAL (
        SELECT
            c0.*,
            between_ts(rnd(p_seed, g.id, 'client.deleted_at'), c0.created_at, p_end) AS deleted_at
    ) AS c;
END
$$;

COMMENT ON FUNCTION reports_demo.load_clients(integer, integer, timestamptz, timestamptz) IS
'Demo clients (300 per unit) with industries, countries, lead sources and owners; about 4 % soft-deleted';

-- The life of every deal, computed once into pg_temp.demo_deal_plan: the time it entered
-- each stage, its outcome, and the id offsets of its history rows and payments.
CREATE OR REPLACE FUNCTION reports_demo.plan_deals(
    p_scale integer, p_seed integer, p_start timestamptz, p_end timestamptz
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = reports_demo, pg_temp
AS $$
DECLARE
    v_open_stages text[] := ARRAY['lead', 'qualified', 'proposal', 'negotiation'];
    v_zones text[] := ARRAY['UTC', 'Europe/Berlin', 'America/New_York'];
BEGIN
    IF to_regclass('pg_temp.demo_deal_plan') IS NOT NULL THEN
        DROP TABLE pg_temp.demo_deal_plan;
    END IF;
    CREATE TEMP TABLE demo_deal_plan ON COMMIT DROP AS
    WITH picked AS (
        SELECT
            g.id,
            1 + floor(power(rnd(p_seed, g.id, 'deal.client'), 1.4) * 300 * p_scale)::bigint AS client_id,
            rnd(p_seed, g.id, 'deal.outcome') AS r_outcome,
            rnd(p_seed, g.id, 'deal.stall') AS r_stall
        FROM generate_series(1, 1000 * p_scale::bigint) AS g (id)
    ),
    drawn AS (
        SELECT
            p.id,
            p.client_id,
            c.name AS client_name,
            CASE
                WHEN c.owner_id IS NOT NULL AND rnd(p_seed, p.id, 'deal.owner.switch') < 0.8 THEN c.owner_id
                ELSE sales_user_id(p_scale, rnd(p_seed, p.id, 'deal.owner'))
            END AS owner_id,
            c.country,
            between_ts(rnd(p_seed, p.id, 'deal.created'), greatest(c.created_at, p_start), p_end) AS created_at,
            -- how far the deal gets: lost at stage k (0 = lead .. 3 = negotiation), won, or stalled
            CASE
                WHEN p.r_stall < 0.05 THEN floor(p.r_stall / 0.05 * 4)::integer
                WHEN p.r_outcome < 0.30 THEN 0
                WHEN p.r_outcome < 0.51 THEN 1
                WHEN p.r_outcome < 0.6325 THEN 2
                ELSE 3
            END AS k,
            CASE
                WHEN p.r_stall < 0.05 THEN NULL
                WHEN p.r_outcome < 0.761 THEN 'lost'
                ELSE 'won'
            END AS outcome
        FROM picked AS p
        INNER JOIN crm.clients AS c ON c.id = p.client_id
    ),
    -- MATERIALIZED: each expression is computed once per deal; inlined, the expressions of
    -- the columns referenced several times further down would be evaluated repeatedly.
    stepped AS MATERIALIZED (
        SELECT
            d.*,
            (d.created_at AT TIME ZONE 'UTC')::date AS created_day,
            -- whole days spent in each stage: 1 to 36, mostly a few
            1 + floor(35 * power(rnd(p_seed, d.id, 'deal.d1'), 2))::integer AS d1,
            1 + floor(35 * power(rnd(p_seed, d.id, 'deal.d2'), 2))::integer AS d2,
            1 + floor(35 * power(rnd(p_seed, d.id, 'deal.d3'), 2))::integer AS d3,
            1 + floor(40 * power(rnd(p_seed, d.id, 'deal.d4'), 2))::integer AS d4
        FROM drawn AS d
    ),
    timed AS (
        SELECT
            s.*,
            CASE WHEN s.k >= 1 THEN
                business_time(s.created_day + s.d1, rnd(p_seed, s.id, 'deal.t1'))
            END AS t1,
            CASE WHEN s.k >= 2 THEN
                business_time(s.created_day + s.d1 + s.d2, rnd(p_seed, s.id, 'deal.t2'))
            END AS t2,
            CASE WHEN s.k >= 3 THEN
                business_time(s.created_day + s.d1 + s.d2 + s.d3, rnd(p_seed, s.id, 'deal.t3'))
            END AS t3,
            CASE WHEN s.outcome IS NOT NULL THEN
                business_time(
                    s.created_day + (ARRAY[0, s.d1, s.d1 + s.d2, s.d1 + s.d2 + s.d3])[s.k + 1] + s.d4,
                    rnd(p_seed, s.id, 'deal.t4')
                )
            END AS close_raw
        FROM stepped AS s
    ),
    closing AS MATERIALIZED (
        SELECT
            t.*,
            CASE
                WHEN t.id % 25 < 3 THEN
                    near_midnight(
                        t.close_raw,
                        v_zones[t.id % 25 + 1],
                        floor(rnd(p_seed, t.id, 'deal.midnight.offset') * 3601)::integer - 1800
                    )
                ELSE t.close_raw
            END AS t_close
        FROM timed AS t
    ),
    settled AS (
        SELECT
            c.*,
            coalesce(c.t_close < p_end, FALSE) AS closed,
            (coalesce(c.t1 < p_end, FALSE)::integer + coalesce(c.t2 < p_end, FALSE)::integer
            + coalesce(c.t3 < p_end, FALSE)::integer) AS n_done
        FROM closing AS c
    ),
    final AS (
        SELECT
            s.*,
            CASE WHEN s.closed THEN s.outcome ELSE v_open_stages[s.n_done + 1] END AS stage,
            CASE WHEN s.closed THEN s.outcome ELSE 'open' END AS status,
            CASE
                WHEN s.closed THEN s.t_close
                ELSE (ARRAY[s.created_at, s.t1, s.t2, s.t3])[s.n_done + 1]
            END AS last_change,
            1 + s.n_done + s.closed::integer AS n_history,
            CASE
                WHEN NOT s.closed OR s.outcome <> 'won' THEN 0
                WHEN rnd(p_seed, s.id, 'deal.installments') < 0.65 THEN 1
                WHEN rnd(p_seed, s.id, 'deal.installments') < 0.90 THEN 2
                ELSE 4
            END AS n_payments
        FROM settled AS s
    )
    SELECT
        f.id,
        f.client_id,
        f.owner_id,
        f.client_name,
        round((400 * exp(5.5 * rnd(p_seed, f.id, 'deal.amount')))::numeric, 0) AS amount,
        CASE f.country
            WHEN 'US' THEN 'USD' WHEN 'CA' THEN 'CAD' WHEN 'GB' THEN 'GBP' WHEN 'CH' THEN 'CHF'
            WHEN 'SE' THEN 'SEK' WHEN 'DK' THEN 'DKK' WHEN 'PL' THEN 'PLN' ELSE 'EUR'
        END AS currency,
        f.created_at,
        f.k,
        f.outcome,
        f.t1,
        f.t2,
        f.t3,
        f.stage,
        f.status,
        CASE WHEN f.closed THEN f.t_close END AS closed_at,
        f.last_change,
        f.n_done,
        CASE WHEN rnd(p_seed, f.id, 'deal.deleted') < 0.02 THEN
            between_ts(rnd(p_seed, f.id, 'deal.deleted_at'), f.last_change, p_end)
        END AS deleted_at,
        f.n_history,
        f.n_payments,
        sum(f.n_history) OVER (ORDER BY f.id) - f.n_history AS history_offset,
        sum(f.n_payments) OVER (ORDER BY f.id) - f.n_payments AS payment_offset
    FROM final AS f;
    ANALYZE pg_temp.demo_deal_plan;
END
$$;

COMMENT ON FUNCTION reports_demo.plan_deals(integer, integer, timestamptz, timestamptz) IS
'Plans every demo deal (1,000 per unit): stage times, outcome, history and payment id offsets (pg_temp.demo_deal_plan)';

CREATE OR REPLACE FUNCTION reports_demo.load_deals(p_seed integer)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = reports_demo, pg_temp
AS $$
DECLARE
    v_products text[] := ARRAY[
        'Annual subscription', 'Enterprise licence', 'Pilot project', 'Renewal', 'Analytics add-on',
        'Onboarding package', 'Support upgrade', 'Seat expansion', 'Integration project', 'Training'
    ];
    v_lost_reasons text[] := ARRAY[
        'price', 'price', 'competitor', 'competitor', 'no budget', 'no decision', 'timing', 'product fit'
    ];
    v_stages text[] := ARRAY['lead', 'qualified', 'proposal', 'negotiation'];
BEGIN
    INSERT INTO crm.deals (
        id, client_id, owner_id, title, stage, status, amount, currency, created_at, updated_at,
        closed_at, expected_close_date, lost_reason, deleted_at
    )
    SELECT
        p.id,
        p.client_id,
        p.owner_id,
        CASE WHEN rnd(p_seed, p.id, 'deal.title.null') >= 0.02 THEN
            pick(rnd(p_seed, p.id, 'deal.title'), v_products) || ' - ' || p.client_name
        END,
        p.stage,
        p.status,
        p.amount,
        p.currency,
        p.created_at,
        coalesce(p.deleted_at, p.last_change),
        p.closed_at,
        CASE WHEN rnd(p_seed, p.id, 'deal.expected.null') >= 0.05 THEN
            (p.created_at AT TIME ZONE 'UTC')::date + 30 + floor(90 * rnd(p_seed, p.id, 'deal.expected'))::integer
        END,
        CASE WHEN p.status = 'lost' THEN pick(rnd(p_seed, p.id, 'deal.lost_reason'), v_lost_reasons) END,
        p.deleted_at
    FROM pg_temp.demo_deal_plan AS p;

    INSERT INTO crm.deal_stage_history (id, deal_id, from_stage, to_stage, changed_at, changed_by)
    SELECT
        p.history_offset + s.n,
        p.id,
        s.from_stage,
        s.to_stage,
        s.changed_at,
        CASE
            WHEN s.n = 1 THEN p.owner_id
            WHEN rnd(p_seed, p.history_offset + s.n, 'history.by') < 0.06 THEN NULL
            WHEN rnd(p_seed, p.history_offset + s.n, 'history.by') < 0.12 THEN head_of(p.owner_id)
            ELSE p.owner_id
        END
    FROM pg_temp.demo_deal_plan AS p
    CROSS JOIN LATERAL (
        VALUES
        (1, NULL, 'lead', p.created_at, TRUE),
        (2, 'lead', 'qualified', p.t1, p.n_done >= 1),
        (3, 'qualified', 'proposal', p.t2, p.n_done >= 2),
        (4, 'proposal', 'negotiation', p.t3, p.n_done >= 3),
        (p.n_history, v_stages[p.k + 1], p.status, p.closed_at, p.closed_at IS NOT NULL)
    ) AS s (n, from_stage, to_stage, changed_at, included)
    WHERE s.included;
END
$$;

COMMENT ON FUNCTION reports_demo.load_deals(integer) IS
'Inserts the planned demo deals and their stage history (first row from_stage null)';

-- Payments: the installments of every won deal (1, 2 or 4; due 14 days after closing, then
-- monthly) and 15 payments per unit without a deal. Most are paid around their due date;
-- some fail, some are refunded, some stay pending past their due date (overdue).
CREATE OR REPLACE FUNCTION reports_demo.load_payments(
    p_scale integer, p_seed integer, p_start timestamptz, p_end timestamptz
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = reports_demo, pg_temp
AS $$
DECLARE
    v_zones text[] := ARRAY['UTC', 'Europe/Berlin', 'America/New_York'];
    v_first_free bigint;
BEGIN
    SELECT coalesce(max(p.payment_offset + p.n_payments), 0) + 1 INTO v_first_free
    FROM pg_temp.demo_deal_plan AS p;

    INSERT INTO crm.payments (
        id, deal_id, client_id, amount, currency, status, due_date, paid_at, created_at, updated_at
    )
    WITH items AS (
        SELECT
            p.payment_offset + i.n AS id,
            p.id AS deal_id,
            p.client_id,
            CASE
                WHEN i.n < p.n_payments THEN round(p.amount / p.n_payments, 2)
                ELSE p.amount - (p.n_payments - 1) * round(p.amount / p.n_payments, 2)
            END AS amount,
            p.currency,
            (p.closed_at AT TIME ZONE 'UTC')::date + 14 + 30 * (i.n - 1) AS due_date,
            p.closed_at AS created_at
        FROM pg_temp.demo_deal_plan AS p
        CROSS JOIN LATERAL generate_series(1, p.n_payments) AS i (n)
        WHERE p.n_payments > 0
        UNION ALL
        SELECT
            x.id,
            NULL,
            c.id,
            round((100 + 4900 * rnd(p_seed, x.id, 'payment.amount'))::numeric, 2),
            CASE c.country WHEN 'US' THEN 'USD' WHEN 'GB' THEN 'GBP' ELSE 'EUR' END,
            (x.created_at AT TIME ZONE 'UTC')::date + 14,
            x.created_at
        FROM generate_series(v_first_free, v_first_free + 15 * p_scale - 1) AS g (id)
        CROSS JOIN LATERAL (
            SELECT
                g.id,
                1 + floor(rnd(p_seed, g.id, 'payment.client') * 300 * p_scale)::bigint AS client_id,
                rnd(p_seed, g.id, 'payment.created') AS r_created
        ) AS x0
        INNER JOIN crm.clients AS c ON c.id = x0.client_id
        CROSS JOIN LATERAL (
            SELECT g.id, between_ts(x0.r_created, greatest(c.created_at, p_start), p_end) AS created_at
        ) AS x
    ),
    drawn AS (
        SELECT
            t.*,
            (t.due_date::timestamp AT TIME ZONE 'UTC') AS due_at,
            CASE
                WHEN rnd(p_seed, t.id, 'payment.outcome') < 0.03 THEN 'failed'
                WHEN rnd(p_seed, t.id, 'payment.outcome') < 0.06 THEN 'refunded'
                WHEN rnd(p_seed, t.id, 'payment.outcome') < 0.11 THEN 'pending'
                ELSE 'paid'
            END AS planned,
            business_time(
                t.due_date - 7 + floor(15 * rnd(p_seed, t.id, 'payment.received'))::integer,
                rnd(p_seed, t.id, 'payment.received.time')
            ) AS received_raw
        FROM items AS t
    ),
    received AS (
        SELECT
            d.*,
            CASE
                WHEN d.id % 25 < 3 THEN
                    near_midnight(
                        d.received_raw,
                        v_zones[d.id % 25 + 1],
                        floor(rnd(p_seed, d.id, 'payment.midnight.offset') * 3601)::integer - 1800
                    )
                ELSE d.received_raw
            END AS received_at
        FROM drawn AS d
    ),
    settled AS (
        SELECT
            r.*,
            r.received_at + floor(86400 * (1 + 29 * rnd(p_seed, r.id, 'payment.refund'))) * interval '1 second'
            AS refunded_at
        FROM received AS r
    ),
    final AS (
        SELECT
            s.*,
            CASE
                WHEN s.planned = 'refunded' AND s.refunded_at < p_end THEN 'refunded'
                WHEN s.planned IN ('paid', 'refunded') AND s.received_at < p_end THEN 'paid'
                WHEN s.planned = 'failed' AND s.due_at + interval '10 hours' < p_end THEN 'failed'
                ELSE 'pending'
            END AS status
        FROM settled AS s
    )
    SELECT
        f.id,
        f.deal_id,
        f.client_id,
        f.amount,
        f.currency,
        f.status,
        f.due_date,
        CASE WHEN f.status IN ('paid', 'refunded') THEN f.received_at END,
        f.created_at,
        CASE f.status
            WHEN 'paid' THEN f.received_at
            WHEN 'refunded' THEN f.refunded_at
            WHEN 'failed' THEN f.due_at + interval '10 hours'
            ELSE f.created_at
        END
    FROM final AS f;
END
$$;

COMMENT ON FUNCTION reports_demo.load_payments(integer, integer, timestamptz, timestamptz) IS
'Demo payments: installments of won deals plus payments without a deal; paid, pending (some overdue), failed, refunded';

-- Audit events derived from the loaded rows (deal, client and payment events) plus logins.
-- Ids follow occurred_at, like those of a real append-only audit log: the events are numbered
-- in one sort, which carries only narrow columns (kind, key, time, actor, entity, payload);
-- service, action and entity type are looked up from the kind afterwards.
CREATE OR REPLACE FUNCTION reports_demo.load_events(
    p_scale integer, p_seed integer, p_start timestamptz, p_end timestamptz
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = reports_demo, pg_temp
AS $$
DECLARE
    v_client_fields text[] := ARRAY['industry', 'country', 'source', 'owner_id', 'name'];
BEGIN
    INSERT INTO audit.events (
        id, occurred_at, actor_id, service, action, entity_type, entity_id, payload, request_id
    )
    WITH kinds (kind, service, action, entity_type) AS (
        VALUES
        (1, 'crm', 'deal.created', 'deal'),
        (2, 'crm', 'deal.stage_changed', 'deal'),
        (3, 'crm', 'deal.deleted', 'deal'),
        (4, 'crm', 'client.created', 'client'),
        (5, 'crm', 'client.updated', 'client'),
        (6, 'crm', 'client.deleted', 'client'),
        (7, 'billing', 'payment.recorded', 'payment'),
        (8, 'billing', 'payment.refunded', 'payment'),
        (9, 'billing', 'payment.failed', 'payment'),
        (10, 'auth', 'auth.login', 'user'),
        (11, 'auth', 'auth.login_failed', 'user')
    ),
    events AS (
        SELECT
            1 AS kind,
            d.id AS event_key,
            d.created_at AS occurred_at,
            d.owner_id AS actor_id,
            d.id AS entity_id,
            jsonb_build_object('amount', d.amount, 'client_id', d.client_id) AS payload
        FROM crm.deals AS d
        UNION ALL
        SELECT
            2, h.id, h.changed_at, h.changed_by, h.deal_id, jsonb_build_object('from', h.from_stage, 'to', h.to_stage)
        FROM crm.deal_stage_history AS h
        WHERE h.from_stage IS NOT NULL
        UNION ALL
        SELECT 3, d.id, d.deleted_at, d.owner_id, d.id, NULL
        FROM crm.deals AS d
        WHERE d.deleted_at IS NOT NULL
        UNION ALL
        SELECT 4, c.id, c.created_at, c.owner_id, c.id, jsonb_build_object('name', c.name)
        FROM crm.clients AS c
        UNION ALL
        SELECT
            5,
            2 * c.id + u.n,
            -- the latest edit is the client's updated_at (unless a deletion updated it last)
            CASE
                WHEN u.n = 1 AND c.deleted_at IS NULL THEN c.updated_at
                ELSE between_ts(rnd(p_seed, 2 * c.id + u.n, 'event.client.updated'), c.created_at, c.updated_at)
            END,
            CASE WHEN rnd(p_seed, 2 * c.id + u.n, 'event.client.actor') >= 0.1 THEN c.owner_id END,
            c.id,
            jsonb_build_object(
                'fields', jsonb_build_array(pick(rnd(p_seed, 2 * c.id + u.n, 'event.client.field'), v_client_fields))
            )
        FROM crm.clients AS c
        CROSS JOIN generate_series(0, 1) AS u (n)
        WHERE c.updated_at > c.created_at
        UNION ALL
        SELECT 6, c.id, c.deleted_at, c.owner_id, c.id, NULL
        FROM crm.clients AS c
        WHERE c.deleted_at IS NOT NULL
        UNION ALL
        SELECT
            7,
            p.id,
            p.paid_at,
            CASE WHEN rnd(p_seed, p.id, 'event.payment.actor') >= 0.7 THEN
                20 * floor(rnd(p_seed, p.id, 'event.payment.admin') * p_scale)::bigint + 3
            END,
            p.id,
            jsonb_build_object('amount', p.amount, 'currency', p.currency, 'deal_id', p.deal_id)
        FROM crm.payments AS p
        WHERE p.paid_at IS NOT NULL
        UNION ALL
        SELECT
            8, p.id, p.updated_at, 20 * floor(rnd(p_seed, p.id, 'event.refund.admin') * p_scale)::bigint + 3,
            p.id, jsonb_build_object('amount', p.amount)
        FROM crm.payments AS p
        WHERE p.status = 'refunded'
        UNION ALL
        SELECT 9, p.id, p.updated_at, NULL, p.id, jsonb_build_object('amount', p.amount, 'reason', 'card declined')
        FROM crm.payments AS p
        WHERE p.status = 'failed'
        UNION ALL
        SELECT
            10,
            l.id,
            -- inactive users (positions 11 and 19 of their block) stopped logging in long ago
            CASE WHEN l.user_id % 20 IN (11, 19) THEN
                between_ts(rnd(p_seed, l.id, 'event.login.at'), p_start, p_start + (p_end - p_start) / 3)
            ELSE between_ts(rnd(p_seed, l.id, 'event.login.at'), p_start, p_end)
            END,
            l.user_id,
            l.user_id,
            jsonb_build_object('ip', '10.' || (l.user_id % 250) || '.' || (l.id % 250) || '.' || (l.id % 7 + 1))
        FROM generate_series(1, 1000 * p_scale::bigint) AS g (id)
        CROSS JOIN LATERAL (
            SELECT g.id, 1 + floor(rnd(p_seed, g.id, 'event.login.user') * 20 * p_scale)::bigint AS user_id
        ) AS l
        UNION ALL
        SELECT
            11,
            g.id,
            between_ts(rnd(p_seed, g.id, 'event.login_failed.at'), p_start, p_end),
            NULL,
            NULL,
            jsonb_build_object('email', 'unknown' || g.id || '@example.com')
        FROM generate_series(1, 40 * p_scale::bigint) AS g (id)
    ),
    numbered AS (
        SELECT
            row_number() OVER (ORDER BY e.occurred_at, e.kind, e.event_key) AS id,
            e.*
        FROM events AS e
    )
    SELECT
        n.id,
        n.occurred_at,
        n.actor_id,
        k.service,
        k.action,
        k.entity_type,
        n.entity_id::text,
        n.payload,
        request_uuid(p_seed, 16 * n.event_key + n.kind)
    FROM numbered AS n
    INNER JOIN kinds AS k ON n.kind = k.kind;
END
$$;

COMMENT ON FUNCTION reports_demo.load_events(integer, integer, timestamptz, timestamptz) IS
'Demo audit events (deal, client, payment and auth actions; some without actor), ids in occurred_at order';

CREATE OR REPLACE FUNCTION reports_demo.generate(
    p_scale integer, p_seed integer DEFAULT 42, p_end date DEFAULT current_date
)
RETURNS TABLE (table_name text, row_count bigint)
LANGUAGE plpgsql
VOLATILE
SET search_path = reports_demo, pg_temp
SET work_mem = '256MB'
SET maintenance_work_mem = '512MB'
SET jit = off
AS $$
DECLARE
    v_end timestamptz := (p_end + 1)::timestamp AT TIME ZONE 'UTC';
    v_start timestamptz := (p_end + 1 - 1096)::timestamp AT TIME ZONE 'UTC';
    v_began timestamptz := clock_timestamp();
    v_phase timestamptz;
    v_item record;
    v_max bigint;
BEGIN
    IF p_scale IS NULL OR p_scale < 1 OR p_seed IS NULL OR p_end IS NULL THEN
        RAISE EXCEPTION 'reports_demo.generate: scale must be at least 1 and seed and end date must be given';
    END IF;
    PERFORM assert_dev_schemas();
    IF EXISTS (SELECT FROM crm.teams) OR EXISTS (SELECT FROM crm.users) OR EXISTS (SELECT FROM crm.clients)
        OR EXISTS (SELECT FROM crm.deals) OR EXISTS (SELECT FROM crm.deal_stage_history)
        OR EXISTS (SELECT FROM crm.payments) OR EXISTS (SELECT FROM audit.events) THEN
        RAISE EXCEPTION 'the crm and audit tables already hold data'
            USING HINT = 'call reports_demo.clear() first';
    END IF;

    v_phase := clock_timestamp();
    PERFORM drop_constraints();
    PERFORM load_people(p_scale, p_seed, v_start);
    PERFORM load_clients(p_scale, p_seed, v_start, v_end);
    ANALYZE crm.users, crm.clients;
    RAISE NOTICE 'demo data: teams, users and clients in % s',
        to_char(extract(EPOCH FROM clock_timestamp() - v_phase), 'FM99990.0');

    v_phase := clock_timestamp();
    PERFORM plan_deals(p_scale, p_seed, v_start, v_end);
    PERFORM load_deals(p_seed);
    RAISE NOTICE 'demo data: deals and stage history in % s',
        to_char(extract(EPOCH FROM clock_timestamp() - v_phase), 'FM99990.0');

    v_phase := clock_timestamp();
    PERFORM load_payments(p_scale, p_seed, v_start, v_end);
    DROP TABLE pg_temp.demo_deal_plan;
    RAISE NOTICE 'demo data: payments in % s', to_char(extract(EPOCH FROM clock_timestamp() - v_phase), 'FM99990.0');

    v_phase := clock_timestamp();
    PERFORM load_events(p_scale, p_seed, v_start, v_end);
    RAISE NOTICE 'demo data: audit events in % s',
        to_char(extract(EPOCH FROM clock_timestamp() - v_phase), 'FM99990.0');

    v_phase := clock_timestamp();
    PERFORM restore_constraints();
    FOR v_item IN
        SELECT n.nspname AS schema_name, c.relname AS table_name, pg_get_serial_sequence(t::text, 'id') AS seq
        FROM unnest(loaded_tables()) AS t
        INNER JOIN pg_catalog.pg_class AS c ON c.oid = t
        INNER JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    LOOP
        CONTINUE WHEN v_item.seq IS NULL;
        EXECUTE format('SELECT max(id) FROM %I.%I', v_item.schema_name, v_item.table_name) INTO v_max;
        PERFORM setval(v_item.seq, v_max) WHERE v_max IS NOT NULL;
    END LOOP;
    RAISE NOTICE 'demo data: indexes and foreign keys (validated) in % s',
        to_char(extract(EPOCH FROM clock_timestamp() - v_phase), 'FM99990.0');

    v_phase := clock_timestamp();
    ANALYZE crm.teams, crm.users, crm.clients, crm.deals, crm.deal_stage_history, crm.payments, audit.events;
    RAISE NOTICE 'demo data: analyze in % s; total % s',
        to_char(extract(EPOCH FROM clock_timestamp() - v_phase), 'FM99990.0'),
        to_char(extract(EPOCH FROM clock_timestamp() - v_began), 'FM99990.0');

    RETURN QUERY SELECT r.table_name, r.row_count FROM row_counts() AS r;
END
$$;

COMMENT ON FUNCTION reports_demo.generate(integer, integer, date) IS
'Fills the empty dev crm and audit tables with deterministic demo data: p_scale units of 1,000 deals '
'(see reports_demo.scale_unit()), pseudo-random values derived from p_seed, history up to p_end';
