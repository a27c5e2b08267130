-- The version of the access rules: bumped by every change that can change what a caller may see
-- (reports.access_rules, reports.db_role_users, a user's team in crm.users), read by the HTTP service
-- into its ETags and cache keys (reports.api_access_version()), so that no cached answer outlives the
-- rule it was computed under (sql/repeatable/50_access/access_changes.sql). A sequence, not a row:
-- nextval takes no row lock, so concurrent CRM writers changing users never wait on one another (a
-- rolled-back change still uses a number: the caches are then dropped once for nothing).
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts

CREATE SEQUENCE reports.access_version AS bigint;

COMMENT ON SEQUENCE reports.access_version IS
'The version of the access rules: one value is taken by every change of reports.access_rules,
reports.db_role_users or a user''s team (reports._bump_access_version); read by reports.api_access_version().';
