-- Nothing in schema reports is executable by PUBLIC; access goes through the group roles.

-- ROUTINES: functions and procedures (ALL FUNCTIONS would leave procedures executable by PUBLIC).
REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA reports FROM PUBLIC; -- noqa: CP02

-- Routines created later by the migration role. A per-schema default privilege can only add to the
-- global defaults (see ALTER DEFAULT PRIVILEGES), so the per-schema REVOKE alone would not stop new
-- routines from being executable by PUBLIC: the second statement (this role, this database, every
-- schema it creates routines in, i.e. only reports) does. In this command FUNCTIONS covers procedures.
ALTER DEFAULT PRIVILEGES IN SCHEMA reports REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC; -- noqa: CP02
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC; -- noqa: CP02

GRANT USAGE ON SCHEMA reports TO reports_reader, reports_refresher, reports_admin, reports_api;
