-- Rewrite a range of day buckets of one summary table: reports._refresh_days for one range.

CREATE OR REPLACE FUNCTION reports._refresh_summary(
    p_name text,
    p_days daterange,
    OUT rows_written bigint,
    OUT rows_deleted bigint,
    OUT rows_total bigint
)
LANGUAGE plpgsql
VOLATILE
SET search_path = reports, pg_temp
AS $$
BEGIN
    IF p_days IS NULL THEN
        RAISE EXCEPTION 'p_days must not be NULL'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass ''(,)''::daterange to refresh every day.';
    END IF;
    SELECT r.rows_inserted + r.rows_updated, r.rows_deleted INTO rows_written, rows_deleted
    FROM reports._refresh_days(p_name, datemultirange(p_days)) AS r;
    EXECUTE pg_catalog.format('SELECT count(*) FROM %I.%I', 'reports', p_name) INTO rows_total;
END
$$;

COMMENT ON FUNCTION reports._refresh_summary(text, daterange) IS
'Rewrites the buckets of summary p_name whose day lies in the range p_days, like
reports._refresh_days(p_name, datemultirange(p_days)) (which see); returns rows_written (inserted or updated),
rows_deleted and rows_total (rows in the table afterwards, counted). The caller holds the refresh lock
(internal).';
