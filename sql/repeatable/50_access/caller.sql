-- reports._caller(): who is calling a report (docs/permissions.md, "Who is the caller").

CREATE OR REPLACE FUNCTION reports._caller(
    OUT subject_kind text,
    OUT subjects text[],
    OUT user_id bigint,
    OUT is_admin boolean,
    OUT refusal text
)
RETURNS record
LANGUAGE plpgsql
STABLE
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_user_setting text := nullif(pg_catalog.current_setting('reports.caller_user_id', true), '');
    v_roles_setting text := coalesce(pg_catalog.current_setting('reports.caller_roles', true), '');
    v_is_api boolean := pg_catalog.pg_has_role(session_user, 'reports_api', 'MEMBER');
    v_is_superuser boolean;
BEGIN
    is_admin := false;
    -- 1. the HTTP service, with a caller context set by reports.set_caller()
    IF v_is_api AND v_user_setting IS NOT NULL THEN
        subject_kind := 'app_role';
        subjects := pg_catalog.string_to_array(v_roles_setting, ',');
        -- a bigint from 1 to 9223372036854775807, the range reports.set_caller and the API accept
        IF v_user_setting !~ '^[1-9][0-9]{0,18}$'
            OR (pg_catalog.length(v_user_setting) = 19 AND v_user_setting COLLATE "C" > '9223372036854775807')
            OR EXISTS (SELECT FROM pg_catalog.unnest(subjects) AS r (role) WHERE r.role !~ '^[a-z][a-z0-9_]*$') THEN
            refusal := 'the caller context is malformed (set it with reports.set_caller only)';
            RETURN;
        END IF;
        user_id := v_user_setting::bigint;
        RETURN;
    END IF;
    SELECT r.rolsuper INTO v_is_superuser FROM pg_catalog.pg_roles AS r WHERE r.rolname = session_user;
    IF v_is_api AND NOT coalesce(v_is_superuser, false) THEN
        refusal := pg_catalog.format(
            'session user %s is a member of reports_api but no caller was set with reports.set_caller', session_user
        );
        RETURN;
    END IF;
    -- 2. a database role (psql)
    subject_kind := 'db_role';
    SELECT d.user_id INTO user_id FROM reports.db_role_users AS d WHERE d.role_name = session_user;
    IF pg_catalog.pg_has_role(session_user, 'reports_admin', 'MEMBER') THEN
        is_admin := true;
        subjects := ARRAY[session_user::text];
        RETURN;
    END IF;
    IF NOT pg_catalog.pg_has_role(session_user, 'reports_reader', 'MEMBER') THEN
        -- 3. anyone else
        refusal := pg_catalog.format('session user %s is not a member of reports_reader', session_user);
        RETURN;
    END IF;
    subjects := ARRAY(
        SELECT r.rolname::text
        FROM pg_catalog.pg_roles AS r
        WHERE pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER')
        ORDER BY r.rolname
    );
END
$$;

COMMENT ON FUNCTION reports._caller() IS
'The caller of the current report call, as docs/permissions.md decides it (internal, never granted).
1. Session user member of reports_api (superusers included) and reports.caller_user_id set (by
   reports.set_caller in this transaction): subject_kind app_role, subjects = the application roles,
   user_id = that user. The settings are trusted only from reports_api members.
2. Session user member of reports_api, not a superuser, no caller set: refused (never widened, even when
   the role is also a member of reports_admin).
3. Otherwise the database role decides: members of reports_admin (superusers included) are admins (scope all);
   members of reports_reader get subject_kind db_role, subjects = every role the session user is a member of
   (itself included); user_id from reports.db_role_users for the session user (null when unmapped).
4. Anyone else: refused. A refused caller has refusal set (the reason, for the 42501 message).';
