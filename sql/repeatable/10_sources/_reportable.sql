-- What a reportable instant and a reportable date are: the one rule every adapter applies.
--
-- The CRM may write any timestamptz or date: 'infinity', '-infinity', 4713-01-01 BC, 294276-12-30.
-- Such a value has no day the summaries can enumerate (generate_series never ends on infinity) or
-- compute with (date arithmetic raises 22008 near the ends of the types), and no face of reports can
-- show it (Python's date and datetime, hence psycopg, JSON renderers and Excel, stop at years 1 and
-- 9999). So a source row holding one is left out of every summary and report, like a soft-deleted
-- row, and listed by reports.source_anomalies(). NULL is not an anomaly: whether a column may be NULL
-- is the source contract's business (docs/source-contract.md).
-- The instants are one day inside the days, so the local day of a reportable instant lies in
-- reports._reportable_days() in every time zone (UTC offsets are under a day).

CREATE OR REPLACE FUNCTION reports._reportable_days()
RETURNS daterange
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT pg_catalog.daterange('0001-01-01', '9999-12-31', '[]')
$$;

COMMENT ON FUNCTION reports._reportable_days() IS
'The days a source value may fall on to be reported: 0001-01-01 through 9999-12-31 (both included; the
years 1 to 9999 that every face of reports can render). A source row with a date outside them, or with an
instant outside reports._is_reportable_instant(), is left out of every summary and listed in
reports.source_anomalies() (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._is_reportable_instant(p_at timestamptz)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    -- No SET clause: a function without one is inlined into the adapters' queries (a plain range test).
    SELECT p_at IS NULL OR (p_at >= '0001-01-02 00:00:00+00' AND p_at < '9999-12-31 00:00:00+00')
$$;

COMMENT ON FUNCTION reports._is_reportable_instant(timestamptz) IS
'Whether an instant of a source row can be reported: true for NULL and for instants from 0001-01-02 00:00 UTC
(included) to 9999-12-31 00:00 UTC (excluded), whose local day in any time zone lies in
reports._reportable_days(); false for infinity, -infinity and every instant outside that window (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._is_reportable_date(p_day date)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT p_day IS NULL OR (p_day >= '0001-01-01' AND p_day <= '9999-12-31')
$$;

COMMENT ON FUNCTION reports._is_reportable_date(date) IS
'Whether a date of a source row (crm.payments.due_date) can be reported: true for NULL and for the days of
reports._reportable_days() (0001-01-01 through 9999-12-31); false for infinity, -infinity and every other day
(internal, inlined)';

CREATE OR REPLACE FUNCTION reports._reportable_instants(p_created_at timestamptz, p_closed_at timestamptz)
RETURNS TABLE (created_at timestamptz, closed_at timestamptz)
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT
        CASE WHEN reports._is_reportable_instant(p_created_at) THEN p_created_at END,
        CASE WHEN reports._is_reportable_instant(p_closed_at) THEN p_closed_at END
$$;

COMMENT ON FUNCTION reports._reportable_instants(timestamptz, timestamptz) IS
'The two instants of a change (created_at, closed_at: a closing or paying instant), each replaced by NULL when it
is not reportable (reports._is_reportable_instant), so that the change capture gives no day for it
(internal, inlined)';

-- The rows of more than one instant, for the adapters and the change capture alike.

CREATE OR REPLACE FUNCTION reports._is_reportable_deal(p_created_at timestamptz, p_closed_at timestamptz)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT reports._is_reportable_instant(p_created_at) AND reports._is_reportable_instant(p_closed_at)
$$;

COMMENT ON FUNCTION reports._is_reportable_deal(timestamptz, timestamptz) IS
'Whether a deal with this created_at and closed_at can be reported: both instants reportable
(reports._is_reportable_instant; a NULL closed_at is) (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._is_reportable_payment(
    p_created_at timestamptz, p_paid_at timestamptz, p_due_date date
)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT
        reports._is_reportable_instant(p_created_at)
        AND reports._is_reportable_instant(p_paid_at)
        AND reports._is_reportable_date(p_due_date)
$$;

COMMENT ON FUNCTION reports._is_reportable_payment(timestamptz, timestamptz, date) IS
'Whether a payment with this created_at, paid_at and due_date can be reported: both instants reportable
(reports._is_reportable_instant; a NULL paid_at is) and the due date one of reports._reportable_days()
(internal, inlined)';
