-- reports._access_rules_for(): the access rules that match a caller for one report, in precedence order.

CREATE OR REPLACE FUNCTION reports._access_rules_for(
    p_subject_kind text,
    p_subjects text[],
    p_self text,
    p_report text
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
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    WITH matching AS (
        SELECT
            r.subject,
            r.subject_kind,
            r.report,
            r.scope,
            r.subject = p_self AS for_self,
            r.report = p_report AS for_report
        FROM reports.access_rules AS r
        WHERE
            r.subject_kind = p_subject_kind
            AND r.subject = ANY(p_subjects)
            AND r.report IN ('*', p_report)
    ),

    ranked AS (
        SELECT
            m.*,
            pg_catalog.row_number() OVER (
                ORDER BY
                    m.for_self DESC,
                    m.for_report DESC,
                    pg_catalog.array_position(ARRAY['own', 'team', 'all'], m.scope) ASC,
                    m.subject ASC
            ) AS precedence
        FROM matching AS m
    )

    SELECT
        k.subject,
        k.subject_kind,
        k.report,
        k.scope,
        k.precedence,
        k.precedence = 1 AS applies,
        concat_ws(
            ', ',
            CASE
                WHEN p_subject_kind = 'app_role' THEN 'an application role of the caller'
                WHEN k.for_self THEN 'a rule for the role itself'
                ELSE 'a rule inherited from group role ' || k.subject
            END,
            CASE WHEN k.for_report THEN 'for this report' ELSE 'for every report (*)' END,
            'scope ' || k.scope
        ) AS reason
    FROM ranked AS k
    ORDER BY k.precedence
$$;

COMMENT ON FUNCTION reports._access_rules_for(text, text[], text, text) IS
'The reports.access_rules rows that match a caller for report p_report, in precedence order (internal; used by
reports._authorize and reports.explain_access). A row matches when its subject_kind is p_subject_kind, its
subject is one of p_subjects and its report is p_report or *. Precedence, first to last: a rule whose subject is
p_self (the database role itself, not a group role it inherits from; null for application roles, whose rules
are all equally specific); then a rule for the named report before *; then, between equally specific rules,
the narrowest scope (own, then team, then all); then by subject. applies is true for the first row only; reason
says in words why a row ranks where it does.';
