-- reports.set_caller(): the HTTP service tells the database which application user it serves.
-- Transaction-local: the HTTP service calls it in the same transaction as the report.
-- Only members of reports_api may call it (and only they are trusted by reports._caller()).

CREATE OR REPLACE FUNCTION reports.set_caller(p_user_id bigint, p_roles text[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_role text;
BEGIN
    IF NOT pg_catalog.pg_has_role(session_user, 'reports_api', 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied for function set_caller: session user % is not a member of reports_api',
            session_user
            USING ERRCODE = 'insufficient_privilege',
                HINT = 'Only the HTTP service (role reports_api) sets a caller; '
                    'psql users are identified by their database role.';
    END IF;
    IF p_user_id IS NULL OR p_user_id <= 0 THEN
        RAISE EXCEPTION 'p_user_id must be a positive crm.users id (got %)', coalesce(p_user_id::text, 'null')
            USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Pass the crm.users id of the authenticated application user.';
    END IF;
    IF p_roles IS NULL THEN
        RAISE EXCEPTION 'p_roles must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Pass the application roles of the user, e.g. ''{manager}'', or ''{}'' for none.';
    END IF;
    FOREACH v_role IN ARRAY p_roles LOOP
        IF v_role IS NULL OR v_role !~ '^[a-z][a-z0-9_]*$' THEN
            RAISE EXCEPTION 'p_roles must hold lower-case application role names (got %)',
                coalesce(pg_catalog.quote_literal(v_role), 'null')
                USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Role names match ^[a-z][a-z0-9_]*$, e.g. admin, analyst, head, manager.';
        END IF;
    END LOOP;
    PERFORM pg_catalog.set_config('reports.caller_user_id', p_user_id::text, true);
    PERFORM pg_catalog.set_config('reports.caller_roles', pg_catalog.array_to_string(p_roles, ','), true);
END
$$;

COMMENT ON FUNCTION reports.set_caller(bigint, text[]) IS
'Set the application caller (user id and application roles) for the rest of the current transaction.
Only for members of reports_api (the HTTP service); anyone else gets 42501. Sets the transaction-local
settings reports.caller_user_id and reports.caller_roles (set_config(..., true)), so it must run in the
same transaction as the report functions it is meant for; they vanish at COMMIT or ROLLBACK.
p_user_id: crm.users id, positive, not null (22023 otherwise).
p_roles: application roles matched against reports.access_rules rows with subject_kind app_role;
lower-case names, not null (22023 otherwise); ''{}'' means no role, so every report is refused.';
