-- Adapter: the CRM's payments that exist for the reports, with their owner.

CREATE OR REPLACE VIEW reports.src_payments AS
SELECT
    p.id,
    p.deal_id,
    p.client_id,
    coalesce(d.owner_id, c.owner_id) AS owner_id,
    p.amount,
    p.status,
    p.due_date,
    p.paid_at,
    p.created_at
FROM crm.payments AS p
INNER JOIN reports.src_clients AS c ON p.client_id = c.id
LEFT JOIN reports.src_deals AS d ON p.deal_id = d.id
WHERE
    (p.deal_id IS NULL OR d.id IS NOT NULL)
    AND reports._is_reportable_payment(p.created_at, p.paid_at, p.due_date);

COMMENT ON VIEW reports.src_payments IS
'Adapter over crm.payments: the payments that exist for the reports (id, deal_id, client_id, owner_id,
amount, status, due_date, paid_at, created_at).
Excludes payments of clients that are not in src_clients (soft-deleted clients) and payments of deals
that are not in src_deals (soft-deleted deals, deals of soft-deleted clients); payments without a deal
stay; and payments whose created_at or paid_at is not reportable (reports._is_reportable_payment; NULL
paid_at is kept) or whose due_date is outside 0001-01-01..9999-12-31, listed in
reports.source_anomalies(). owner_id = the owner of the payment''s deal, else the owner of its client (null when neither).
status is pending, paid, failed or refunded; paid_at is when money was received (kept on refund).';
