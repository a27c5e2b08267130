-- Definition of reports.stage_funnel_daily: stages entered by the deals created on a local day.

CREATE OR REPLACE FUNCTION reports.compute_stage_funnel_daily(p_days daterange)
RETURNS TABLE (
    created_day date,
    owner_id bigint,
    stage_code text,
    reached bigint,
    left_deals bigint,
    days_in_stage_sum numeric
)
LANGUAGE plpgsql
STABLE
SET search_path = reports, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_tz text;
    v_from timestamptz;
    v_to timestamptz;
    v_every_day constant boolean := lower_inf(p_days) AND upper_inf(p_days);
BEGIN
    SELECT w.tz, w.from_ts, w.to_ts INTO v_tz, v_from, v_to FROM reports._timezone_window(p_days) AS w;

    RETURN QUERY
    SELECT
        s.created_day,
        s.owner_id,
        s.to_stage,
        count(*),
        count(s.next_changed_at),
        coalesce(sum(extract(EPOCH FROM s.next_changed_at - s.changed_at) / 86400), 0)
    FROM (
        SELECT
            deal.created_day,
            deal.owner_id,
            h.to_stage,
            h.changed_at,
            row_number() OVER (PARTITION BY h.deal_id, h.to_stage ORDER BY h.changed_at, h.id) AS entry_no,
            lead(h.changed_at) OVER (PARTITION BY h.deal_id ORDER BY h.changed_at, h.id) AS next_changed_at
        FROM (
            SELECT
                d.id,
                d.owner_id,
                (d.created_at AT TIME ZONE v_tz)::date AS created_day
            FROM reports.src_deals AS d
            WHERE
                d.created_at >= v_from
                AND d.created_at < v_to
        ) AS deal
        INNER JOIN reports.src_deal_stage_history AS h ON deal.id = h.deal_id
        WHERE v_every_day OR deal.created_day <@ p_days
    ) AS s
    WHERE s.entry_no = 1
    GROUP BY s.created_day, s.owner_id, s.to_stage;
END
$$;

COMMENT ON FUNCTION reports.compute_stage_funnel_daily(daterange) IS
'Rows of reports.stage_funnel_daily for the local creation days in p_days: stages entered by the deals
created that day, per created_day, owner and stage.
Source: reports.src_deals (created_day = local date of created_at in reports.timezone(), owner_id = deal
owner) and their reports.src_deal_stage_history, ordered per deal by changed_at, then id. A deal enters
stage_code with a history row whose to_stage is that stage; only its FIRST entry counts. reached = deals
that entered the stage; left_deals = those of them with a later history row; days_in_stage_sum = sum over
those of (changed_at of the first history row after the first entry - changed_at of the first entry) in
days (interval epoch / 86400, unrounded). Stages nobody entered have no row.';
