-- Refresh as a procedure: commit the work and the journal, then raise if anything failed.
--
-- A function cannot both raise and keep its refresh_log rows (PostgreSQL has no autonomous
-- transactions): the functions report failures as rows and WARNINGs. This procedure commits
-- first and raises afterwards, for callers that need an exception (psql scripts with
-- ON_ERROR_STOP, pg_cron). A procedure that COMMITs may have neither a SET clause nor
-- SECURITY DEFINER, so this one has no pinned search_path: it is SECURITY INVOKER (the caller's
-- own path can only affect the caller), names its objects schema-qualified, and leaves the
-- work to the SECURITY DEFINER engine reports.refresh_views, which pins its path.

CREATE OR REPLACE PROCEDURE reports.refresh(p_views text[] DEFAULT NULL, p_wait boolean DEFAULT FALSE)
LANGUAGE plpgsql
AS $$
DECLARE
    v_failed text[];
    v_sqlstate text;
    v_error text;
BEGIN
    SELECT
        pg_catalog.array_agg(r.view ORDER BY r.ord),
        (pg_catalog.array_agg(r.sqlstate ORDER BY r.ord))[1],
        (pg_catalog.array_agg(r.error ORDER BY r.ord))[1]
    INTO v_failed, v_sqlstate, v_error
    FROM reports.refresh_views(p_views, p_wait) WITH ORDINALITY
        AS r (view, status, rows, duration_ms, sqlstate, error, ord)
    WHERE r.status = 'failed';

    COMMIT;

    IF v_failed IS NOT NULL THEN
        RAISE EXCEPTION 'refresh of % failed: %', pg_catalog.array_to_string(v_failed, ', '), v_error
            USING ERRCODE = v_sqlstate,
                  DETAIL = 'The SQLSTATE and message are those of the first failure, in ' || v_failed[1] || '.',
                  HINT = 'The failed views keep their previous contents; every run is in reports.refresh_log.';
    END IF;
END
$$;

COMMENT ON PROCEDURE reports.refresh(text[], boolean) IS -- noqa: LT01
'Refreshes like reports.refresh_views(p_views, p_wait) (NULL: every summary), COMMITs the new contents and
the reports.refresh_log rows, then raises if any summary failed: SQLSTATE and message of the first failure,
naming every failed view. Skipped views (another refresh running, p_wait false) do not raise. Must be
CALLed outside an explicit transaction block (it commits), e.g. CALL reports.refresh(); in psql or pg_cron.';
