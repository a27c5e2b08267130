-- The refresh engine: refresh (or rebuild) the named summaries and what depends on them, or all.
--
-- Under the refresh lock it first moves the captured changes into the invalid days of every summary
-- (reports._absorb_changes), then refreshes each target summary in its own sub-transaction:
-- incrementally (only its invalid days) while its capture is complete and unchanged, in full
-- otherwise (reports._full_refresh_due) or when rebuilding. See docs/architecture.md, "Incremental
-- refresh and change capture", for why no change can be lost, at REPEATABLE READ (one snapshot for
-- the whole refresh: the summaries then equal a recompute at that snapshot) and at READ COMMITTED
-- (each step sees at least what the previous one saw).

CREATE OR REPLACE FUNCTION reports._refresh(p_views text[], p_wait boolean, p_rebuild boolean)
RETURNS TABLE (
    view text,
    status text,
    rows bigint,
    duration_ms numeric,
    sqlstate text,
    error text
)
LANGUAGE plpgsql
VOLATILE
SET search_path = reports, pg_temp
AS $$
DECLARE
    v_run_id uuid := gen_random_uuid();
    v_all_days constant daterange := '(,)'::daterange;
    v_valid_names text := (
        SELECT string_agg(s.name, ', ' ORDER BY s.position) FROM reports.summaries AS s
    );
    v_unknown text;
    v_timezone text;
    v_summary record;
    v_fingerprint text;
    v_mode text;
    v_days datemultirange;
    v_group_days datemultirange;
    v_groups bigint[];
    -- More groups than this are refreshed as whole days: a chosen bound (not a measured crossover) past
    -- which looking groups up one by one stops paying against one pass over the day.
    c_max_groups constant integer := 100;
    v_logged_days daterange;
    v_inserted bigint;
    v_updated bigint;
    v_written bigint;
    v_deleted bigint;
    v_total bigint;
    v_generation bigint;
    v_not_refreshed text[] := '{}'::text[];
    v_blocked_by text;
    v_started timestamptz;
    v_changed jsonb := '[]'::jsonb;
    v_sqlstate text;
    v_error text;
BEGIN
    IF p_views IS NOT NULL AND (cardinality(p_views) = 0 OR array_position(p_views, NULL) IS NOT NULL) THEN
        RAISE EXCEPTION 'p_views must be NULL (every view) or a non-empty list of view names (got %)', p_views
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid names: ' || v_valid_names;
    END IF;
    SELECT string_agg(v.name, ', ' ORDER BY v.ord) INTO v_unknown
    FROM unnest(p_views) WITH ORDINALITY AS v (name, ord)
    WHERE NOT EXISTS (SELECT FROM reports.summaries AS s WHERE s.name = v.name);
    IF v_unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown view: %', v_unknown
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid names: ' || v_valid_names;
    END IF;

    -- One refresh at a time per database; released when the calling transaction ends.
    IF p_wait THEN
        PERFORM pg_advisory_xact_lock(reports._refresh_lock_key());
    ELSIF NOT pg_try_advisory_xact_lock(reports._refresh_lock_key()) THEN
        FOR v_summary IN
            SELECT t.name FROM reports._refresh_targets(p_views) AS t ORDER BY t.summary_position
        LOOP
            view := v_summary.name;
            status := 'skipped';
            rows := NULL;
            sqlstate := NULL;
            error := 'another refresh is running (call with p_wait => true to wait for it)';
            duration_ms := reports._log_refresh(
                v_run_id, view, 'full', v_all_days, clock_timestamp(), clock_timestamp(),
                NULL, NULL, NULL, status, error, NULL
            );
            RAISE NOTICE '% skipped: another refresh is running', view;
            RETURN NEXT;
        END LOOP;
        RETURN;
    END IF;

    -- No refresh may fill the disk with temporary files (reports.refresh_limits()).
    PERFORM reports._apply_refresh_temp_file_limit();

    -- At REPEATABLE READ the snapshot was taken by the caller's first statement, maybe before the
    -- previous refresh committed (e.g. while waiting for the lock): its changes would be invisible
    -- here. Every refresh updates this row first, so such a stale snapshot fails at once.
    BEGIN
        UPDATE reports.last_refresh_run AS r SET run_id = v_run_id, started_at = clock_timestamp();
    EXCEPTION WHEN serialization_failure THEN
        RAISE EXCEPTION 'another refresh committed after this transaction took its snapshot'
            USING ERRCODE = 'serialization_failure',
                  HINT = 'Retry. At REPEATABLE READ take the refresh lock before the snapshot: '
                      'SELECT pg_advisory_lock(32199638025335656) outside the transaction, then BEGIN ISOLATION '
                      'LEVEL REPEATABLE READ (reports refresh does), or call the refresh at READ COMMITTED.';
    END;

    -- Under the lock, a recorded start of another session is a refresh that never finished.
    PERFORM reports._log_interrupted_refreshes(FALSE);

    -- Read under the lock: set_timezone takes it too, so the zone cannot change during the run.
    v_timezone := reports.timezone();

    -- Captured changes -> invalid days of every summary (also of those not refreshed now).
    PERFORM reports._absorb_changes();

    -- The capture fingerprints are read with the targets, once, before the first is refreshed (the refresh
    -- lock does not keep a DBA from changing a trigger). A trigger installed, dropped, disabled or re-enabled
    -- after this read gives another fingerprint than the one this run stores, so the next refresh rebuilds the
    -- summaries it feeds.
    FOR v_summary IN
        SELECT s.name, s.depends_on, s.timezone, s.rows AS previous_rows, s.bucket_column, f.fingerprint
        FROM reports._refresh_targets(p_views) AS t
        INNER JOIN reports.summaries AS s ON t.name = s.name
        LEFT JOIN reports._capture_fingerprints() AS f ON s.name = f.summary
        ORDER BY s.position
    LOOP
        v_started := clock_timestamp();
        view := v_summary.name;
        rows := NULL;
        sqlstate := NULL;
        error := NULL;
        v_written := NULL;
        v_deleted := NULL;
        v_mode := 'full';
        v_logged_days := v_all_days;
        v_group_days := '{}'::datemultirange;
        v_groups := NULL;
        v_blocked_by := (
            SELECT d.name FROM unnest(v_summary.depends_on) AS d (name) WHERE d.name = ANY(v_not_refreshed) LIMIT 1
        );

        IF v_blocked_by IS NOT NULL THEN
            status := 'skipped';
            error := pg_catalog.format('not refreshed: it depends on %s, which was not refreshed', v_blocked_by);
        ELSE
            IF v_summary.timezone <> v_timezone THEN
                RAISE NOTICE '% was built in time zone %, the reports time zone is now %: full rebuild',
                    view, v_summary.timezone, v_timezone;
            END IF;
            -- Its own sub-transaction: a failure rolls back this summary only (old contents stay, and so
            -- do its invalid days).
            BEGIN
                v_fingerprint := v_summary.fingerprint;
                IF p_rebuild OR reports._full_refresh_due(view, v_fingerprint) THEN
                    v_days := '{(,)}'::datemultirange;
                ELSE
                    v_mode := 'incremental';
                    -- Whole invalid days (group_id NULL), and the days of which only some groups are invalid.
                    SELECT
                        CASE
                            WHEN bool_or(i.day IS NULL) THEN '{(,)}'::datemultirange
                            ELSE coalesce(
                                range_agg(daterange(i.day, i.day, '[]')) FILTER (WHERE i.group_id IS NULL),
                                '{}'::datemultirange
                            )
                        END,
                        coalesce(
                            range_agg(daterange(i.day, i.day, '[]')) FILTER (WHERE i.group_id IS NOT NULL),
                            '{}'::datemultirange
                        )
                    INTO v_days, v_group_days
                    FROM reports.invalid_days AS i
                    WHERE i.summary = view;
                    v_group_days := v_group_days - v_days;
                    v_groups := ARRAY(
                        SELECT DISTINCT i.group_id
                        FROM reports.invalid_days AS i
                        WHERE i.summary = view AND i.group_id IS NOT NULL AND i.day <@ v_group_days
                    );
                    IF cardinality(v_groups) > c_max_groups THEN
                        v_days := v_days + v_group_days;
                        v_group_days := '{}'::datemultirange;
                    END IF;
                    IF v_days = '{(,)}'::datemultirange AND v_summary.bucket_column IS NOT NULL THEN
                        v_mode := 'full';  -- a source table was truncated
                    ELSE
                        v_logged_days := coalesce(range_merge(v_days + v_group_days), 'empty'::daterange);
                    END IF;
                END IF;

                IF v_mode = 'incremental' AND isempty(v_days) AND isempty(v_group_days) THEN
                    v_inserted := 0;
                    v_updated := 0;
                    v_deleted := 0;
                    v_total := v_summary.previous_rows;
                ELSE
                    v_inserted := 0;
                    v_updated := 0;
                    v_deleted := 0;
                    IF NOT (v_mode = 'incremental' AND isempty(v_days)) THEN
                        SELECT r.rows_inserted, r.rows_updated, r.rows_deleted, r.rows_computed
                        INTO v_inserted, v_updated, v_deleted, v_total
                        FROM reports._refresh_days(view, v_days) AS r;
                    END IF;
                    IF NOT isempty(v_group_days) THEN
                        SELECT v_inserted + r.rows_inserted, v_updated + r.rows_updated, v_deleted + r.rows_deleted
                        INTO v_inserted, v_updated, v_deleted
                        FROM reports._refresh_days(view, v_group_days, v_groups) AS r;
                    END IF;
                    -- rows_computed is the whole table only when every day (or a snapshot) was recomputed.
                    IF NOT (v_days = '{(,)}'::datemultirange OR v_summary.bucket_column IS NULL) THEN
                        v_total := v_summary.previous_rows + v_inserted - v_deleted;
                    END IF;
                END IF;
                -- Every invalid day of this summary is now recomputed at this snapshot or later.
                -- Hand what was recomputed on to the summaries computed from this one (depends_on): every
                -- day after a full refresh, else the days just refreshed (the whole summary, day NULL, for
                -- one without a day bucket; for one with month buckets, bucket_grain month, the first day
                -- of each month holding such a day), kept until they refresh them.
                IF v_mode = 'full' THEN
                    UPDATE reports.summaries AS d SET needs_full_refresh = TRUE WHERE view = any(d.depends_on);
                ELSE
                    INSERT INTO reports.invalid_days AS i (summary, day, changes, oldest_change_at)
                    SELECT d.name, b.day, sum(v.changes), min(v.oldest_change_at)
                    FROM reports.invalid_days AS v
                    INNER JOIN reports.summaries AS d ON v.summary = any(d.depends_on)
                    CROSS JOIN LATERAL (
                        SELECT CASE d.bucket_grain WHEN 'month' THEN date_trunc('month', v.day::timestamp)::date ELSE v.day END
                    ) AS b (day)
                    WHERE v.summary = view
                    GROUP BY d.name, b.day
                    ON CONFLICT (summary, day, group_id) DO UPDATE
                        SET
                            changes = i.changes + excluded.changes,
                            oldest_change_at = least(i.oldest_change_at, excluded.oldest_change_at);
                END IF;
                DELETE FROM reports.invalid_days AS i WHERE i.summary = view;

                v_written := v_inserted + v_updated;
                UPDATE reports.summaries AS s
                SET
                    refreshed_at = v_started,
                    generation = s.generation + (v_written + v_deleted > 0)::integer,
                    rows = v_total,
                    timezone = v_timezone,
                    needs_full_refresh = FALSE,
                    capture_fingerprint = v_fingerprint
                WHERE s.name = view
                RETURNING s.generation INTO v_generation;
                status := 'ok';
                rows := v_total;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_sqlstate = RETURNED_SQLSTATE, v_error = MESSAGE_TEXT;
                status := 'failed';
                v_written := NULL;
                v_deleted := NULL;
            END;
        END IF;

        IF status = 'ok' AND v_written + v_deleted > 0 THEN
            v_changed := v_changed || jsonb_build_object('view', view, 'generation', v_generation);
        ELSIF status = 'failed' THEN
            sqlstate := v_sqlstate;
            error := v_error;
            RAISE WARNING 'refresh of % failed: % (SQLSTATE %)', view, error, sqlstate
                USING HINT = 'Its previous contents stay visible; the failure is logged in reports.refresh_log.';
        END IF;
        IF status <> 'ok' THEN
            v_not_refreshed := v_not_refreshed || view;
        END IF;

        duration_ms := reports._log_refresh(
            v_run_id, view, v_mode, v_logged_days, v_started, clock_timestamp(),
            rows, v_written, v_deleted, status, error, sqlstate
        );
        RAISE NOTICE '% %: % rows, % ms (%)', view, status, coalesce(rows::text, '-'), duration_ms, v_mode;
        RETURN NEXT;
    END LOOP;

    -- This refresh finishes when its transaction commits: its recorded start (if any) goes with it.
    DELETE FROM reports.refresh_starts AS s WHERE reports._is_this_session(s.pid, s.backend_start);

    IF jsonb_array_length(v_changed) > 0 THEN
        PERFORM pg_notify('reports_refreshed', jsonb_build_object('run_id', v_run_id, 'views', v_changed)::text);
    END IF;
END
$$;

COMMENT ON FUNCTION reports._refresh(text[], boolean, boolean) IS
'The refresh engine behind reports.refresh_views (p_rebuild false) and reports.rebuild (p_rebuild true): under
the refresh lock and with temp_file_limit set to reports.refresh_limits() for the rest of the transaction, logs
the recorded starts of other sessions as interrupted (reports._log_interrupted_refreshes), absorbs the captured
changes (reports._absorb_changes), then refreshes the summaries of p_views
and what depends on them (NULL: all) in dependency order, each in its own sub-transaction: only its invalid days
(mode incremental; of a day invalid only for some groups of a summary with a group_column, only those groups, or
the whole day when more than 100 groups are invalid) unless p_rebuild or reports._full_refresh_due(), then every
day (mode full). A summary without
a day bucket (pipeline_open, pipeline_open_by_stage) is recomputed whole when it has an invalid entry (mode
incremental) or is refreshed in full. Logs every summary in reports.refresh_log and returns one row per summary
(see reports.refresh_views). A summary refreshed without failure hands on to the summaries computed from it
(depends_on) the days it recomputed, as invalid days of theirs (all of them, needs_full_refresh, after a full
refresh; one whole-summary entry from a summary without a day bucket refreshed in mode incremental; the first
day of each month concerned to a summary with month buckets, bucket_grain month), which they refresh later in
the same run, or, if that fails, in the next one. Deletes this session''s recorded start
(reports.record_refresh_start) in its transaction (internal).';
