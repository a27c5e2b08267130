-- The notification a capture trigger sends after it logged changes.

CREATE OR REPLACE FUNCTION reports._notify_changes(p_source_table text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = reports, pg_temp
AS $$
BEGIN
    -- A database or role may turn it off (ALTER DATABASE ... SET reports.capture_notify = off): only
    -- the early refresh after large changes depends on it, never the correctness of a refresh.
    IF coalesce(current_setting('reports.capture_notify', TRUE), '') <> 'off' THEN
        PERFORM pg_notify('reports_changes', p_source_table);
    END IF;
END
$$;

COMMENT ON FUNCTION reports._notify_changes(text) IS
'Sends NOTIFY reports_changes with the source table name (e.g. crm.deals) as payload, unless the setting
reports.capture_notify is off. Called by the capture triggers once per statement that logged changes;
PostgreSQL delivers identical payloads of one transaction once, at its commit (internal).';
