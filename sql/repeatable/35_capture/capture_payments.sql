-- Capture of changes to crm.payments: which days of which summaries a changed payment invalidates.
--
-- One reports.change_log row per changed payment, with the instants whose local days hold its rows,
-- old and new: created_at in old/new_created_at (payment_open_spans, bucketed by creation day) and
-- paid_at in old/new_closed_at (payments_collected_daily, bucketed by paid day). What a change
-- touches, by the columns that changed:
--   ownership  deal_id, client_id (the payment's owner and existence follow its deal and client),
--              and whether its instants and due date are reportable (reports._is_reportable_payment:
--              it exists for the reports only then): both summaries
--   collected  amount, paid_at: payments_collected_daily (paid_at; it counts every status)
--   open       amount, paid_at, created_at, due_date, failed or not: payment_open_spans (created_at)
-- An insert or a delete touches both. Other columns (currency, updated_at, ...) log nothing. A change
-- of the payment's deal or client themselves is captured on crm.deals / crm.clients (dependants).
--
-- Two variants write the same rows (see capture_deals.sql): reports._capture_payments() for
-- statement-level triggers, reports._capture_payments_row() for row-level triggers.

CREATE OR REPLACE FUNCTION reports._capture_payments()
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
        INSERT INTO reports.change_log (source_table, operation, new_created_at, new_closed_at)
        SELECT 'crm.payments', TG_OP, n.created_at, n.paid_at
        FROM new_rows AS n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO reports.change_log (source_table, operation, old_created_at, old_closed_at)
        SELECT 'crm.payments', TG_OP, o.created_at, o.paid_at
        FROM old_rows AS o;
    ELSE
        INSERT INTO reports.change_log (
            source_table, operation, old_created_at, new_created_at, old_closed_at, new_closed_at
        )
        SELECT
            'crm.payments', TG_OP,
            CASE WHEN a.open THEN o.created_at END, CASE WHEN a.open THEN n.created_at END,
            CASE WHEN a.collected THEN o.paid_at END, CASE WHEN a.collected THEN n.paid_at END
        FROM old_rows AS o
        FULL JOIN new_rows AS n ON o.id = n.id
        CROSS JOIN LATERAL (
            SELECT
                c.ownership OR c.collected AS collected,
                c.ownership OR c.collected OR c.open AS open
            FROM (
                SELECT
                    o.id IS NULL OR n.id IS NULL
                    OR (o.deal_id, o.client_id, reports._is_reportable_payment(o.created_at, o.paid_at, o.due_date))
                    IS DISTINCT FROM
                    (n.deal_id, n.client_id, reports._is_reportable_payment(n.created_at, n.paid_at, n.due_date))
                        AS ownership,
                    (o.amount, o.paid_at) IS DISTINCT FROM (n.amount, n.paid_at) AS collected,
                    (o.created_at, o.due_date, o.status = 'failed')
                    IS DISTINCT FROM (n.created_at, n.due_date, n.status = 'failed') AS open
            ) AS c
        ) AS a
        WHERE a.open;
    END IF;
    GET DIAGNOSTICS v_logged = ROW_COUNT;
    IF v_logged > 0 THEN
        PERFORM reports._notify_changes('crm.payments');
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_payments() IS
'Trigger function of the statement-level AFTER INSERT / UPDATE / DELETE capture triggers on crm.payments
(transition tables new_rows / old_rows): appends one reports.change_log row per payment whose change can
change a summary (see the header of sql/repeatable/35_capture/capture_payments.sql), then NOTIFY
reports_changes (internal).';

CREATE OR REPLACE FUNCTION reports._capture_payments_row()
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
        source_table, operation, old_created_at, new_created_at, old_closed_at, new_closed_at
    )
    SELECT
        'crm.payments', TG_OP,
        CASE WHEN a.open THEN o.created_at END, CASE WHEN a.open THEN n.created_at END,
        CASE WHEN a.collected THEN o.paid_at END, CASE WHEN a.collected THEN n.paid_at END
    FROM (SELECT OLD.* WHERE TG_OP <> 'INSERT') AS o
    FULL JOIN (SELECT NEW.* WHERE TG_OP <> 'DELETE') AS n ON o.id = n.id
    CROSS JOIN LATERAL (
        SELECT
            c.ownership OR c.collected AS collected,
            c.ownership OR c.collected OR c.open AS open
        FROM (
            SELECT
                o.id IS NULL OR n.id IS NULL
                OR (o.deal_id, o.client_id, reports._is_reportable_payment(o.created_at, o.paid_at, o.due_date))
                IS DISTINCT FROM
                (n.deal_id, n.client_id, reports._is_reportable_payment(n.created_at, n.paid_at, n.due_date))
                    AS ownership,
                (o.amount, o.paid_at) IS DISTINCT FROM (n.amount, n.paid_at) AS collected,
                (o.created_at, o.due_date, o.status = 'failed')
                IS DISTINCT FROM (n.created_at, n.due_date, n.status = 'failed') AS open
        ) AS c
    ) AS a
    WHERE a.open;
    GET DIAGNOSTICS v_logged = ROW_COUNT;
    IF v_logged > 0 THEN
        PERFORM reports._notify_changes('crm.payments');
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_payments_row() IS
'Trigger function of the row-level AFTER INSERT / UPDATE / DELETE capture triggers on crm.payments (for a
logical replication subscriber): logs exactly what reports._capture_payments() logs for the same change, one
row at a time (internal).';
