-- The refresh engine: refresh the named summaries (and what depends on them), or all of them.

CREATE OR REPLACE FUNCTION reports.refresh_views(
    p_views text[] DEFAULT NULL,
    p_wait boolean DEFAULT FALSE
)
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
SECURITY DEFINER
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

    -- Read under the lock: set_timezone takes it too, so the zone cannot change during the run.
    v_timezone := reports.timezone();

    FOR v_summary IN
        SELECT s.name, s.depends_on, s.timezone
        FROM reports._refresh_targets(p_views) AS t
        INNER JOIN reports.summaries AS s ON t.name = s.name
        ORDER BY s.position
    LOOP
        v_started := clock_timestamp();
        view := v_summary.name;
        rows := NULL;
        sqlstate := NULL;
        error := NULL;
        v_written := NULL;
        v_deleted := NULL;
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
            -- Its own sub-transaction: a failure rolls back this summary only (old contents stay).
            BEGIN
                -- Mode full: every day. Incremental maintenance will pass only the invalidated days.
                SELECT r.rows_written, r.rows_deleted, r.rows_total INTO v_written, v_deleted, v_total
                FROM reports._refresh_summary(view, v_all_days) AS r;
                UPDATE reports.summaries AS s
                SET
                    refreshed_at = v_started,
                    generation = s.generation + (v_written + v_deleted > 0)::integer,
                    rows = v_total,
                    timezone = v_timezone,
                    needs_full_refresh = FALSE
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
            v_run_id, view, 'full', v_all_days, v_started, clock_timestamp(),
            rows, v_written, v_deleted, status, error, sqlstate
        );
        RAISE NOTICE '% %: % rows, % ms', view, status, coalesce(rows::text, '-'), duration_ms;
        RETURN NEXT;
    END LOOP;

    IF jsonb_array_length(v_changed) > 0 THEN
        PERFORM pg_notify('reports_refreshed', jsonb_build_object('run_id', v_run_id, 'views', v_changed)::text);
    END IF;
END
$$;

COMMENT ON FUNCTION reports.refresh_views(text[], boolean) IS
'Refreshes the summaries named in p_views and every summary that depends on them (NULL: all), in
dependency order; returns one row per summary: view, status (ok, failed, skipped), rows (rows in the
summary afterwards; NULL unless ok), duration_ms, sqlstate and error (of a failure or a skip).
One refresh at a time per database (transaction-level advisory lock reports._refresh_lock_key()): when
another refresh holds it, p_wait => false (default) returns status skipped for every view at once and
p_wait => true waits for it (subject to lock_timeout). Each summary is rewritten in its own
sub-transaction: a failing one keeps its previous contents, is logged with its SQLSTATE and message,
raises a WARNING, and summaries depending on it are skipped; the others are still refreshed and the
function does not raise, so the log rows survive (reports.refresh raises after committing them).
Every run of every summary is appended to reports.refresh_log; a NOTICE reports each finished summary.
A summary whose rows changed gets generation + 1, and NOTIFY reports_refreshed is sent with
{"run_id": ..., "views": [{"view": ..., "generation": ...}]} when the transaction commits.
Readers are never blocked and see the old contents until the calling transaction commits.
Unknown names raise 22023 naming them, with the valid names in the HINT.';
