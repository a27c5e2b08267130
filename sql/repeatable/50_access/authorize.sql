-- reports._authorize(): the scope of the caller for one report, or 42501.

CREATE OR REPLACE FUNCTION reports._authorize(p_report text, OUT scope text, OUT owner_ids bigint[])
RETURNS record
LANGUAGE plpgsql
STABLE
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_subject_kind text;
    v_subjects text[];
    v_user_id bigint;
    v_is_admin boolean;
    v_refusal text;
BEGIN
    SELECT c.subject_kind, c.subjects, c.user_id, c.is_admin, c.refusal
    INTO v_subject_kind, v_subjects, v_user_id, v_is_admin, v_refusal
    FROM reports._caller() AS c;
    IF v_refusal IS NOT NULL THEN
        RAISE EXCEPTION 'permission denied for report %: %', p_report, v_refusal
            USING ERRCODE = 'insufficient_privilege',
                HINT = 'The HTTP service calls reports.set_caller first; psql users need membership in '
                    'reports_reader (rules in reports.access_rules) or reports_admin.';
    END IF;
    IF v_is_admin THEN
        scope := 'all';
        RETURN;
    END IF;
    SELECT r.scope INTO scope
    FROM reports._access_rules_for(
        v_subject_kind, v_subjects, CASE WHEN v_subject_kind = 'db_role' THEN session_user::text END, p_report
    ) AS r
    WHERE r.applies;
    IF scope IS NULL THEN
        RAISE EXCEPTION 'permission denied for report %: no access rule for % %', p_report,
            replace(v_subject_kind, '_', ' '), coalesce(pg_catalog.array_to_string(v_subjects, ', '), '(none)')
            USING ERRCODE = 'insufficient_privilege',
                HINT = pg_catalog.format(
                    'Ask an administrator to add a row (subject, subject_kind %L, report %L or ''*'', scope) '
                    'to reports.access_rules.', v_subject_kind, p_report
                );
    END IF;
    IF scope = 'all' THEN
        RETURN;
    END IF;
    IF v_user_id IS NULL THEN
        RAISE EXCEPTION 'permission denied for report %: scope % needs the CRM user of database role %',
            p_report, scope, session_user
            USING ERRCODE = 'insufficient_privilege',
                HINT = 'Map the role to its crm.users id in reports.db_role_users.';
    END IF;
    IF scope = 'own' THEN
        owner_ids := ARRAY[v_user_id];
    ELSE
        owner_ids := ARRAY(
            SELECT u.id
            FROM reports.src_users AS u
            WHERE u.team_id = (SELECT c.team_id FROM reports.src_users AS c WHERE c.id = v_user_id)
            ORDER BY u.id
        );
    END IF;
END
$$;

COMMENT ON FUNCTION reports._authorize(text) IS
'Scope of the current caller (reports._caller) for report p_report, or 42501 naming the report, with a HINT
(internal, never granted; every report function calls it first).
scope: the scope of the matching reports.access_rules row that takes precedence (reports._access_rules_for: a
rule for the database role itself before one inherited from a group role, a rule for the named report before *,
then the narrowest scope); all for members of reports_admin.
owner_ids: the owner ids whose rows the caller sees; null means every row (scope all). own: the caller''s
user id; team: every user whose crm.users.team_id equals the caller''s, read live (empty when the caller has
no team). 42501 also when the scope is team or own and a psql caller has no reports.db_role_users row.';
