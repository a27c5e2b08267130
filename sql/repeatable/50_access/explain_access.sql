-- reports.explain_access(): which access rule gives a role its scope in one report, and why.

CREATE OR REPLACE FUNCTION reports.explain_access(
    p_subject text,
    p_report text,
    p_subject_kind text DEFAULT 'db_role'
)
RETURNS TABLE (
    subject text,
    subject_kind text,
    report text,
    scope text,
    precedence bigint,
    applies boolean,
    reason text
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_subjects text[];
BEGIN
    IF p_subject_kind IS NULL OR p_subject_kind NOT IN ('db_role', 'app_role') THEN
        RAISE EXCEPTION 'p_subject_kind must be db_role or app_role (got %)', coalesce(p_subject_kind, 'null')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_report IS NULL OR p_report !~ '^[a-z][a-z0-9_]*$' THEN
        RAISE EXCEPTION 'p_report must be the name of a report function (got %)', coalesce(p_report, 'null')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'For example: sales_pipeline.';
    END IF;
    IF p_subject_kind = 'app_role' THEN
        v_subjects := ARRAY(
            SELECT DISTINCT pg_catalog.btrim(s.role)
            FROM pg_catalog.unnest(pg_catalog.string_to_array(p_subject, ',')) AS s (role)
            WHERE pg_catalog.btrim(s.role) <> ''
        );
        RETURN QUERY SELECT * FROM reports._access_rules_for('app_role', v_subjects, NULL, p_report);
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles AS r WHERE r.rolname = p_subject) THEN
        RAISE EXCEPTION 'p_subject: no database role named % exists', coalesce(p_subject, 'null')
            USING ERRCODE = 'invalid_parameter_value',
                HINT = 'For application roles pass p_subject_kind => ''app_role''.';
    END IF;
    IF pg_catalog.pg_has_role(p_subject, 'reports_admin', 'MEMBER') THEN
        RETURN QUERY SELECT
            'reports_admin'::text, 'db_role'::text, '*'::text, 'all'::text, 1::bigint, TRUE,
            'a member of reports_admin: every row of every report, whatever the rules say'::text;
        RETURN;
    END IF;
    v_subjects := ARRAY(
        SELECT r.rolname::text
        FROM pg_catalog.pg_roles AS r
        WHERE pg_catalog.pg_has_role(p_subject, r.oid, 'MEMBER')
    );
    RETURN QUERY SELECT * FROM reports._access_rules_for('db_role', v_subjects, p_subject, p_report);
END
$$;

COMMENT ON FUNCTION reports.explain_access(text, text, text) IS
'Which reports.access_rules row gives a caller its scope in report p_report, and why (for administrators:
granted to reports_admin). p_subject is a database role name (p_subject_kind db_role, the default: a psql
caller, matched with every role it is a member of) or a comma-separated list of application roles
(p_subject_kind app_role: what the HTTP service passes to reports.set_caller). One row per matching rule in
precedence order (see reports._access_rules_for: the role itself before an inherited group role, the named
report before *, then the narrowest scope); applies marks the rule in force, reason says why. A member of
reports_admin gets one row, scope all. No rows: the caller is refused (42501). The scope team or own of a
database role also needs its reports.db_role_users row. 22023 for an unknown role or a malformed report name.';
