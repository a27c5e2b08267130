-- The reports time zone and a window of instants around some local days.

CREATE OR REPLACE FUNCTION reports._timezone_window(
    p_days daterange,
    OUT tz text,
    OUT from_ts timestamptz,
    OUT to_ts timestamptz
)
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    -- Local midnights lie within a day of UTC midnight (UTC offsets are between -12 and +14 hours).
    SELECT
        reports.timezone(),
        CASE
            WHEN isempty(p_days) THEN 'infinity'::timestamptz
            ELSE coalesce((lower(p_days) - 1)::timestamp AT TIME ZONE 'UTC', '-infinity'::timestamptz)
        END,
        CASE
            WHEN isempty(p_days) THEN 'infinity'::timestamptz
            ELSE coalesce((upper(p_days) + 1)::timestamp AT TIME ZONE 'UTC', 'infinity'::timestamptz)
        END
$$;

COMMENT ON FUNCTION reports._timezone_window(daterange) IS
'For the compute functions, read once per call: tz = reports.timezone(), and instants [from_ts, to_ts)
that contain every instant of the local days of p_days in any time zone (a day of margin on each side;
unbounded ends give -infinity / infinity; an empty range gives an empty window). Sources are filtered on
the window first (index-friendly), then on the exact local day (ts AT TIME ZONE tz)::date <@ p_days.';
