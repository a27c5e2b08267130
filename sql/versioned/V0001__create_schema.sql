-- The reports schema: everything this service owns lives in it.
-- (The bootstrap already creates it so that reports.schema_migrations has a home;
-- this file keeps the schema part of the versioned history, as psql -f alone would need.)
-- Migrations never create or change objects in the crm or audit schemas.
--
-- Creates a new object only: nothing to wait for or to time out.
-- squawk-ignore-file require-lock-timeout, require-statement-timeout

CREATE SCHEMA IF NOT EXISTS reports;
