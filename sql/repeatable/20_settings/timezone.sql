-- The reports time zone: where every report day starts and ends (reports.settings 'timezone').

CREATE OR REPLACE FUNCTION reports.timezone()
RETURNS text
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT s.value
    FROM reports.settings AS s
    WHERE s.key = 'timezone'
$$;

COMMENT ON FUNCTION reports.timezone() IS
'The reports time zone (IANA name), stored in reports.settings under key timezone.
A timestamp ts falls on the local day (ts AT TIME ZONE reports.timezone())::date; every summary and
report uses these local days. Set it with reports.set_timezone().';

CREATE OR REPLACE FUNCTION reports.set_timezone(p_timezone text)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_previous text;
BEGIN
    IF p_timezone IS NULL OR NOT EXISTS (
        SELECT FROM pg_catalog.pg_timezone_names AS z WHERE z.name = p_timezone
    ) THEN
        RAISE EXCEPTION 'p_timezone must be an IANA time zone name (got %)', coalesce(p_timezone, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use a name from pg_timezone_names, e.g. UTC, Europe/Berlin, America/New_York '
                      '(names are case-sensitive).';
    END IF;

    SELECT s.value INTO v_previous
    FROM reports.settings AS s
    WHERE s.key = 'timezone'
    FOR UPDATE;

    IF v_previous IS NOT DISTINCT FROM p_timezone THEN
        RETURN p_timezone;
    END IF;

    -- Wait for a running refresh (it holds this lock): the zone never changes in the middle of one.
    PERFORM pg_advisory_xact_lock(reports._refresh_lock_key());

    INSERT INTO reports.settings AS s (key, value, updated_at)
    VALUES ('timezone', p_timezone, now())
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;

    UPDATE reports.summaries AS s
    SET needs_full_refresh = TRUE
    WHERE NOT s.needs_full_refresh;

    RAISE NOTICE 'reports time zone changed from % to %: a full refresh is required', v_previous, p_timezone
        USING HINT = 'Run reports.refresh_all() (or `reports refresh`): until then the summaries keep '
            'the days of the previous time zone.';
    RETURN p_timezone;
END
$$;

COMMENT ON FUNCTION reports.set_timezone(text) IS
'Stores the reports time zone (an IANA name from pg_timezone_names, case-sensitive) and returns it.
An unknown or null name raises 22023. When the zone changes, every summary is marked needs_full_refresh
and a NOTICE says that a full refresh is required: the summaries keep the local days of the previous
zone until reports.refresh_all() rebuilds them. A change waits for a running refresh to finish (it takes
the refresh advisory lock). Setting the current zone again changes nothing.';
