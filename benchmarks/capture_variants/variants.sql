-- Cost probes for the capture triggers on crm.deals (benchmarks/capture_variants/run.sh; results in
-- docs/benchmarks.md, "Capture trigger variants"). Only for a benchmark database: the run swaps the UPDATE trigger of
-- crm.deals. Not every variant is a correct capture: some exist only to locate the cost.

CREATE SCHEMA IF NOT EXISTS capture_bench;

-- An empty trigger function: the cost of the trigger machinery and of filling the transition tables.
CREATE OR REPLACE FUNCTION capture_bench.empty() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RETURN NULL;
END
$$;

-- One INSERT ... SELECT from new_rows into reports.change_log, no join with old_rows: not a correct
-- capture of an UPDATE (the old days and the change tests are missing); the floor of a statement-level
-- capture that writes one log row per row.
CREATE OR REPLACE FUNCTION capture_bench.insert_from_new_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = reports, pg_temp AS $$
BEGIN
    INSERT INTO reports.change_log (source_table, operation, deal_id, new_created_at, new_closed_at, dependants, open_deal)
    SELECT 'crm.deals', TG_OP, n.id, n.created_at, n.closed_at, TRUE, TRUE
    FROM new_rows AS n;
    RETURN NULL;
END
$$;

-- Row level, fired only when a column the summaries read changed (the trigger's WHEN, see run.sh): the
-- change tests of reports._capture_deals in PL/pgSQL, then one INSERT ... VALUES. Logs what
-- reports._capture_deals logs for an UPDATE that keeps the id.
CREATE OR REPLACE FUNCTION capture_bench.row_values() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = reports, pg_temp AS $$
DECLARE
    v_ownership boolean := (OLD.owner_id, OLD.client_id, OLD.deleted_at IS NULL, OLD.id)
        IS DISTINCT FROM (NEW.owner_id, NEW.client_id, NEW.deleted_at IS NULL, NEW.id);
    v_created boolean := OLD.created_at IS DISTINCT FROM NEW.created_at;
    v_outcomes boolean := v_ownership OR v_created
        OR (OLD.status, OLD.amount, OLD.closed_at) IS DISTINCT FROM (NEW.status, NEW.amount, NEW.closed_at);
    v_open boolean := (v_ownership OR v_created OR (OLD.status, OLD.stage, OLD.amount)
        IS DISTINCT FROM (NEW.status, NEW.stage, NEW.amount))
        AND ((OLD.status = 'open' AND OLD.deleted_at IS NULL) OR (NEW.status = 'open' AND NEW.deleted_at IS NULL));
BEGIN
    IF v_outcomes OR v_open THEN
        INSERT INTO reports.change_log (
            source_table, operation, deal_id, old_created_at, new_created_at, old_closed_at, new_closed_at,
            dependants, open_deal
        )
        VALUES (
            'crm.deals', 'UPDATE', NEW.id,
            CASE WHEN v_ownership OR v_created THEN OLD.created_at END,
            CASE WHEN v_ownership OR v_created THEN NEW.created_at END,
            CASE WHEN v_outcomes THEN OLD.closed_at END, CASE WHEN v_outcomes THEN NEW.closed_at END,
            v_ownership, coalesce(v_open, FALSE)
        );
    END IF;
    RETURN NULL;
END
$$;

-- Row level, same WHEN, the bare minimum: one INSERT ... VALUES of the old and new instants into a
-- table without identity, default or check (not a correct capture: flags and change tests missing).
CREATE TABLE IF NOT EXISTS capture_bench.plain_log (
    deal_id bigint, old_created_at timestamptz, new_created_at timestamptz,
    old_closed_at timestamptz, new_closed_at timestamptz
);
CREATE OR REPLACE FUNCTION capture_bench.row_minimal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = reports, pg_temp AS $$
BEGIN
    INSERT INTO capture_bench.plain_log VALUES (NEW.id, OLD.created_at, NEW.created_at, OLD.closed_at, NEW.closed_at);
    RETURN NULL;
END
$$;

-- The UPDATE query of reports._capture_deals before V0019 (commit 17dcd06~1): the same statement without
-- the deal's client before and after (old_client_id, new_client_id), to measure what logging them costs.
CREATE OR REPLACE FUNCTION capture_bench.without_clients() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = reports, pg_temp AS $$
DECLARE
    v_logged bigint;
BEGIN
    INSERT INTO reports.change_log (
        source_table, operation, deal_id, old_created_at, new_created_at, old_closed_at, new_closed_at,
        dependants, open_deal
    )
    SELECT
        'crm.deals', TG_OP, coalesce(n.id, o.id),
        CASE WHEN a.funnel THEN o.created_at END, CASE WHEN a.funnel THEN n.created_at END,
        CASE WHEN a.outcomes THEN o.closed_at END, CASE WHEN a.outcomes THEN n.closed_at END,
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
                OR (o.owner_id, o.client_id, o.deleted_at IS NULL)
                IS DISTINCT FROM (n.owner_id, n.client_id, n.deleted_at IS NULL) AS ownership,
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
