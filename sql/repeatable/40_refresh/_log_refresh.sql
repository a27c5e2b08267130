-- One row of the refresh journal.

CREATE OR REPLACE FUNCTION reports._log_refresh(
    p_run_id uuid,
    p_view text,
    p_mode text,
    p_days daterange,
    p_started_at timestamptz,
    p_finished_at timestamptz,
    p_rows bigint,
    p_rows_written bigint,
    p_rows_deleted bigint,
    p_status text,
    p_error text,
    p_sqlstate text
)
RETURNS numeric
LANGUAGE sql
VOLATILE
SET search_path = reports, pg_temp
AS $$
    INSERT INTO reports.refresh_log (
        run_id, view, mode, days, started_at, finished_at, duration_ms,
        rows, rows_written, rows_deleted, status, error, sqlstate
    )
    VALUES (
        p_run_id, p_view, p_mode, p_days, p_started_at, p_finished_at,
        round(extract(EPOCH FROM p_finished_at - p_started_at) * 1000, 1),
        p_rows, p_rows_written, p_rows_deleted, p_status, p_error, p_sqlstate
    )
    RETURNING duration_ms
$$;

COMMENT ON FUNCTION reports._log_refresh(
    uuid, text, text, daterange, timestamptz, timestamptz, bigint, bigint, bigint, text, text, text
) IS
'Appends one row to reports.refresh_log and returns its duration_ms (finished_at - started_at in
milliseconds, rounded to 0.1).';
