-- The periods of a report range: dense, each clipped to the range; and the period of every day.

CREATE OR REPLACE FUNCTION reports._periods(
    p_from date, p_to date, p_grain text, p_max_periods integer DEFAULT 10000
)
RETURNS TABLE (period_start date, period_end date, days_from date, days_to date)
LANGUAGE plpgsql
IMMUTABLE
ROWS 50
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_step interval;
    v_first date;
    v_count bigint;
BEGIN
    PERFORM reports._check_range(p_from, p_to);
    PERFORM reports._check_grain(p_grain);
    v_step := CASE p_grain
        WHEN 'day' THEN interval '1 day'
        WHEN 'week' THEN interval '1 week'
        WHEN 'month' THEN interval '1 month'
        WHEN 'quarter' THEN interval '3 months'
        ELSE interval '1 year'
    END;
    -- date_trunc on a timestamp (not a date, which would become a timestamptz in the session time zone)
    v_first := pg_catalog.date_trunc(p_grain, p_from::timestamp)::date;
    v_count := CASE p_grain
        WHEN 'day' THEN p_to - v_first + 1
        WHEN 'week' THEN (p_to - v_first) / 7 + 1
        ELSE (
            (extract(YEAR FROM p_to) - extract(YEAR FROM v_first)) * 12
            + extract(MONTH FROM p_to) - extract(MONTH FROM v_first)
        )::bigint / CASE p_grain WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END + 1
    END;
    IF v_count > p_max_periods THEN
        RAISE EXCEPTION 'p_grain % splits p_from..p_to (% to %) into % periods, more than the % allowed',
            p_grain, p_from, p_to, v_count, p_max_periods
            USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Use a coarser p_grain or a shorter range.';
    END IF;
    RETURN QUERY
    SELECT
        s.start::date,
        (s.start + v_step)::date - 1,
        greatest(s.start::date, p_from),
        least((s.start + v_step)::date - 1, p_to)
    FROM pg_catalog.generate_series(v_first::timestamp, p_to::timestamp, v_step) AS s (start)
    ORDER BY s.start;
END
$$;

COMMENT ON FUNCTION reports._periods(date, date, text, integer) IS
'The dense periods of grain p_grain that overlap p_from..p_to, in order (internal).
period_start/period_end: the whole period (ISO weeks start on Monday); days_from/days_to: its days inside
the range. 22023 for a bad range or grain, or when there would be more than p_max_periods periods.';

CREATE OR REPLACE FUNCTION reports._period_days(p_from date, p_to date, p_grain text)
RETURNS TABLE (period_start date, day date)
LANGUAGE sql
IMMUTABLE
ROWS 400
SET search_path = reports, pg_temp
AS $$
    SELECT
        p.period_start,
        d.day::date AS day
    FROM reports._periods(p_from, p_to, p_grain) AS p
    CROSS JOIN LATERAL pg_catalog.generate_series(p.days_from::timestamp, p.days_to::timestamp, interval '1 day')
        AS d (day)
$$;

COMMENT ON FUNCTION reports._period_days(date, date, text) IS
'Every day of p_from..p_to with the start of its p_grain period, to group day buckets by period (internal).';
