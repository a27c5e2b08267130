-- Compare every summary with a full recompute, in one snapshot.

CREATE OR REPLACE FUNCTION reports.verify(p_views text[] DEFAULT NULL)
RETURNS TABLE (
    view text,
    bucket date,
    missing_rows bigint,
    extra_rows bigint
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
SET jit = off
AS $$
DECLARE
    v_valid_names text := (
        SELECT string_agg(s.name, ', ' ORDER BY s.position) FROM reports.summaries AS s
    );
    v_unknown text;
    v_summary record;
    v_columns text;
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

    -- STABLE: every statement below reads the snapshot of the calling statement.
    FOR v_summary IN
        SELECT s.name, s.compute_function, s.bucket_column, s.clock_columns
        FROM reports.summaries AS s
        WHERE p_views IS NULL OR s.name = ANY(p_views)
        ORDER BY s.position
    LOOP
        SELECT string_agg(pg_catalog.format('%I', a.attname), ', ' ORDER BY a.attnum) INTO v_columns
        FROM pg_catalog.pg_attribute AS a
        WHERE
            a.attrelid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', 'reports', v_summary.name))
            AND a.attnum > 0
            AND NOT a.attisdropped
            AND a.attgenerated = ''
            AND a.attname::text <> ALL (v_summary.clock_columns);

        RETURN QUERY EXECUTE pg_catalog.format(
            $sql$
            WITH computed AS MATERIALIZED (
                SELECT %1$s FROM %2$I.%3$I('(,)'::daterange)
            ),
            stored AS MATERIALIZED (
                SELECT %1$s FROM %2$I.%4$I
            )
            SELECT %5$L::text, d.bucket, sum(d.missing)::bigint, sum(d.extra)::bigint
            FROM (
                SELECT %6$s AS bucket, 1 AS missing, 0 AS extra
                FROM (SELECT * FROM computed EXCEPT ALL SELECT * FROM stored) AS m
                UNION ALL
                SELECT %6$s, 0, 1
                FROM (SELECT * FROM stored EXCEPT ALL SELECT * FROM computed) AS e
            ) AS d
            GROUP BY d.bucket
            ORDER BY d.bucket NULLS FIRST
            $sql$,
            v_columns,
            'reports',
            v_summary.compute_function,
            v_summary.name,
            v_summary.name,
            CASE
                WHEN v_summary.bucket_column IS NULL THEN 'NULL::date'
                ELSE pg_catalog.format('%I', v_summary.bucket_column)
            END
        );
    END LOOP;
END
$$;

COMMENT ON FUNCTION reports.verify(text[]) IS
'Compares the summaries named in p_views (NULL: all) with a full recompute from the sources, both ways (EXCEPT
ALL, so duplicates count), in one snapshot (that of the calling statement); returns one row per summary and
day bucket that differ, in summary and day order, and no row when every summary equals its recompute.
- view: the summary; bucket: its day bucket (day, or created_day), NULL for pipeline_open (no bucket).
- missing_rows: rows of the recompute that the summary lacks or holds with other values.
- extra_rows: rows of the summary that the recompute does not give (a changed row counts once each way).
Columns listed in reports.summaries.clock_columns depend on the time of the refresh, not only on the sources,
and are not compared (pipeline_open.as_of and age_days_sum). A summary built in another time zone than
reports.timezone() differs until its full refresh. Reads every source row: as costly as a full refresh, but it
writes nothing and takes no lock. Use reports.rebuild() to repair.';
