-- Adapter: the CRM's teams, as the reports read them.

CREATE OR REPLACE VIEW reports.src_teams AS
SELECT
    t.id,
    t.name
FROM crm.teams AS t;

COMMENT ON VIEW reports.src_teams IS
'Adapter over crm.teams: the teams (id, name) that reports show next to a manager.
Excludes nothing: every team, including teams without members.';
