-- Adapter: the CRM's clients that exist for the reports.

CREATE OR REPLACE VIEW reports.src_clients AS
SELECT
    c.id,
    c.name,
    c.owner_id,
    c.created_at
FROM crm.clients AS c
WHERE
    c.deleted_at IS NULL
    AND reports._is_reportable_instant(c.created_at);

COMMENT ON VIEW reports.src_clients IS
'Adapter over crm.clients: the clients that exist for the reports (id, name, owner_id, created_at).
Excludes soft-deleted clients (deleted_at IS NOT NULL) and clients whose created_at is not reportable
(reports._is_reportable_instant: infinite or outside 0001-01-02..9999-12-31 UTC; listed in
reports.source_anomalies()). owner_id may be null (no owner).
Every other adapter that refers to a client (src_deals, src_payments) keeps only clients of this view.';
