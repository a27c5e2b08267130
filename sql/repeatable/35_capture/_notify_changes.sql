-- The notification a capture trigger sends after it logged changes.

CREATE OR REPLACE FUNCTION reports._notify_changes(p_source_table text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = reports, pg_temp
AS $$
BEGIN
    -- Off unless a database or role turns it on (ALTER DATABASE ... SET reports.capture_notify = on):
    -- PostgreSQL serialises the commits of every transaction that sent a NOTIFY (a lock on the shared
    -- notification queue held through the commit), which cost four concurrent CRM writers another fifth
    -- of their throughput (docs/benchmarks.md, "Writer overhead"). Only the scheduler's early refresh
    -- uses it, and it also polls.
    IF coalesce(current_setting('reports.capture_notify', TRUE), '') = 'on' THEN
        PERFORM pg_notify('reports_changes', p_source_table);
    END IF;
END
$$;

COMMENT ON FUNCTION reports._notify_changes(text) IS
'Sends NOTIFY reports_changes with the source table name (e.g. crm.deals) as payload when the setting
reports.capture_notify is on (off by default: a NOTIFY serialises the commits of concurrent writers). Called by the capture triggers once per statement that logged changes;
PostgreSQL delivers identical payloads of one transaction once, at its commit (internal).';
