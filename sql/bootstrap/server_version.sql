-- The supported PostgreSQL versions: 15 to 18 (tested on 15 and 18). 15 is the floor because the
-- summary tables' keys are UNIQUE NULLS NOT DISTINCT, new in PostgreSQL 15.
--
-- Run before anything else by both migration runners (`reports migrate`, also with --dry-run,
-- and scripts/migrate-local.sh) and by reports-api at start-up. Read-only: on an older server
-- it raises 0A000 with one line naming the version found and the oldest supported, and nothing
-- is applied. Newer majors than 18 are not refused (not yet tested).
--
-- The custom setting reports.min_server_version_num can only raise the floor (tests use it to
-- see the refusal on a supported server); it never admits an older server.

DO $check$
DECLARE
    v_found integer := pg_catalog.current_setting('server_version_num')::integer;
    v_floor integer := greatest(
        150000,
        coalesce(nullif(pg_catalog.current_setting('reports.min_server_version_num', true), '')::integer, 0)
    );
BEGIN
    IF v_found < v_floor THEN
        RAISE EXCEPTION 'PostgreSQL % is not supported: reports needs PostgreSQL % or later',
            pg_catalog.current_setting('server_version'), v_floor / 10000
            USING ERRCODE = 'feature_not_supported',
                DETAIL = format('server_version_num is %s, the oldest supported is %s', v_found, v_floor),
                HINT = 'Upgrade the server (supported and tested: PostgreSQL 15 to 18).';
    END IF;
END
$check$;
