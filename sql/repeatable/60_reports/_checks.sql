-- Validation of report parameters, shared by every report: 22023 with a message naming the
-- parameter and its value, and a HINT.

CREATE OR REPLACE FUNCTION reports._check_range(p_from date, p_to date)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = reports, pg_temp
AS $$
BEGIN
    IF p_from IS NULL OR NOT pg_catalog.isfinite(p_from) THEN
        RAISE EXCEPTION 'p_from must be a finite date (got %)', coalesce(p_from::text, 'null')
            USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Pass the first day of the range, e.g. 2026-01-01; the range includes both ends.';
    END IF;
    IF p_to IS NULL OR NOT pg_catalog.isfinite(p_to) THEN
        RAISE EXCEPTION 'p_to must be a finite date (got %)', coalesce(p_to::text, 'null')
            USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Pass the last day of the range, e.g. 2026-12-31; the range includes both ends.';
    END IF;
    IF p_from > p_to THEN
        RAISE EXCEPTION 'p_from must be on or before p_to (got p_from %, p_to %)', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value',
                HINT = 'The range p_from..p_to includes both ends; swap the two dates.';
    END IF;
END
$$;

COMMENT ON FUNCTION reports._check_range(date, date) IS
'22023 unless p_from and p_to are finite dates with p_from <= p_to (internal).';

CREATE OR REPLACE FUNCTION reports._check_grain(p_grain text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = reports, pg_temp
AS $$
BEGIN
    IF p_grain IS NULL OR p_grain NOT IN ('day', 'week', 'month', 'quarter', 'year') THEN
        RAISE EXCEPTION 'p_grain must be one of day, week, month, quarter, year (got %)',
            coalesce(pg_catalog.quote_literal(p_grain), 'null')
            USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Grains are lower-case; weeks are ISO weeks starting on Monday.';
    END IF;
END
$$;

COMMENT ON FUNCTION reports._check_grain(text) IS
'22023 unless p_grain is one of day, week, month, quarter, year (internal).';

CREATE OR REPLACE FUNCTION reports._check_limit(p_limit integer)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = reports, pg_temp
AS $$
BEGIN
    IF p_limit IS NULL OR p_limit < 1 THEN
        RAISE EXCEPTION 'p_limit must be a positive integer (got %)', coalesce(p_limit::text, 'null')
            USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Pass how many rows to return, e.g. 10.';
    END IF;
END
$$;

COMMENT ON FUNCTION reports._check_limit(integer) IS
'22023 unless p_limit is a positive integer (internal).';

CREATE OR REPLACE FUNCTION reports._resolve_as_of(p_as_of date)
RETURNS date
LANGUAGE plpgsql
STABLE
SET search_path = reports, pg_temp
AS $$
BEGIN
    IF p_as_of IS NULL THEN
        RETURN (pg_catalog.now() AT TIME ZONE reports.timezone())::date;
    END IF;
    IF NOT pg_catalog.isfinite(p_as_of) THEN
        RAISE EXCEPTION 'p_as_of must be a finite date (got %)', p_as_of
            USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Pass a day, e.g. 2026-06-30, or null for today in the reports time zone.';
    END IF;
    RETURN p_as_of;
END
$$;

COMMENT ON FUNCTION reports._resolve_as_of(date) IS
'p_as_of, or today in the reports time zone (reports.timezone()) when null; 22023 when infinite (internal).';
