-- The version of the access rules: bumped by every change that can change what a caller may see
-- (reports.access_rules, reports.db_role_users, a user's team in crm.users), read by the HTTP service
-- into its ETags and cache keys (reports.api_access_version()), so that no cached answer outlives the
-- rule it was computed under (sql/repeatable/50_access/access_changes.sql).
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts

CREATE TABLE reports.access_version (
    singleton boolean NOT NULL DEFAULT TRUE,
    version bigint NOT NULL DEFAULT 0, -- noqa: RF04
    changed_at timestamptz,
    CONSTRAINT access_version_pkey PRIMARY KEY (singleton),
    CONSTRAINT access_version_singleton_check CHECK (singleton)
);

INSERT INTO reports.access_version (singleton) VALUES (TRUE);
