-- Service-wide settings of reports, one row per key.
-- 'timezone': the IANA time zone of the day boundaries in every report.
--
-- A new table: nothing to wait for or to time out. Both runners apply a versioned file in one
-- transaction, so a failure part way leaves nothing behind (no IF NOT EXISTS needed, and an
-- unexpected existing reports.settings must fail loudly rather than be adopted).
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts

CREATE TABLE reports.settings (
    key text NOT NULL, -- noqa: RF04
    value text NOT NULL, -- noqa: RF04
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT settings_pkey PRIMARY KEY (key)
);

INSERT INTO reports.settings (key, value)
VALUES ('timezone', 'UTC');
