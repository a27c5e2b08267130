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

-- The engine sets temp_file_limit as the owner of the refresh functions, the role running this.
DO $owner$
BEGIN
    IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user)
        AND NOT pg_catalog.has_parameter_privilege(current_user, 'temp_file_limit', 'SET')
        AND pg_catalog.current_setting('temp_file_limit') = '-1' THEN
        RAISE WARNING 'role % may not set temp_file_limit: refreshes will be refused until it may', current_user
            USING HINT = pg_catalog.format(
                'As a superuser: GRANT SET ON PARAMETER temp_file_limit TO %I; or ALTER ROLE %I SET '
                'temp_file_limit = ''10GB''; or SELECT reports.set_refresh_limits(p_temp_file_limit => ''-1'').',
                current_user, current_user
            );
    END IF;
END
$owner$;
