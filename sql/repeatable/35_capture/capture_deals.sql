-- Capture of changes to crm.deals: which days of which summaries a changed deal invalidates.
--
-- One reports.change_log row per changed deal, with the instants whose local days hold its rows:
-- created_at (stage_funnel_daily buckets a deal's stage history by its creation day) and closed_at
-- (deal_outcomes_daily), old and new. What a change touches, by the columns that changed:
--   ownership  owner_id, client_id, deleted_at set or not (a deal of a deleted client does not exist
--              for the reports), whether its instants are reportable (reports._is_reportable_deal: it
--              exists for the reports only then): every summary row of the deal, and its payments (dependants: their
--              owner is the deal owner, and they exist only while the deal does)
--   created    created_at: the funnel (created_at) and the outcomes (closed_at: won_cycle_days_sum)
--   outcome    status, amount, closed_at: deal_outcomes_daily (closed_at)
--   pipeline   status, stage, amount: pipeline_open, only when the old or the new row is an open deal
--              that is not deleted (open_deal)
-- An insert or a delete touches everything. Other columns (title, updated_at, ...) log nothing.
-- With the closing instants go the deal's client before and after (old_client_id, new_client_id): in
-- deal_outcomes_daily the change touches only that client's rows of those days (summaries.group_column).
--
-- Two variants write the same rows: reports._capture_deals() for statement-level triggers with
-- transition tables (sql/capture/install.sql: cheap for writers, one INSERT per statement) and
-- reports._capture_deals_row() for row-level triggers (sql/capture/install_row_level.sql: a logical
-- replication subscriber fires only those). The UPDATE query of the first and the query of the second
-- are the same SELECT over a different FROM; tests/test_capture.py checks that both log the same rows.

CREATE OR REPLACE FUNCTION reports._capture_deals()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_logged bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO reports.change_log (
            source_table, operation, deal_id, new_created_at, new_closed_at, new_client_id, dependants, open_deal
        )
        SELECT
            'crm.deals', TG_OP, n.id, n.created_at, n.closed_at, n.client_id, TRUE,
            n.status = 'open' AND n.deleted_at IS NULL
        FROM new_rows AS n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO reports.change_log (
            source_table, operation, deal_id, old_created_at, old_closed_at, old_client_id, dependants, open_deal
        )
        SELECT
            'crm.deals', TG_OP, o.id, o.created_at, o.closed_at, o.client_id, TRUE,
            o.status = 'open' AND o.deleted_at IS NULL
        FROM old_rows AS o;
    ELSE
        INSERT INTO reports.change_log (
            source_table, operation, deal_id, old_created_at, new_created_at, old_closed_at, new_closed_at,
            old_client_id, new_client_id, dependants, open_deal
        )
        SELECT
            'crm.deals', TG_OP, coalesce(n.id, o.id),
            CASE WHEN a.funnel THEN o.created_at END, CASE WHEN a.funnel THEN n.created_at END,
            CASE WHEN a.outcomes THEN o.closed_at END, CASE WHEN a.outcomes THEN n.closed_at END,
            CASE WHEN a.outcomes THEN o.client_id END, CASE WHEN a.outcomes THEN n.client_id END,
            a.dependants, a.open_deal
        FROM old_rows AS o
        FULL JOIN new_rows AS n ON o.id = n.id
        CROSS JOIN LATERAL (
            SELECT
                c.ownership AS dependants,
                c.ownership OR c.created AS funnel,
                c.ownership OR c.created OR c.outcome AS outcomes,
                (c.ownership OR c.created OR c.pipeline)
                AND (
                    coalesce(o.status = 'open' AND o.deleted_at IS NULL, FALSE)
                    OR coalesce(n.status = 'open' AND n.deleted_at IS NULL, FALSE)
                ) AS open_deal
            FROM (
                SELECT
                    o.id IS NULL OR n.id IS NULL
                    OR (o.owner_id, o.client_id, o.deleted_at IS NULL, reports._is_reportable_deal(o.created_at, o.closed_at))
                    IS DISTINCT FROM
                    (n.owner_id, n.client_id, n.deleted_at IS NULL, reports._is_reportable_deal(n.created_at, n.closed_at))
                        AS ownership,
                    o.created_at IS DISTINCT FROM n.created_at AS created,
                    (o.status, o.amount, o.closed_at) IS DISTINCT FROM (n.status, n.amount, n.closed_at) AS outcome,
                    (o.status, o.stage, o.amount) IS DISTINCT FROM (n.status, n.stage, n.amount) AS pipeline
            ) AS c
        ) AS a
        WHERE a.outcomes OR a.open_deal;
    END IF;
    GET DIAGNOSTICS v_logged = ROW_COUNT;
    IF v_logged > 0 THEN
        PERFORM reports._notify_changes('crm.deals');
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_deals() IS
'Trigger function of the statement-level AFTER INSERT / UPDATE / DELETE capture triggers on crm.deals
(transition tables new_rows / old_rows): appends one reports.change_log row per deal whose change can change a
summary (see the header of sql/repeatable/35_capture/capture_deals.sql), then NOTIFY reports_changes
(internal).';

CREATE OR REPLACE FUNCTION reports._capture_deals_row()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_logged bigint;
BEGIN
    INSERT INTO reports.change_log (
        source_table, operation, deal_id, old_created_at, new_created_at, old_closed_at, new_closed_at,
        old_client_id, new_client_id, dependants, open_deal
    )
    SELECT
        'crm.deals', TG_OP, coalesce(n.id, o.id),
        CASE WHEN a.funnel THEN o.created_at END, CASE WHEN a.funnel THEN n.created_at END,
        CASE WHEN a.outcomes THEN o.closed_at END, CASE WHEN a.outcomes THEN n.closed_at END,
        CASE WHEN a.outcomes THEN o.client_id END, CASE WHEN a.outcomes THEN n.client_id END,
        a.dependants, a.open_deal
    FROM (SELECT OLD.* WHERE TG_OP <> 'INSERT') AS o
    FULL JOIN (SELECT NEW.* WHERE TG_OP <> 'DELETE') AS n ON o.id = n.id
    CROSS JOIN LATERAL (
        SELECT
            c.ownership AS dependants,
            c.ownership OR c.created AS funnel,
            c.ownership OR c.created OR c.outcome AS outcomes,
            (c.ownership OR c.created OR c.pipeline)
            AND (
                coalesce(o.status = 'open' AND o.deleted_at IS NULL, FALSE)
                OR coalesce(n.status = 'open' AND n.deleted_at IS NULL, FALSE)
            ) AS open_deal
        FROM (
            SELECT
                o.id IS NULL OR n.id IS NULL
                OR (o.owner_id, o.client_id, o.deleted_at IS NULL, reports._is_reportable_deal(o.created_at, o.closed_at))
                IS DISTINCT FROM
                (n.owner_id, n.client_id, n.deleted_at IS NULL, reports._is_reportable_deal(n.created_at, n.closed_at))
                    AS ownership,
                o.created_at IS DISTINCT FROM n.created_at AS created,
                (o.status, o.amount, o.closed_at) IS DISTINCT FROM (n.status, n.amount, n.closed_at) AS outcome,
                (o.status, o.stage, o.amount) IS DISTINCT FROM (n.status, n.stage, n.amount) AS pipeline
        ) AS c
    ) AS a
    WHERE a.outcomes OR a.open_deal;
    GET DIAGNOSTICS v_logged = ROW_COUNT;
    IF v_logged > 0 THEN
        PERFORM reports._notify_changes('crm.deals');
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_deals_row() IS
'Trigger function of the row-level AFTER INSERT / UPDATE / DELETE capture triggers on crm.deals (for a logical
replication subscriber, whose apply worker fires only row-level triggers): logs exactly what
reports._capture_deals() logs for the same change, one row at a time (internal).';
