-- Every GRANT on the objects of schema reports (docs/permissions.md), in one place.
--
-- revoke_public.sql (next to this file) revokes EXECUTE from PUBLIC and grants USAGE on the schema
-- to the group roles; the order of the two files does not matter. The role memberships (reports_admin
-- in reports_reader and reports_refresher, reports_api in reports_reader) are created with the roles
-- by versioned/V0002__create_roles.sql. Internal functions (names starting with _) are granted to
-- nobody: the SECURITY DEFINER functions below call them as their owner.
--
-- Re-applied whenever this file changes; a function dropped and re-created by another file needs
-- its GRANT listed here again (CREATE OR REPLACE keeps the privileges).

-- Reports: what every reader (and the HTTP service through reports_reader) may run.
GRANT EXECUTE ON FUNCTION
reports.sales_pipeline(bigint),
reports.revenue_by_period(date, date, text, bigint),
reports.manager_leaderboard(date, date, integer),
reports.stage_funnel(date, date),
reports.payments_aging(date),
reports.collections_summary(date, date),
reports.client_cohorts(date, date, text),
reports.top_clients(date, date, integer),
reports.activity_by_period(date, date, text),
reports.activity_by_action(date, date),
reports.dashboard(date, date)
TO reports_reader;

-- The HTTP service names the application user it serves (trusted from reports_api members only).
GRANT EXECUTE ON FUNCTION reports.set_caller(bigint, text[]) TO reports_api;

-- Refreshes. reports.refresh (a SECURITY INVOKER procedure, it commits) calls reports.refresh_views.
GRANT EXECUTE ON FUNCTION
reports.refresh_all(boolean),
reports.refresh_view(text, boolean),
reports.refresh_views(text[], boolean),
reports.refresh_status()
TO reports_refresher;
-- Incremental refresh: what is pending (the scheduler's early refresh), full rebuild, verification,
-- and the state of the change capture triggers.
GRANT EXECUTE ON FUNCTION
reports.pending_changes(),
reports.rebuild(text[], boolean),
reports.verify(text[]),
reports.capture_status()
TO reports_refresher;
GRANT EXECUTE ON PROCEDURE reports.refresh(text[], boolean) TO reports_refresher;
-- The limits the refresh drivers apply, the committed record of a refresh's start, and the source values that
-- the summaries leave out.
GRANT EXECUTE ON FUNCTION
reports.refresh_limits(),
reports.apply_refresh_statement_timeout(),
reports.record_refresh_start(text[]),
reports.record_refresh_end()
TO reports_refresher;
GRANT EXECUTE ON FUNCTION reports.source_anomalies() TO reports_refresher;

-- HTTP service: the catalog of exposed reports, the data version of the summaries, the refresh time of one
-- call's data and the applied migrations of /ready (for reports_api only; not granted to reports_reader, so
-- none is itself exposed as a report).
GRANT EXECUTE ON FUNCTION
reports.api_catalog(),
reports.api_data_versions(),
reports.api_refreshed_at(text[]),
reports.api_applied_migrations(),
reports.api_access_version()
TO reports_api;

-- The reports time zone: changing it forces a full refresh of every summary (administrators only).
GRANT EXECUTE ON FUNCTION reports.set_timezone(text) TO reports_admin;
-- The temporary file space and time one refresh may use (administrators only).
GRANT EXECUTE ON FUNCTION reports.set_refresh_limits(text, text) TO reports_admin;

-- Which access rule applies to a role in a report, and why (administrators only).
GRANT EXECUTE ON FUNCTION reports.explain_access(text, text, text) TO reports_admin;

-- The HTTP service's /metrics shows per view the data age, refresh mode and pending changes.
GRANT EXECUTE ON FUNCTION reports.refresh_status() TO reports_api;
