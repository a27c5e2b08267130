-- reports.api_refreshed_at(): when the data behind one report call was refreshed, for the HTTP service.
-- PL/pgSQL so that its query is planned once per session: the service calls it in every uncached request.

CREATE OR REPLACE FUNCTION reports.api_refreshed_at(p_summaries text[])
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
BEGIN
    RETURN (
        SELECT CASE WHEN bool_and(s.refreshed_at IS NOT NULL) THEN min(s.refreshed_at) END
        FROM reports.summaries AS s
        WHERE s.name = ANY(p_summaries)
    );
END
$$;

COMMENT ON FUNCTION reports.api_refreshed_at(text[]) IS
'The refresh time of the data a report reads, for the HTTP service (granted to reports_api only, never exposed as
a report): the oldest refreshed_at (start of the last successful refresh) of the reports.summaries rows named in
p_summaries. Null when any of them was never refreshed, or when none of the names is a summary (the report reads
no summary). Names that are not summaries are ignored when others are.';
