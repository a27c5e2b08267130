-- Capture of changes to crm.users: a user's team decides what the team scope shows (docs/permissions.md).
--
-- No summary stores anything read from crm.users, so nothing is logged in reports.change_log; a change of
-- a user's team (or id), an insert, a delete or a truncate bumps the access version instead
-- (reports._bump_access_version, sql/repeatable/50_access/access_changes.sql), whose NOTIFY makes the
-- HTTP service drop its cached answers. Other columns (names, e-mail, is_active) change no scope.
-- Two variants, as for the other tables: statement-level (install.sql) and row-level
-- (install_row_level.sql).

CREATE OR REPLACE FUNCTION reports._capture_users()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
BEGIN
    -- Only a real change of team (the CRM may rewrite every column of a user on any update).
    IF TG_OP = 'UPDATE' THEN
        IF NOT EXISTS (
            SELECT FROM old_rows AS o
            FULL JOIN new_rows AS n ON o.id = n.id
            WHERE o.id IS NULL OR n.id IS NULL OR o.team_id IS DISTINCT FROM n.team_id
        ) THEN
            RETURN NULL;
        END IF;
    END IF;
    PERFORM reports._bump_access_version('crm.users');
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_users() IS
'Trigger function of the statement-level capture triggers on crm.users (sql/capture/install.sql): an UPDATE that
changes a user''s team_id or id, an INSERT, a DELETE or a TRUNCATE bumps the access version
(reports._bump_access_version) (internal).';

CREATE OR REPLACE FUNCTION reports._capture_users_row()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.id = NEW.id AND OLD.team_id IS NOT DISTINCT FROM NEW.team_id THEN
        RETURN NULL;
    END IF;
    PERFORM reports._bump_access_version('crm.users');
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION reports._capture_users_row() IS
'Trigger function of the row-level capture triggers on crm.users (sql/capture/install_row_level.sql): what
reports._capture_users() does, one row at a time (internal).';
