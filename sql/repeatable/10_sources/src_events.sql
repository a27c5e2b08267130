-- Adapter: the audit events, as the reports read them.

CREATE OR REPLACE VIEW reports.src_events AS
SELECT
    e.id,
    e.occurred_at,
    e.actor_id,
    e.action,
    e.entity_type
FROM audit.events AS e;

COMMENT ON VIEW reports.src_events IS
'Adapter over audit.events: every audit event (id, occurred_at, actor_id, action, entity_type).
Excludes nothing; actor_id is null for events without an actor (system events), entity_type may be null.';
