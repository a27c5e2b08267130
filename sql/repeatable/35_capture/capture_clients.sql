-- Capture of changes to crm.clients: which days of which summaries a changed client invalidates.
--
-- One reports.change_log row per changed client: its id (client_id) and, old and new, created_at
-- (clients_created_daily, bucketed by creation day). What a change touches, by the columns that
-- changed:
--   ownership  owner_id, deleted_at set or not, whether created_at is reportable
--              (reports._is_reportable_instant: it exists for the reports only then):
--              clients_created_daily, and every row of the client's deals and payments
--              (dependants: a deleted client's deals and payments do not exist for the reports,
--              and a payment without a deal is owned by its client's owner)
--   created    created_at: clients_created_daily
-- An insert or a delete touches everything. Other columns (name, industry, ...) log nothing: the
-- reports read client names live.
--
-- Two variants write the same rows (see capture_deals.sql): reports._capture_clients() for
-- statement-level triggers, reports._capture_clients_row() for row-level triggers.

CREATE OR REPLACE FUNCTION reports._capture_clients()
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
        INSERT INTO reports.change_log (source_table, operation, client_id, new_created_at, dependants)
        SELECT 'crm.clients', TG_OP, n.id, n.created_at, TRUE
        FROM new_rows AS n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO reports.change_log (source_table, operation, client_id, old_created_at, dependants)
        SELECT 'crm.clients', TG_OP, o.id, o.created_at, TRUE
        FROM old_rows AS o;
    ELSE
        INSERT INTO reports.change_log (
            source_table, operation, client_id, old_created_at, new_created_at, dependants
        )
        SELECT 'crm.clients', TG_OP, coalesce(n.id, o.id), o.created_at, n.created_at, c.ownership
        FROM old_rows AS o
        FULL JOIN new_rows AS n ON o.id = n.id
        CROSS JOIN LATERAL (
            SELECT
                o.id IS NULL OR n.id IS NULL
                OR (o.owner_id, o.deleted_at IS NULL, reports._is_reportable_instant(o.created_at))
                IS DISTINCT FROM (n.owner_id, n.deleted_at IS NULL, reports._is_reportable_instant(n.created_at))
                    AS ownership,
                o.created_at IS DISTINCT FROM n.created_at AS created
        ) AS c
        WHERE c.ownership OR c.created;
    END IF;
    GET DIAGNOSTICS v_logged = ROW_COUNT;
    IF v_logged > 0 THEN
        PERFORM reports._notify_changes('crm.clients');
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_clients() IS
'Trigger function of the statement-level AFTER INSERT / UPDATE / DELETE capture triggers on crm.clients
(transition tables new_rows / old_rows): appends one reports.change_log row per client whose change can change
a summary (see the header of sql/repeatable/35_capture/capture_clients.sql), then NOTIFY reports_changes
(internal).';

CREATE OR REPLACE FUNCTION reports._capture_clients_row()
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
        source_table, operation, client_id, old_created_at, new_created_at, dependants
    )
    SELECT 'crm.clients', TG_OP, coalesce(n.id, o.id), o.created_at, n.created_at, c.ownership
    FROM (SELECT OLD.* WHERE TG_OP <> 'INSERT') AS o
    FULL JOIN (SELECT NEW.* WHERE TG_OP <> 'DELETE') AS n ON o.id = n.id
    CROSS JOIN LATERAL (
        SELECT
            o.id IS NULL OR n.id IS NULL
            OR (o.owner_id, o.deleted_at IS NULL, reports._is_reportable_instant(o.created_at))
                IS DISTINCT FROM (n.owner_id, n.deleted_at IS NULL, reports._is_reportable_instant(n.created_at))
                AS ownership,
            o.created_at IS DISTINCT FROM n.created_at AS created
    ) AS c
    WHERE c.ownership OR c.created;
    GET DIAGNOSTICS v_logged = ROW_COUNT;
    IF v_logged > 0 THEN
        PERFORM reports._notify_changes('crm.clients');
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_clients_row() IS
'Trigger function of the row-level AFTER INSERT / UPDATE / DELETE capture triggers on crm.clients (for a
logical replication subscriber): logs exactly what reports._capture_clients() logs for the same change, one
row at a time (internal).';
