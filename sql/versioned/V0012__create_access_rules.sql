-- Who may run which report with which scope (docs/permissions.md), and the application user
-- behind a database role (needed by scopes 'team' and 'own' for psql users).
--
-- reports._authorize() (sql/repeatable/50_access/) reads both tables in every report call.
-- Edit the rows with plain INSERT/UPDATE/DELETE; no restart or migration is needed.
--
-- New tables only: nothing to wait for or to time out.
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts

CREATE TABLE reports.access_rules (
    subject text NOT NULL,
    subject_kind text NOT NULL,
    report text NOT NULL,
    scope text NOT NULL,
    CONSTRAINT access_rules_pkey PRIMARY KEY (subject, subject_kind, report),
    CONSTRAINT access_rules_subject_kind_check CHECK (subject_kind IN ('app_role', 'db_role')),
    CONSTRAINT access_rules_report_check CHECK (report = '*' OR report ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT access_rules_scope_check CHECK (scope IN ('all', 'team', 'own'))
);

INSERT INTO reports.access_rules (subject, subject_kind, report, scope)
VALUES
('admin', 'app_role', '*', 'all'),
('analyst', 'app_role', '*', 'all'),
('head', 'app_role', '*', 'team'),
('manager', 'app_role', '*', 'own'),
('reports_reader', 'db_role', '*', 'all');

COMMENT ON TABLE reports.access_rules IS
'Which report each application role or database role may run, and with which scope. '
'A caller with several matching rules gets the widest scope (all > team > own); no matching rule: 42501.';
COMMENT ON COLUMN reports.access_rules.subject IS
'Application role (as passed to reports.set_caller) or database role name, depending on subject_kind.';
COMMENT ON COLUMN reports.access_rules.subject_kind IS
'app_role: matched against the roles given to reports.set_caller by the HTTP service; '
'db_role: matched against every database role the session user of a psql session is a member of.';
COMMENT ON COLUMN reports.access_rules.report IS
'Name of a report function in schema reports (e.g. sales_pipeline), or * for every report.';
COMMENT ON COLUMN reports.access_rules.scope IS
'all: every row; team: rows owned by users of the caller''s team (crm.users.team_id, read live); '
'own: rows the caller owns (audit events: the caller''s own events).';

CREATE TABLE reports.db_role_users (
    role_name name NOT NULL,
    user_id bigint NOT NULL,
    CONSTRAINT db_role_users_pkey PRIMARY KEY (role_name)
);

COMMENT ON TABLE reports.db_role_users IS
'The CRM user behind a database login role, for psql callers whose access rule has scope team or own. '
'Matched on the session user''s own role name; a psql caller with scope team or own and no row here is refused.';
COMMENT ON COLUMN reports.db_role_users.role_name IS
'A database login role (the session user of a psql session).';
COMMENT ON COLUMN reports.db_role_users.user_id IS
'The crm.users id of that person: the owner id for scope own, the team for scope team.';
