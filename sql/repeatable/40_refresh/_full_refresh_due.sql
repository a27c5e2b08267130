-- Whether a summary can only be refreshed in full (its state or its change capture rules out days).

CREATE OR REPLACE FUNCTION reports._full_refresh_due(p_summary text, p_fingerprint text)
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
        OR p_fingerprint IS NULL
        OR p_fingerprint IS DISTINCT FROM s.capture_fingerprint
    INTO v_due
    FROM reports.summaries AS s
    WHERE s.name = p_summary;
    RETURN v_due;
END
$$;

COMMENT ON FUNCTION reports._full_refresh_due(text, text) IS
'True when summary p_summary can only be refreshed in full, given p_fingerprint, its capture fingerprint now
(reports._capture_fingerprints(), read once by a caller that also needs it): never refreshed or marked
needs_full_refresh, built in another time zone than reports.timezone(), its capture incomplete (p_fingerprint
null: mode full), or its capture triggers not the ones in place at its last refresh (installed, re-created,
disabled or re-enabled since: changes may have been missed). NULL for an unknown summary (internal).';

CREATE OR REPLACE FUNCTION reports._full_refresh_due(p_summary text)
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT reports._full_refresh_due(p_summary, reports._capture_fingerprint(p_summary))
$$;

COMMENT ON FUNCTION reports._full_refresh_due(text) IS
'reports._full_refresh_due(p_summary, reports._capture_fingerprint(p_summary)): true when summary p_summary can
only be refreshed in full (internal).';
