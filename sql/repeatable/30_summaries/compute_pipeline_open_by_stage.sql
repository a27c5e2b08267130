-- Definition of reports.pipeline_open_by_stage: pipeline_open summed over owners.

CREATE OR REPLACE FUNCTION reports.compute_pipeline_open_by_stage(p_days daterange)
RETURNS TABLE (
    stage_code text,
    deals bigint,
    amount numeric,
    weighted_amount numeric,
    age_days_sum numeric,
    as_of timestamptz
)
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT
        o.stage_code,
        sum(o.deals)::bigint,
        sum(o.amount),
        sum(o.weighted_amount),
        sum(o.age_days_sum),
        max(o.as_of)
    FROM reports.pipeline_open AS o
    GROUP BY o.stage_code
$$;

COMMENT ON FUNCTION reports.compute_pipeline_open_by_stage(daterange) IS
'Rows of reports.pipeline_open_by_stage: the rows of reports.pipeline_open (as stored: refreshed first, in the
same refresh) summed per stage over every owner; as_of is their latest snapshot time (a single value: the whole
of pipeline_open is written by one refresh). No day bucket: p_days is ignored (the argument keeps the signature
of every compute function). Only stages with at least one open deal.';
