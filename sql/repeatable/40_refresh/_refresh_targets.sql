-- Which summaries a refresh of some views touches: those views and what depends on them.

CREATE OR REPLACE FUNCTION reports._refresh_targets(p_views text[])
RETURNS TABLE (name text, summary_position integer)
LANGUAGE sql
STABLE
SET search_path = reports, pg_temp
AS $$
    WITH RECURSIVE wanted (name) AS (
        SELECT s.name
        FROM reports.summaries AS s
        WHERE p_views IS NULL OR s.name = any(p_views)
        UNION
        SELECT s.name
        FROM reports.summaries AS s
        INNER JOIN wanted AS w ON w.name = any(s.depends_on)
    )

    SELECT
        s.name,
        s.position
    FROM reports.summaries AS s
    WHERE s.name IN (SELECT wanted.name FROM wanted)
$$;

COMMENT ON FUNCTION reports._refresh_targets(text[]) IS
'The summaries that a refresh of p_views touches (NULL: every summary): the named ones and, transitively,
every summary whose depends_on lists one of them; with their position in reports.summaries (dependency
order).';
