-- The ranges of days to pass to a compute function to get (at least) the rows of some days.

CREATE OR REPLACE FUNCTION reports._compute_ranges(p_days datemultirange)
RETURNS SETOF daterange
LANGUAGE sql
IMMUTABLE
SET search_path = reports, pg_temp
AS $$
    -- Each call of a compute function plans its queries and reads its sources once (a whole-table
    -- scan when the source has no index on the instant that buckets it, e.g. crm.deals.created_at):
    -- a few ranges are computed one by one, many scattered days as their hull in one call (the
    -- caller keeps the rows of p_days).
    SELECT r.days
    FROM unnest(p_days) AS r (days)
    WHERE (SELECT count(*) FROM unnest(p_days)) <= 8
    UNION ALL
    SELECT range_merge(p_days)
    WHERE (SELECT count(*) FROM unnest(p_days)) > 8
$$;

COMMENT ON FUNCTION reports._compute_ranges(datemultirange) IS
'The day ranges whose compute calls cover the days p_days: the ranges of p_days themselves when there are at
most 8, else their hull (one call; the caller keeps only the rows of p_days). None for an empty p_days
(internal).';
