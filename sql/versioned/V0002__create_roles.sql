-- Group roles of the reports service: NOLOGIN, no passwords (docs/permissions.md).
--
--   reports_reader     runs reports
--   reports_refresher  runs refreshes
--   reports_admin      member of both
--   reports_api        the HTTP service's role; member of reports_reader
--
-- Roles are cluster-wide: another database of the same cluster may have created them
-- already (or may be creating them right now), so each one is created only if missing.
-- An existing role is left as it is (its attributes belong to whoever created it).
-- Privileges are granted by the repeatable files in repeatable/90_grants/.

DO $roles$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['reports_reader', 'reports_refresher', 'reports_admin', 'reports_api']
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles AS r WHERE r.rolname = v_role) THEN
            BEGIN
                EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', v_role);
            EXCEPTION
                -- created meanwhile by a migration of another database of this cluster
                WHEN duplicate_object OR unique_violation THEN
                    NULL;
            END;
        END IF;
    END LOOP;
END
$roles$;

GRANT reports_reader TO reports_admin;
GRANT reports_refresher TO reports_admin;
GRANT reports_reader TO reports_api;
