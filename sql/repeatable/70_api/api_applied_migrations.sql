-- reports.api_applied_migrations(): what the migration runners recorded, for the HTTP service's /ready.

CREATE OR REPLACE FUNCTION reports.api_applied_migrations()
RETURNS TABLE (script text, kind text, version integer, checksum text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
    SELECT
        m.script,
        m.kind,
        m.version,
        m.checksum
    FROM reports.schema_migrations AS m
    ORDER BY m.kind DESC, m.version ASC, m.script ASC
$$;

COMMENT ON FUNCTION reports.api_applied_migrations() IS
'The files recorded in reports.schema_migrations, for the HTTP service''s readiness check (granted to reports_api
only, never exposed as a report): script (path under sql/), kind (versioned or repeatable), version (null for
repeatable files) and checksum (sha256 of the applied file), versioned files first by version, then repeatable
ones by path. Who applied a file and when stay in the table, which reports_api cannot read.';
