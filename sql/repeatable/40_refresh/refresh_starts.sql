-- The starts of refreshes, recorded in a committed step before the refresh's own transaction, so that
-- a refresh that never finished is still seen (V0023__record_refresh_starts.sql).

CREATE OR REPLACE FUNCTION reports._refresh_lock_holder()
RETURNS integer
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    -- pg_locks shows every session's advisory locks to every role; a bigint key is split in two oids.
    SELECT l.pid
    FROM pg_catalog.pg_locks AS l
    WHERE
        l.locktype = 'advisory'
        AND l.granted
        AND l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = current_database())
        AND l.classid = (reports._refresh_lock_key() >> 32)::oid
        AND l.objid = (reports._refresh_lock_key() & 4294967295)::oid
        AND l.objsubid = 1
    LIMIT 1
$$;

COMMENT ON FUNCTION reports._refresh_lock_holder() IS
'The process id of the session holding the refresh lock (reports._refresh_lock_key(), at session or transaction
level), NULL when none does (internal).';

CREATE OR REPLACE FUNCTION reports._is_this_session(p_pid integer, p_backend_start timestamptz)
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    -- A process id is reused by later sessions; with the session's start it names one session.
    SELECT p_pid = pg_catalog.pg_backend_pid() AND p_backend_start = (
        SELECT a.backend_start FROM pg_catalog.pg_stat_activity AS a WHERE a.pid = pg_catalog.pg_backend_pid()
    )
$$;

COMMENT ON FUNCTION reports._is_this_session(integer, timestamptz) IS
'Whether process id p_pid with session start p_backend_start is the current session (internal).';

CREATE OR REPLACE FUNCTION reports.record_refresh_start(p_views text[] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
BEGIN
    IF reports._refresh_lock_holder() IS DISTINCT FROM pg_catalog.pg_backend_pid() THEN
        RAISE EXCEPTION 'record_refresh_start must be called while holding the refresh lock'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format(
                      'SELECT pg_advisory_lock(%s) first, outside a transaction, as `reports refresh` does.',
                      reports._refresh_lock_key()
                  );
    END IF;
    -- Under the lock every record left is of a refresh that is over, this session's earlier ones too.
    PERFORM reports._log_interrupted_refreshes(TRUE);
    INSERT INTO reports.refresh_starts (pid, backend_start, started_at, views, application_name)
    SELECT
        pg_catalog.pg_backend_pid(), a.backend_start, pg_catalog.clock_timestamp(), p_views,
        pg_catalog.current_setting('application_name')
    FROM pg_catalog.pg_stat_activity AS a
    WHERE a.pid = pg_catalog.pg_backend_pid();
END
$$;

COMMENT ON FUNCTION reports.record_refresh_start(text[]) IS
'Records that this session starts a refresh of p_views (NULL: every summary) in reports.refresh_starts. Call it
in a statement of its own that commits (autocommit), while holding the refresh lock at session level, just
before the transaction that runs reports.refresh_views: that refresh deletes the record when it commits, so a
record left behind is a refresh that never finished (terminated, crashed, timed out or rolled back), shown by
reports.refresh_status() and logged with status interrupted by the next refresh. `reports refresh`, the
scheduler and POST /refresh call it; 55000 without the refresh lock. Records left by earlier refreshes (of
any session, this one included) are logged as interrupted first.';

DROP FUNCTION IF EXISTS reports._log_interrupted_refreshes();

CREATE OR REPLACE FUNCTION reports._log_interrupted_refreshes(p_this_session_too boolean)
RETURNS void
LANGUAGE sql
VOLATILE
SET search_path = reports, pg_temp
AS $$
    -- Called under the refresh lock: a record of another session is then of a refresh that is over.
    WITH interrupted AS (
        DELETE FROM reports.refresh_starts AS s
        WHERE p_this_session_too OR NOT reports._is_this_session(s.pid, s.backend_start)
        RETURNING s.pid, s.started_at, s.views, s.application_name, gen_random_uuid() AS run_id
    )

    INSERT INTO reports.refresh_log (run_id, view, started_at, finished_at, duration_ms, status, error)
    SELECT
        i.run_id,
        t.name,
        i.started_at,
        now(),
        greatest(round(extract(EPOCH FROM now() - i.started_at) * 1000, 1), 0),
        'interrupted',
        pg_catalog.format(
            'the refresh started at %s by process %s (%s) never finished: its session ended or its transaction '
            'rolled back before it committed',
            i.started_at, i.pid, coalesce(nullif(i.application_name, ''), 'no application_name')
        )
    FROM interrupted AS i
    CROSS JOIN LATERAL reports._refresh_targets(i.views) AS t
$$;

COMMENT ON FUNCTION reports._log_interrupted_refreshes(boolean) IS
'Moves the reports.refresh_starts records of other sessions (and of this one when p_this_session_too) into
reports.refresh_log, one row per summary that refresh targeted (one new run_id per refresh), with status
interrupted, mode and days NULL, started_at the recorded start and finished_at now(). Called under the refresh
lock, when no other recorded refresh can be running: by the refresh engine (this session''s record is of the
refresh now running) and by reports.record_refresh_start (internal).';

CREATE OR REPLACE FUNCTION reports.record_refresh_end()
RETURNS void
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
    DELETE FROM reports.refresh_starts AS s WHERE reports._is_this_session(s.pid, s.backend_start)
$$;

COMMENT ON FUNCTION reports.record_refresh_end() IS
'Deletes this session''s record of reports.record_refresh_start, for a driver that decided not to refresh after
all (the scheduler, when another instance refreshed first). A refresh deletes it by itself.';
