-- Bootstrap of the migration runners: the schema and the table recording applied files.
--
-- Run first by BOTH runners (`reports migrate` and scripts/migrate-local.sh), under the
-- migration advisory lock, on every run; idempotent and never itself recorded.
-- Changing the table's shape here would need a versioned file for existing databases:
-- keep it stable.

CREATE SCHEMA IF NOT EXISTS reports;

CREATE TABLE IF NOT EXISTS reports.schema_migrations (
    -- path relative to sql/, e.g. versioned/V0001__create_schema.sql
    script text NOT NULL,
    kind text NOT NULL, -- noqa: RF04
    -- the <4 digits> of a versioned file; NULL for repeatable files
    version integer, -- noqa: RF04
    -- sha256 (hex) of the file's bytes, as `sha256sum` prints it
    checksum text NOT NULL, -- noqa: RF04
    applied_at timestamptz NOT NULL DEFAULT now(),
    -- the database role that applied the file (current_user)
    applied_by text NOT NULL DEFAULT current_user,
    -- which runner and OS user: 'reports migrate (alice)', 'migrate-local.sh (alice)'
    runner text NOT NULL,
    duration_ms integer NOT NULL,
    CONSTRAINT schema_migrations_pkey PRIMARY KEY (script),
    CONSTRAINT schema_migrations_version_key UNIQUE (version),
    CONSTRAINT schema_migrations_kind_check CHECK (kind IN ('versioned', 'repeatable')),
    CONSTRAINT schema_migrations_version_check CHECK ((kind = 'versioned') = (version IS NOT NULL)),
    CONSTRAINT schema_migrations_checksum_check CHECK (checksum ~ '^[0-9a-f]{64}$'),
    CONSTRAINT schema_migrations_duration_check CHECK (duration_ms >= 0)
);
