-- Changes that can change what a caller may see: reports.access_rules, reports.db_role_users, and the
-- team of a user (crm.users.team_id, the team scope). Each takes a new reports.access_version and sends
-- NOTIFY reports_access_changed when it commits, as a refresh sends reports_refreshed: the HTTP service
-- then drops every cached answer and its ETags change. The crm.users triggers belong to the change
-- capture (sql/capture/install*.sql, sql/repeatable/35_capture/capture_users.sql): crm is another service's
-- schema.

CREATE OR REPLACE FUNCTION reports._bump_access_version(p_source text)
RETURNS void
LANGUAGE sql
VOLATILE
SET search_path = reports, pg_temp
AS $$
    SELECT pg_catalog.pg_notify(
        'reports_access_changed',
        pg_catalog.json_build_object(
            'source', p_source, 'version', pg_catalog.nextval('reports.access_version'::regclass)
        )::text
    )
$$;

COMMENT ON FUNCTION reports._bump_access_version(text) IS
'Takes the next value of the sequence reports.access_version (no row lock: concurrent writers do not wait) and
sends NOTIFY reports_access_changed with {"source": p_source, "version": that value} at commit (internal).';

CREATE OR REPLACE FUNCTION reports._access_rules_changed()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
BEGIN
    PERFORM reports._bump_access_version(TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._access_rules_changed() IS
'Trigger function of the statement-level triggers on reports.access_rules and reports.db_role_users: every
INSERT, UPDATE, DELETE or TRUNCATE bumps the access version (reports._bump_access_version) (internal).';

CREATE OR REPLACE TRIGGER access_version_bump
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON reports.access_rules
FOR EACH STATEMENT EXECUTE FUNCTION reports._access_rules_changed();

CREATE OR REPLACE TRIGGER access_version_bump
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON reports.db_role_users
FOR EACH STATEMENT EXECUTE FUNCTION reports._access_rules_changed();

CREATE OR REPLACE FUNCTION reports.api_access_version()
RETURNS bigint
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
    SELECT CASE WHEN a.is_called THEN a.last_value ELSE 0 END FROM reports.access_version AS a
$$;

COMMENT ON FUNCTION reports.api_access_version() IS
'The version of the access rules (0 until the first change): larger after every committed change of
reports.access_rules or reports.db_role_users (any statement) and of a user''s team (crm.users.team_id, an INSERT, DELETE or TRUNCATE
of crm.users; noticed only while the change capture is installed, sql/capture/install.sql). The HTTP service
puts it in its ETags and drops its cached answers when NOTIFY reports_access_changed says it moved.';
