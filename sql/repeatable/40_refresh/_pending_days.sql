-- The days of a summary that captured changes invalidated and no refresh has recomputed yet.

CREATE OR REPLACE FUNCTION reports._pending_days(p_summary text)
RETURNS datemultirange
LANGUAGE plpgsql
STABLE
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_days datemultirange;
    v_base text;
BEGIN
    -- PL/pgSQL rather than SQL: the plan of the query below (over a view of many branches) is cached
    -- for the session instead of being made again at every call of every report reader.
    IF reports._full_refresh_due(p_summary) THEN
        RETURN '{(,)}'::datemultirange;
    END IF;
    SELECT
        CASE
            WHEN bool_or(p.day IS NULL) THEN '{(,)}'::datemultirange
            ELSE coalesce(range_agg(daterange(p.day, p.day, '[]')), '{}'::datemultirange)
        END
    INTO v_days
    FROM (
        -- an invalid month of a summary with month buckets is pending on every day of it (at most 31 days:
        -- invalid_days holds only days of reports._reportable_days(), its CHECK constraint)
        SELECT g.day::date AS day -- noqa: RF04
        FROM reports.invalid_days AS i
        INNER JOIN reports.summaries AS s ON i.summary = s.name
        CROSS JOIN LATERAL generate_series(
            i.day,
            CASE s.bucket_grain WHEN 'month' THEN i.day + interval '1 month' - interval '1 day' ELSE i.day END,
            interval '1 day'
        ) AS g (day)
        WHERE i.summary = p_summary AND i.day IS NOT NULL
        UNION
        SELECT NULL::date
        FROM reports.invalid_days AS i
        WHERE i.summary = p_summary AND i.day IS NULL
        UNION
        SELECT d.day
        FROM reports._change_days AS d
        WHERE d.summary = p_summary
    ) AS p;
    -- a summary computed from others (depends_on) is stale wherever they are
    FOR v_base IN
        SELECT b.name FROM reports.summaries AS s CROSS JOIN unnest(s.depends_on) AS b (name) WHERE s.name = p_summary
    LOOP
        v_days := v_days + reports._pending_days(v_base);
    END LOOP;
    RETURN v_days;
END
$$;

COMMENT ON FUNCTION reports._pending_days(text) IS
'The local days (reports.timezone()) whose stored rows of summary p_summary may differ from a recompute at the
caller''s snapshot: the days in reports.invalid_days (every day of the month of an entry of a summary with month
buckets, bucket_grain month), and those of the reports.change_log rows the snapshot sees;
every day (''{(,)}'') when a full refresh is due (reports._full_refresh_due) or a change invalidated the whole
summary; the pending days of the summaries it is computed from (depends_on) are added to its own; empty when it
is up to date. Every other day of the summary equals its recompute: a change committed
before the snapshot is either still logged, or in invalid_days, or was refreshed at a later snapshot
(internal).';

CREATE OR REPLACE FUNCTION reports._realtime()
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT coalesce(nullif(current_setting('reports.realtime', TRUE), '')::boolean, FALSE)
$$;

COMMENT ON FUNCTION reports._realtime() IS
'Whether the caller turned real-time reports on for its transaction: SET LOCAL reports.realtime = on (or
set_config(''reports.realtime'', ''on'', true)); off when unset. A value that is not a boolean raises 22P02
(internal).';

CREATE OR REPLACE FUNCTION reports._realtime_days(p_summary text)
RETURNS datemultirange
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT CASE WHEN reports._realtime() THEN reports._pending_days(p_summary) ELSE '{}'::datemultirange END
$$;

COMMENT ON FUNCTION reports._realtime_days(text) IS
'The days of summary p_summary that the report readers compute live instead of reading them stored: empty
unless real-time reports are on (reports._realtime()), then reports._pending_days(p_summary) (internal).';
