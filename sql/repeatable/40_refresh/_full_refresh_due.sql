-- Whether a summary must be rebuilt whole: what it stores cannot be maintained from captured changes.

CREATE OR REPLACE FUNCTION reports._full_refresh_due(p_summary text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_due boolean;
BEGIN
    SELECT
        s.needs_full_refresh
        OR s.timezone IS DISTINCT FROM reports.timezone()
        OR f.fingerprint IS NULL
        OR f.fingerprint IS DISTINCT FROM s.capture_fingerprint
    INTO v_due
    FROM reports.summaries AS s
    CROSS JOIN LATERAL (SELECT reports._capture_fingerprint(s.name) AS fingerprint) AS f
    WHERE s.name = p_summary;
    RETURN v_due;
END
$$;

COMMENT ON FUNCTION reports._full_refresh_due(text) IS
'True when summary p_summary can only be refreshed in full: never refreshed or marked needs_full_refresh, built
in another time zone than reports.timezone(), its capture incomplete (mode full), or its capture triggers not
the ones in place at its last refresh (installed, re-created, disabled or re-enabled since: changes may have
been missed). NULL for an unknown summary (internal).';
