-- reports.api_data_versions(): the data version of every summary, for the HTTP service.

CREATE OR REPLACE FUNCTION reports.api_data_versions()
RETURNS TABLE (summary text, generation bigint, refreshed_at timestamptz)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
    SELECT
        s.name,
        s.generation,
        s.refreshed_at
    FROM reports.summaries AS s
    ORDER BY s.position
$$;

COMMENT ON FUNCTION reports.api_data_versions() IS
'The data version of every summary table, for the HTTP service (granted to reports_api only, never exposed as
a report): one row per reports.summaries row in refresh order.
- summary: the summary table name (as in reports.api_catalog().summaries).
- generation: bumped by every refresh that changed its rows (reports.refresh_views), so (summary, generation)
  identifies its contents.
- refreshed_at: start of its last successful refresh (the data reflects the sources as of then); null if never.';
