-- Rewrite some day buckets of one summary table in place, from its compute function.
--
-- One statement, so one snapshot of the sources and of the table: the new rows of the buckets are
-- computed once (a MATERIALIZED CTE: no temporary table, so no catalog churn), FULL JOINed with the
-- current rows of the same buckets on the key, and only the difference is written: rows whose key
-- vanished are deleted, new keys inserted, rows whose measures changed updated (by ctid); equal rows
-- are not touched, so a refresh that finds nothing new writes nothing. New rows are inserted in key
-- order: the key's index then grows at its right edge instead of at random pages (a first build of
-- audit_activity_daily, 4.7 million rows: 70.6 s instead of 94.5 s, docs/benchmarks.md). When the table
-- holds no row of those days (a first build, new days), there is nothing to diff: the rows are inserted
-- as computed, in key order, without the FULL JOIN and its copies (a first build of audit_activity_daily:
-- 58.6 s instead of 74.5 s, docs/benchmarks.md). Only row
-- locks: readers never wait, and see the old rows until the refreshing transaction commits. No
-- ON CONFLICT is needed: one refresh at a time (the caller holds the refresh lock). Every compute function
-- groups by the key; one that returned a key twice would be stopped by the table's key when the key is new,
-- not when it is stored (the diff would update that row once).
-- The days are a multirange: one contiguous range (every day for a full refresh) is computed by one
-- call of the compute function and selected from the table by a range of the bucket column; several
-- ranges (the days an incremental refresh found invalid) by one call per range, or one call for their
-- hull when they are many (reports._compute_ranges; rows of other days are dropped), and selected by
-- the list of their days (an index scan per day on the bucket-first key).
-- Keys are matched with native equalities (hash- or merge-joinable): a NOT NULL key column with
-- o.k = n.k, a nullable one null-safely with (o.k IS NULL) = (n.k IS NULL) AND coalesce(o.k, x) =
-- coalesce(n.k, x), where x is any value of the column's type (the IS NULL test already tells a
-- null from x). IS NOT DISTINCT FROM would force a nested loop; record equality sorts slowly.
-- The planner cannot estimate the compute function's rows, so its plans are rough: jit = off
-- (compiling would dominate small refreshes).
-- p_groups narrows the days to the rows whose group column (reports.summaries.group_column) holds one of
-- these values: only those rows are computed (the compute function takes p_groups as its second argument),
-- compared and written; other rows of the days are left alone.

DROP FUNCTION IF EXISTS reports._refresh_days(text, datemultirange);

CREATE OR REPLACE FUNCTION reports._refresh_days(
    p_name text,
    p_days datemultirange,
    p_groups bigint[] DEFAULT NULL,
    OUT rows_inserted bigint,
    OUT rows_updated bigint,
    OUT rows_deleted bigint,
    OUT rows_computed bigint
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
    v_key_match text;
    v_unsupported text;
    v_hull daterange := range_merge(p_days);
    v_in_range text;
    v_keep text := 'TRUE';
    v_source text;
    v_computed_days datemultirange;
    v_day_list date[];
    v_outside bigint;
    v_stored boolean;
    v_statement text;
    v_group_test text := '';
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
                  HINT = 'Pass ''{(,)}''::datemultirange to refresh every day.';
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
    IF v_measures IS NULL OR NOT v_summary.key_columns <@ v_columns THEN
        RAISE EXCEPTION 'summary table reports.% does not match its key columns %', v_summary.name, v_summary.key_columns
            USING ERRCODE = 'invalid_table_definition',
                  HINT = 'Every key column must be a column of the table, and at least one column must be a measure.';
    END IF;

    -- The join condition of old and new rows on the key; x per type category (numeric, string,
    -- boolean, date/time): any valid value does.
    SELECT
        string_agg(
            CASE
                WHEN a.attnotnull THEN pg_catalog.format('o.%1$I = n.%1$I', a.attname)
                ELSE pg_catalog.format(
                    '(o.%1$I IS NULL) = (n.%1$I IS NULL) AND coalesce(o.%1$I, %2$L::%3$s) = coalesce(n.%1$I, %2$L::%3$s)',
                    a.attname,
                    CASE t.typcategory WHEN 'N' THEN '0' WHEN 'S' THEN '' WHEN 'B' THEN 'false' WHEN 'D' THEN 'epoch' END,
                    pg_catalog.format_type(a.atttypid, a.atttypmod)
                )
            END,
            ' AND ' ORDER BY k.ord
        ),
        string_agg(a.attname, ', ') FILTER (WHERE NOT a.attnotnull AND t.typcategory NOT IN ('N', 'S', 'B', 'D'))
    INTO v_key_match, v_unsupported
    FROM unnest(v_summary.key_columns) WITH ORDINALITY AS k (col, ord)
    INNER JOIN pg_catalog.pg_attribute AS a ON a.attrelid = v_table AND a.attname = k.col
    INNER JOIN pg_catalog.pg_type AS t ON a.atttypid = t.oid;
    IF v_unsupported IS NOT NULL THEN
        RAISE EXCEPTION 'nullable key columns of reports.% have an unsupported type: %', v_summary.name, v_unsupported
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Nullable key columns must be of a numeric, string, boolean or date/time type.';
    END IF;

    IF p_groups IS NOT NULL AND (v_summary.group_column IS NULL OR v_summary.bucket_column IS NULL) THEN
        RAISE EXCEPTION 'p_groups must be NULL for summary %: it has no group column', v_summary.name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Only a summary with a day bucket and a group_column in reports.summaries is refreshed by group.';
    END IF;

    -- $1 = first day, $2 = day after the last (canonical ranges: [lower, upper)), $3 = the hull of
    -- the days, $4 = the days, $5 = the list of the days (several bounded ranges only), $6 = the
    -- ranges passed to the compute function (several ranges only), $7 = p_groups.
    IF p_groups IS NOT NULL THEN
        v_group_test := pg_catalog.format(' AND %1$s.%2$I = ANY ($7)', '%1$s', v_summary.group_column);
    END IF;
    v_source := pg_catalog.format(
        '%I.%I($3%s) AS t', 'reports', v_summary.compute_function, CASE WHEN p_groups IS NOT NULL THEN ', $7' END
    );
    v_computed_days := p_days;
    IF v_summary.bucket_column IS NULL THEN
        v_in_range := 'TRUE';  -- a snapshot: always replaced whole, whatever p_days
        v_source := pg_catalog.format('%I.%I(''(,)''::daterange) AS t', 'reports', v_summary.compute_function);
    ELSIF isempty(p_days) THEN
        rows_inserted := 0;
        rows_updated := 0;
        rows_deleted := 0;
        rows_computed := 0;
        RETURN;
    ELSIF p_days = datemultirange(v_hull) THEN
        v_in_range := pg_catalog.format('%1$s.%2$I >= $1 AND %1$s.%2$I < $2', '%1$s', v_summary.bucket_column);
    ELSE
        v_computed_days := (SELECT range_agg(r.days) FROM reports._compute_ranges(p_days) AS r (days));
        v_source := pg_catalog.format(
            'unnest($6) AS r (days) CROSS JOIN LATERAL %I.%I(r.days%s) AS t',
            'reports', v_summary.compute_function, CASE WHEN p_groups IS NOT NULL THEN ', $7' END
        );
        v_keep := pg_catalog.format('t.%I <@ $4', v_summary.bucket_column);
        IF lower_inf(v_hull) OR upper_inf(v_hull) THEN
            v_in_range := pg_catalog.format('%1$s.%2$I <@ $4', '%1$s', v_summary.bucket_column);
        ELSE
            v_in_range := pg_catalog.format('%1$s.%2$I = ANY ($5)', '%1$s', v_summary.bucket_column);
            -- Bounded by construction: no source row has a day outside reports._reportable_days().
            v_day_list := ARRAY(
                SELECT g.day::date
                FROM unnest(p_days * datemultirange(reports._reportable_days())) AS r (days)
                CROSS JOIN LATERAL generate_series(lower(r.days), upper(r.days) - 1, interval '1 day') AS g (day)
            );
        END IF;
    END IF;

    v_in_range := v_in_range || v_group_test;  -- only the rows of p_groups, when given

    -- Any stored row of the days? (Under the refresh lock nothing else writes the table.) The same parameters
    -- as the statement below.
    EXECUTE pg_catalog.format(
        'SELECT EXISTS (SELECT FROM %s AS t WHERE %s)', v_table, pg_catalog.format(v_in_range, 't')
    )
    INTO v_stored
    USING
        coalesce(lower(v_hull), '-infinity'::date), coalesce(upper(v_hull), 'infinity'::date), v_hull, p_days,
        v_day_list, v_computed_days, p_groups;

    -- The arguments of both statements: %1$s the columns (t.), %2$s the compute call, %3$s the columns (n.),
    -- %4$s the table, %5$s the test of a stored row of the days, %6$s the key match, %7$s / %8$s the measures
    -- (o. / n.), %9$s the SET list, %10$s the column names, %11$s the columns (d.), %12$s the test of a
    -- computed row inside the days it was computed for, %13$s the test of a computed row kept (of p_days),
    -- %14$s the key (d.), %15$s the key (t.).
    IF v_stored THEN
        v_statement := $sql$
        WITH returned AS MATERIALIZED (
            SELECT %1$s FROM %2$s
        ),
        computed AS MATERIALIZED (
            SELECT * FROM returned AS t WHERE %13$s
        ),
        diff AS MATERIALIZED (
            SELECT o.row_id, n.present, %3$s
            FROM (SELECT t.ctid AS row_id, %1$s FROM %4$s AS t WHERE %5$s) AS o
            FULL JOIN (SELECT TRUE AS present, %1$s FROM computed AS t) AS n ON %6$s
            WHERE o.row_id IS NULL OR n.present IS NULL OR (%7$s) IS DISTINCT FROM (%8$s)
        ),
        removed AS (
            DELETE FROM %4$s AS t USING diff AS d
            WHERE t.ctid = d.row_id AND d.present IS NULL
            RETURNING 1
        ),
        updated AS (
            UPDATE %4$s AS t SET %9$s FROM diff AS d
            WHERE t.ctid = d.row_id AND d.present
            RETURNING 1
        ),
        inserted AS (
            INSERT INTO %4$s (%10$s)
            SELECT %11$s FROM diff AS d WHERE d.row_id IS NULL
            ORDER BY %14$s
            RETURNING 1
        )
        SELECT
            (SELECT count(*) FROM inserted),
            (SELECT count(*) FROM updated),
            (SELECT count(*) FROM removed),
            (SELECT count(*) FROM computed),
            (SELECT count(*) FROM returned AS t WHERE NOT (%12$s))
        $sql$;
    ELSE
        v_statement := $sql$
        WITH returned AS MATERIALIZED (
            SELECT %1$s FROM %2$s
        ),
        inserted AS (
            INSERT INTO %4$s (%10$s)
            SELECT %1$s FROM returned AS t WHERE %13$s
            ORDER BY %15$s
            RETURNING 1
        )
        SELECT
            (SELECT count(*) FROM inserted),
            0::bigint,
            0::bigint,
            (SELECT count(*) FROM inserted),
            (SELECT count(*) FROM returned AS t WHERE NOT (%12$s))
        $sql$;
    END IF;

    EXECUTE pg_catalog.format(
        v_statement,
        (SELECT string_agg(pg_catalog.format('t.%I', c), ', ') FROM unnest(v_columns) AS c),
        v_source,
        (SELECT string_agg(pg_catalog.format('n.%I', c), ', ') FROM unnest(v_columns) AS c),
        v_table,
        pg_catalog.format(v_in_range, 't'),
        v_key_match,
        (SELECT string_agg(pg_catalog.format('o.%I', m), ', ') FROM unnest(v_measures) AS m),
        (SELECT string_agg(pg_catalog.format('n.%I', m), ', ') FROM unnest(v_measures) AS m),
        (SELECT string_agg(pg_catalog.format('%1$I = d.%1$I', m), ', ') FROM unnest(v_measures) AS m),
        (SELECT string_agg(pg_catalog.format('%I', c), ', ') FROM unnest(v_columns) AS c),
        (SELECT string_agg(pg_catalog.format('d.%I', c), ', ') FROM unnest(v_columns) AS c),
        CASE
            WHEN v_keep = 'TRUE' THEN pg_catalog.format(v_in_range, 't')
            ELSE pg_catalog.format('t.%I <@ $6', v_summary.bucket_column) || pg_catalog.format(v_group_test, 't')
        END,
        v_keep,
        (SELECT string_agg(pg_catalog.format('d.%I', k), ', ') FROM unnest(v_summary.key_columns) AS k),
        (SELECT string_agg(pg_catalog.format('t.%I', k), ', ') FROM unnest(v_summary.key_columns) AS k)
    )
    INTO rows_inserted, rows_updated, rows_deleted, rows_computed, v_outside
    USING
        coalesce(lower(v_hull), '-infinity'::date), coalesce(upper(v_hull), 'infinity'::date), v_hull, p_days,
        v_day_list, v_computed_days, p_groups;

    IF v_outside > 0 THEN
        RAISE EXCEPTION 'reports.%(%) returned % rows outside the requested days',
            v_summary.compute_function, v_computed_days, v_outside
            USING ERRCODE = 'data_exception',
                  HINT = 'A compute function must return only the rows of the buckets in p_days.';
    END IF;
END
$$;

COMMENT ON FUNCTION reports._refresh_days(text, datemultirange, bigint[]) IS
'Rewrites the buckets of summary p_name (a row of reports.summaries) whose day lies in p_days from
reports.compute_<summary>(one call per range of p_days), in one statement that writes only the difference:
deletes rows of those days whose key vanished, inserts new keys, updates rows whose measures changed (IS
DISTINCT FROM) and leaves equal rows untouched; when no stored row has one of those days, it inserts the
computed rows without comparing. The caller holds the refresh lock (no concurrent writer).
A summary without a bucket column (pipeline_open) is replaced whole whatever p_days; an empty p_days changes
nothing. Returns rows_inserted, rows_updated, rows_deleted and rows_computed (the new rows of those days: the
whole table after a refresh of every day). Raises 22000 when the compute function returns rows outside
p_days (or, with p_groups, rows of other groups). With p_groups (a summary with a group_column) only the rows of
those days whose group column is one of p_groups are computed and rewritten; raises 22023 for a summary without
one. Row locks only: readers are never blocked and see the old rows until the caller commits (internal).';
