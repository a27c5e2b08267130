-- Adapter: the CRM's deals that exist for the reports.

CREATE OR REPLACE VIEW reports.src_deals AS
SELECT
    d.id,
    d.client_id,
    d.owner_id,
    d.stage,
    d.status,
    d.amount,
    d.created_at,
    d.closed_at
FROM crm.deals AS d
WHERE
    d.deleted_at IS NULL
    AND reports._is_reportable_deal(d.created_at, d.closed_at)
    AND EXISTS (
        SELECT FROM reports.src_clients AS c
        WHERE c.id = d.client_id
    );

COMMENT ON VIEW reports.src_deals IS
'Adapter over crm.deals: the deals that exist for the reports (id, client_id, owner_id, stage, status,
amount, created_at, closed_at).
Excludes soft-deleted deals (deleted_at IS NOT NULL), deals whose created_at or closed_at is not reportable
(reports._is_reportable_deal: infinite or outside 0001-01-02..9999-12-31 UTC; NULL closed_at is kept;
listed in reports.source_anomalies()) and deals of clients that are not in src_clients. status is open, won or lost; closed_at is the time a deal was won or lost.';
