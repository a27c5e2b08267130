-- Rewrite the day buckets of one summary table in place, from its compute function.
--
-- One statement, so one snapshot of the sources and of the table: the new rows of the buckets are
-- computed once (a MATERIALIZED CTE: no temporary table, so no catalog churn), FULL JOINed with the
-- current rows of the same buckets on the key, and only the difference is written: rows whose key
-- vanished are deleted, new keys inserted, rows whose measures changed updated (by ctid); equal rows
-- are not touched, so a refresh that finds nothing new writes nothing. Only row locks: readers
-- never wait, and see the old rows until the refreshing transaction commits. No ON CONFLICT is
-- needed: one refresh at a time (the caller holds the refresh lock), and the table's key still
-- rejects a compute function that returns a key twice.
-- Keys are compared as whole records (ROW(...) values): record equality treats nulls as equal,
-- like the tables' UNIQUE NULLS NOT DISTINCT keys, and can be merge- or hash-joined, unlike a
-- column-wise IS NOT DISTINCT FROM. The planner cannot estimate such joins and overestimates
-- their cost, hence jit = off (compiling would dominate small refreshes).

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
SET jit = off
AS $$
DECLARE
    v_summary reports.summaries%ROWTYPE;
    v_table regclass;
    v_columns text[];
    v_measures text[];
    v_in_range text;
    v_outside bigint;
BEGIN
    SELECT s.* INTO v_summary
    FROM reports.summaries AS s
    WHERE s.name = p_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'p_name must be a summary of reports.summaries (got %)', coalesce(p_name, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = (SELECT 'Valid names: ' || string_agg(s.name, ', ' ORDER BY s.position)
                          FROM reports.summaries AS s);
    END IF;
    IF p_days IS NULL THEN
        RAISE EXCEPTION 'p_days must not be NULL'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass ''(,)''::daterange to refresh every day.';
    END IF;

    v_table := pg_catalog.to_regclass(pg_catalog.format('%I.%I', 'reports', v_summary.name));
    IF v_table IS NULL THEN
        RAISE EXCEPTION 'summary table reports.% does not exist', v_summary.name
            USING ERRCODE = 'undefined_table',
                  HINT = 'reports.summaries lists a table that the versioned migrations did not create.';
    END IF;

    -- Stored columns in table order (a generated column such as open_span is derived).
    SELECT array_agg(a.attname::text ORDER BY a.attnum) INTO v_columns
    FROM pg_catalog.pg_attribute AS a
    WHERE a.attrelid = v_table AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
    SELECT array_agg(c.col ORDER BY c.ord) INTO v_measures
    FROM unnest(v_columns) WITH ORDINALITY AS c (col, ord)
    WHERE c.col <> ALL (v_summary.key_columns);

    IF v_summary.bucket_column IS NULL THEN
        v_in_range := 'TRUE';  -- a snapshot: always replaced whole, whatever p_days
    ELSIF isempty(p_days) THEN
        rows_written := 0;
        rows_deleted := 0;
        EXECUTE pg_catalog.format('SELECT count(*) FROM %s', v_table) INTO rows_total;
        RETURN;
    ELSE
        -- $1 = first day, $2 = day after the last (daterange is canonical: [lower, upper))
        v_in_range := pg_catalog.format('%1$s.%2$I >= $1 AND %1$s.%2$I < $2', '%1$s', v_summary.bucket_column);
    END IF;

    IF v_measures IS NULL THEN
        RAISE EXCEPTION 'summary table reports.% has no measure column', v_summary.name
            USING ERRCODE = 'invalid_table_definition',
                  HINT = 'Every column that is not in reports.summaries.key_columns is a measure.';
    END IF;

    EXECUTE pg_catalog.format(
        $sql$
        WITH computed AS MATERIALIZED (
            SELECT %1$s FROM %2$I.%3$I($3)
        ),
        diff AS MATERIALIZED (
            SELECT o.row_id, n.present, %4$s
            FROM (SELECT t.ctid AS row_id, ROW(%5$s) AS key, %6$s FROM %7$s AS t WHERE %8$s) AS o
            FULL JOIN (SELECT TRUE AS present, ROW(%9$s) AS key, %10$s FROM computed AS c) AS n
                ON o.key = n.key
            WHERE o.row_id IS NULL OR n.present IS NULL OR (%11$s) IS DISTINCT FROM (%12$s)
        ),
        removed AS (
            DELETE FROM %7$s AS t USING diff AS d
            WHERE t.ctid = d.row_id AND d.present IS NULL
            RETURNING 1
        ),
        updated AS (
            UPDATE %7$s AS t SET %13$s FROM diff AS d
            WHERE t.ctid = d.row_id AND d.present
            RETURNING 1
        ),
        inserted AS (
            INSERT INTO %7$s (%1$s)
            SELECT %14$s FROM diff AS d WHERE d.row_id IS NULL
            RETURNING 1
        )
        SELECT
            (SELECT count(*) FROM inserted) + (SELECT count(*) FROM updated),
            (SELECT count(*) FROM removed),
            (SELECT count(*) FROM computed AS c WHERE NOT (%15$s))
        $sql$,
        (SELECT string_agg(pg_catalog.format('%I', c), ', ') FROM unnest(v_columns) AS c),
        'reports',
        v_summary.compute_function,
        (SELECT string_agg(pg_catalog.format('n.%I', c), ', ') FROM unnest(v_columns) AS c),
        (SELECT string_agg(pg_catalog.format('t.%I', k), ', ') FROM unnest(v_summary.key_columns) AS k),
        (SELECT string_agg(pg_catalog.format('t.%I', m), ', ') FROM unnest(v_measures) AS m),
        v_table,
        pg_catalog.format(v_in_range, 't'),
        (SELECT string_agg(pg_catalog.format('c.%I', k), ', ') FROM unnest(v_summary.key_columns) AS k),
        (SELECT string_agg(pg_catalog.format('c.%I', c), ', ') FROM unnest(v_columns) AS c),
        (SELECT string_agg(pg_catalog.format('o.%I', m), ', ') FROM unnest(v_measures) AS m),
        (SELECT string_agg(pg_catalog.format('n.%I', m), ', ') FROM unnest(v_measures) AS m),
        (SELECT string_agg(pg_catalog.format('%1$I = d.%1$I', m), ', ') FROM unnest(v_measures) AS m),
        (SELECT string_agg(pg_catalog.format('d.%I', c), ', ') FROM unnest(v_columns) AS c),
        pg_catalog.format(v_in_range, 'c')
    )
    INTO rows_written, rows_deleted, v_outside
    USING coalesce(lower(p_days), '-infinity'::date), coalesce(upper(p_days), 'infinity'::date), p_days;

    IF v_outside > 0 THEN
        RAISE EXCEPTION 'reports.%(%) returned % rows outside the requested days',
            v_summary.compute_function, p_days, v_outside
            USING ERRCODE = 'data_exception',
                  HINT = 'A compute function must return only the rows of the buckets in p_days.';
    END IF;

    EXECUTE pg_catalog.format('SELECT count(*) FROM %s', v_table) INTO rows_total;
END
$$;

COMMENT ON FUNCTION reports._refresh_summary(text, daterange) IS
'Rewrites the buckets of summary p_name (a row of reports.summaries) whose day lies in p_days from
reports.compute_<summary>(p_days), in one statement that writes only the difference: deletes rows of those
days whose key vanished, inserts new keys, updates rows whose measures changed (IS DISTINCT FROM) and leaves
equal rows untouched. The caller holds the refresh lock (no concurrent writer).
A summary without a bucket column (pipeline_open) is replaced whole whatever p_days; an empty p_days
changes nothing. Returns rows_written (inserted or updated), rows_deleted and rows_total (rows in the table
afterwards). Raises 22000 when the compute function returns rows outside p_days. Row locks only: readers
are never blocked and see the old rows until the caller commits.';
