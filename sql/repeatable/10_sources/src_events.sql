-- Adapter: the audit events, as the reports read them.

CREATE OR REPLACE VIEW reports.src_events AS
SELECT
    e.id,
    e.occurred_at,
    e.actor_id,
    e.action,
    e.entity_type
FROM audit.events AS e
WHERE reports._is_reportable_instant(e.occurred_at);

COMMENT ON VIEW reports.src_events IS
'Adapter over audit.events: the audit events (id, occurred_at, actor_id, action, entity_type).
Excludes only events whose occurred_at is not reportable (reports._is_reportable_instant: infinite or outside
0001-01-02..9999-12-31 UTC; listed in reports.source_anomalies()); actor_id is null for events without an actor (system events), entity_type may be null.';
