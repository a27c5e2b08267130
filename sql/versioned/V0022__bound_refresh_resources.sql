-- The resources one refresh may use, kept with the other settings (reports.refresh_limits()):
-- - refresh_temp_file_limit: temp_file_limit of the refresh engine's work (applied by the engine
--   itself, whoever calls it), so that no refresh can fill the disk with temporary files;
-- - refresh_statement_timeout: statement_timeout of the refresh statement, applied by the CLI, the
--   scheduler and POST /refresh (a function cannot bound the statement that calls it).
-- squawk-ignore-file require-lock-timeout, require-statement-timeout, prefer-robust-stmts

INSERT INTO reports.settings (key, value)
VALUES
('refresh_temp_file_limit', '10GB'),
('refresh_statement_timeout', '1h')
ON CONFLICT (key) DO NOTHING;
