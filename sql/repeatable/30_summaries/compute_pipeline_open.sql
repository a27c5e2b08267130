-- Definition of reports.pipeline_open: the open deals at refresh time.

CREATE OR REPLACE FUNCTION reports.compute_pipeline_open(p_days daterange)
RETURNS TABLE (
    owner_id bigint,
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
        d.owner_id,
        d.stage,
        count(*),
        sum(d.amount),
        sum(d.amount * coalesce(s.probability, 0)),
        sum(extract(EPOCH FROM now() - d.created_at) / 86400),
        now()
    FROM reports.src_deals AS d
    LEFT JOIN reports.src_pipeline_stages AS s ON d.stage = s.code
    WHERE d.status = 'open'
    GROUP BY d.owner_id, d.stage
$$;

COMMENT ON FUNCTION reports.compute_pipeline_open(daterange) IS
'Rows of reports.pipeline_open: the open deals now, per owner and current stage (a snapshot without a day
bucket: p_days is ignored; the argument keeps the signature of every compute function).
Source: reports.src_deals with status open. deals = number of deals; amount = sum of amount;
weighted_amount = sum of amount * probability of the deal''s stage (0 for an unknown stage);
age_days_sum = sum of (as_of - created_at) in days (interval epoch / 86400, unrounded); as_of = the
start of the refreshing transaction (now()). All sums unrounded.';
