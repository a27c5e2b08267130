-- The resources one refresh may use: temporary file space and time (reports.settings).
-- A limit already in force that is stricter (set by a DBA for the role or the database, or by the caller)
-- is kept: these only ever tighten.

CREATE OR REPLACE FUNCTION reports._setting_kb(p_value text)
RETURNS numeric
LANGUAGE sql
IMMUTABLE
SET search_path = reports, pg_temp
AS $$
    -- as PostgreSQL reads temp_file_limit: a bare number is kB; -1 (no limit) is NULL
    SELECT CASE
        WHEN p_value = '-1' THEN NULL
        WHEN p_value ~ '^[0-9]+$' THEN p_value::numeric
        ELSE pg_catalog.pg_size_bytes(p_value) / 1024.0
    END
$$;

COMMENT ON FUNCTION reports._setting_kb(text) IS
'An amount of memory as PostgreSQL reads temp_file_limit, in kB (a bare number is kB, 10GB = 10485760); NULL for
-1 (no limit) (internal).';

CREATE OR REPLACE FUNCTION reports._setting_ms(p_value text)
RETURNS numeric
LANGUAGE sql
IMMUTABLE
SET search_path = reports, pg_temp
AS $$
    -- as PostgreSQL reads statement_timeout: a bare number is ms; 0 (no limit) is NULL
    SELECT CASE
        WHEN p_value ~ '^0+$' THEN NULL
        WHEN p_value ~ '^[0-9]+$' THEN p_value::numeric
        ELSE extract(EPOCH FROM p_value::interval) * 1000
    END
$$;

COMMENT ON FUNCTION reports._setting_ms(text) IS
'A duration as PostgreSQL reads statement_timeout, in milliseconds (a bare number is ms, 1h = 3600000); NULL for
0 (no limit) (internal).';

CREATE OR REPLACE FUNCTION reports.refresh_limits()
RETURNS TABLE (temp_file_limit text, statement_timeout text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
    SELECT
        (SELECT s.value FROM reports.settings AS s WHERE s.key = 'refresh_temp_file_limit'),
        (SELECT s.value FROM reports.settings AS s WHERE s.key = 'refresh_statement_timeout')
$$;

COMMENT ON FUNCTION reports.refresh_limits() IS
'The limits of one refresh, as PostgreSQL setting values (reports.settings, changed with
reports.set_refresh_limits()): temp_file_limit (default 10GB) is the most temporary file space the refresh
engine may use; the engine applies it to its own work whoever calls it (its owner needs SET on
temp_file_limit, see reports.refresh_views); -1 = no limit. statement_timeout (default 1h) is the longest one
refresh statement may run; `reports refresh`, the scheduler and POST /refresh set it on their refresh
transaction with reports.apply_refresh_statement_timeout() (a psql caller does the same); 0 = no limit. Both
only tighten: a stricter limit already in force is kept. A refresh that exceeds either fails (53400, 57014)
and keeps the previous contents of what it had not committed.';

CREATE OR REPLACE FUNCTION reports.set_refresh_limits(
    p_temp_file_limit text DEFAULT NULL,
    p_statement_timeout text DEFAULT NULL
)
RETURNS TABLE (temp_file_limit text, statement_timeout text)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
BEGIN
    IF p_temp_file_limit IS NOT NULL AND p_temp_file_limit !~ '^(-1|[1-9][0-9]*\s*(kB|MB|GB|TB)?)$' THEN
        RAISE EXCEPTION 'p_temp_file_limit must be an amount of memory or -1 (got %)', p_temp_file_limit
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example 10GB, 500MB or 1048576 (kB); -1 for no limit.';
    END IF;
    IF reports._setting_kb(p_temp_file_limit) > 2147483647 THEN
        RAISE EXCEPTION 'p_temp_file_limit must be at most 2147483647kB (about 2TB) (got %)', p_temp_file_limit
            USING ERRCODE = 'invalid_parameter_value', HINT = 'PostgreSQL keeps temp_file_limit in kB as an integer.';
    END IF;
    IF p_statement_timeout IS NOT NULL AND p_statement_timeout !~ '^(0|[1-9][0-9]*\s*(ms|s|min|h|d)?)$' THEN
        RAISE EXCEPTION 'p_statement_timeout must be a duration or 0 (got %)', p_statement_timeout
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example 1h, 30min or 600s (a bare number is milliseconds); 0 for no limit.';
    END IF;
    IF reports._setting_ms(p_statement_timeout) > 2147483647 THEN
        RAISE EXCEPTION 'p_statement_timeout must be at most 2147483647ms (about 24 days) (got %)', p_statement_timeout
            USING ERRCODE = 'invalid_parameter_value', HINT = 'PostgreSQL keeps statement_timeout in ms as an integer.';
    END IF;
    INSERT INTO reports.settings AS s (key, value, updated_at)
    SELECT l.key, l.value, now()
    FROM (
        VALUES ('refresh_temp_file_limit', p_temp_file_limit), ('refresh_statement_timeout', p_statement_timeout)
    ) AS l (key, value) -- noqa: RF04
    WHERE l.value IS NOT NULL
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;
    RETURN QUERY SELECT r.temp_file_limit, r.statement_timeout FROM reports.refresh_limits() AS r;
END
$$;

COMMENT ON FUNCTION reports.set_refresh_limits(text, text) IS
'Sets the limits of reports.refresh_limits(): p_temp_file_limit (an amount of memory such as 10GB, 500MB or a
number of kB; -1 = no limit) and p_statement_timeout (a duration such as 1h, 30min, 600s or a number of
milliseconds; 0 = no limit); NULL leaves a limit as it is. Returns both limits afterwards. 22023 for a value
of another form. Applies from the next refresh.';

CREATE OR REPLACE FUNCTION reports._apply_refresh_temp_file_limit()
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_limit text := (SELECT r.temp_file_limit FROM reports.refresh_limits() AS r);
BEGIN
    IF v_limit IS NULL OR v_limit = '-1' THEN
        RETURN;
    END IF;
    IF reports._setting_kb(pg_catalog.current_setting('temp_file_limit')) <= reports._setting_kb(v_limit) THEN
        RETURN;  -- a stricter limit is in force
    END IF;
    BEGIN
        PERFORM pg_catalog.set_config('temp_file_limit', v_limit, TRUE);
    EXCEPTION WHEN insufficient_privilege THEN
        -- A limit the DBA set for the role or the database still bounds the refresh; none at all is refused.
        IF pg_catalog.current_setting('temp_file_limit') = '-1' THEN
            RAISE EXCEPTION 'the refresh must run with a bounded temp_file_limit, and role % may not set it',
                current_user
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = pg_catalog.format('reports.refresh_limits() asks for temp_file_limit = %s.', v_limit),
                      HINT = pg_catalog.format(
                          'As a superuser: GRANT SET ON PARAMETER temp_file_limit TO %I; or ALTER ROLE %I SET '
                          'temp_file_limit = %L; or, to refresh without a limit, '
                          'SELECT reports.set_refresh_limits(p_temp_file_limit => ''-1'').',
                          current_user, current_user, v_limit
                      );
        END IF;
    END;
END
$$;

COMMENT ON FUNCTION reports._apply_refresh_temp_file_limit() IS
'Sets temp_file_limit to reports.refresh_limits().temp_file_limit for the rest of the current transaction (the
refresh engine calls it first; SET LOCAL semantics); nothing when that is -1 or a stricter limit is in force. When the
current user (the owner of the SECURITY DEFINER refresh functions) may not set it, a limit already in force
(ALTER ROLE / DATABASE ... SET temp_file_limit) is kept, and with none 42501 is raised (internal).';

CREATE OR REPLACE FUNCTION reports.apply_refresh_statement_timeout()
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_limit text := (SELECT r.statement_timeout FROM reports.refresh_limits() AS r);
    v_current text := pg_catalog.current_setting('statement_timeout');
BEGIN
    IF v_limit IS NULL OR reports._setting_ms(v_limit) IS NULL
        OR reports._setting_ms(v_current) <= reports._setting_ms(v_limit) THEN
        RETURN v_current;
    END IF;
    RETURN pg_catalog.set_config('statement_timeout', v_limit, TRUE);
END
$$;

COMMENT ON FUNCTION reports.apply_refresh_statement_timeout() IS
'Sets statement_timeout to reports.refresh_limits().statement_timeout for the rest of the current transaction
(SET LOCAL semantics), unless that is 0 or a stricter timeout is in force; returns the timeout now in force.
`reports refresh`, the scheduler and POST /refresh call it first in their refresh transaction (the timeout
applies from the next statement: the refresh).';
