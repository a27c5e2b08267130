-- Adapter: the stage history of the deals that exist for the reports.
--
-- The view is reports.src_deal_stage_history; this file is named src_deals_* so that it is
-- applied after src_deals.sql (repeatable files are applied in path order), whose view it reads.

CREATE OR REPLACE VIEW reports.src_deal_stage_history AS
SELECT
    h.id,
    h.deal_id,
    h.to_stage,
    h.changed_at
FROM crm.deal_stage_history AS h
WHERE
    reports._is_reportable_instant(h.changed_at)
    AND EXISTS (
        SELECT FROM reports.src_deals AS d
        WHERE d.id = h.deal_id
    );

COMMENT ON VIEW reports.src_deal_stage_history IS
'Adapter over crm.deal_stage_history: stage changes (id, deal_id, to_stage, changed_at) of the deals in
src_deals. Excludes the history of excluded deals (soft-deleted deals, deals of soft-deleted clients, deals
with an instant that is not reportable) and rows whose changed_at is not reportable
(reports._is_reportable_instant; listed in reports.source_anomalies()).
Rows of one deal are ordered by changed_at, then id.';
