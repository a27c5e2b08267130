-- Comments on the schema and on the foundation tables.

COMMENT ON SCHEMA reports IS
'Reports service of the CRM: summaries, refresh machinery and report functions over crm and audit '
'(read only). Managed by `reports migrate`; see reports.schema_migrations.';

COMMENT ON TABLE reports.schema_migrations IS
'Every applied file of sql/versioned and sql/repeatable: path, sha256 checksum, when, by whom, how long.';

COMMENT ON TABLE reports.settings IS
'Service-wide settings of reports, one row per key (timezone: IANA zone of report day boundaries).';
