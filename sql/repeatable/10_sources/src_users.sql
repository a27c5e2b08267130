-- Adapter: the CRM's users (managers, heads, ...), as the reports read them.

CREATE OR REPLACE VIEW reports.src_users AS
SELECT
    u.id,
    u.full_name,
    u.team_id,
    u.is_active
FROM crm.users AS u;

COMMENT ON VIEW reports.src_users IS
'Adapter over crm.users: every user (id, full_name, team_id, is_active) that can own rows or act.
Excludes nothing: inactive users stay, because their past deals, payments and events still count.';
