-- Move the captured changes into the invalid days of every summary.

CREATE OR REPLACE FUNCTION reports._absorb_changes()
RETURNS bigint
LANGUAGE sql
VOLATILE
SET search_path = reports, pg_temp
AS $$
    -- A SQL function, planned on every call for the log's size at the time: 1 row after a quiet spell, a
    -- million after a bulk change. As PL/pgSQL (about 5 ms less per refresh) a session would keep the
    -- first plan made for this parameterless statement, however the log has grown since.
    -- One statement, so one snapshot: it deletes exactly the reports.change_log rows that this
    -- snapshot sees, and maps exactly those (reports._change_days reads the same snapshot, the
    -- deletions of its own statement being invisible to it). A writer that commits later keeps its
    -- rows for the next refresh, and its source changes are invisible to this one too.
    WITH consumed AS (
        DELETE FROM reports.change_log AS l
        RETURNING l.id
    ),

    -- A group narrows a day only for a summary that has a group column (reports.summaries.group_column).
    invalidated AS (
        INSERT INTO reports.invalid_days AS i (summary, day, group_id, changes, oldest_change_at)
        SELECT
            d.summary,
            d.day,
            g.group_id,
            count(DISTINCT d.change_id),
            min(d.captured_at)
        FROM reports._change_days AS d
        INNER JOIN reports.summaries AS s ON d.summary = s.name
        CROSS JOIN LATERAL (SELECT CASE WHEN s.group_column IS NOT NULL THEN d.group_id END AS group_id) AS g
        WHERE d.change_id IN (SELECT c.id FROM consumed AS c)
        GROUP BY d.summary, d.day, g.group_id
        ON CONFLICT (summary, day, group_id) DO UPDATE
            SET
                changes = i.changes + excluded.changes,
                oldest_change_at = least(i.oldest_change_at, excluded.oldest_change_at)
        RETURNING 1
    )

    SELECT count(*) FROM consumed
$$;

COMMENT ON FUNCTION reports._absorb_changes() IS
'Deletes every reports.change_log row that the current snapshot sees and adds the (summary, day, group) entries
they invalidate (reports._change_days, current time zone; the group only for a summary with a group_column) to
reports.invalid_days, counting the changes and keeping the oldest captured_at per entry; returns the number of changes consumed. Called by the refresh engine under the
refresh lock, before it refreshes the invalid days (internal).';
