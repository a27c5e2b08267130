-- Comments of the access tables (created by V0012) that say how rules take precedence.

COMMENT ON TABLE reports.access_rules IS
'Which report each application role or database role may run, and with which scope. When several rules match
a caller, one takes precedence (reports._access_rules_for; reports.explain_access shows it): a rule for the
database role itself before one inherited from a group role it is a member of; then a rule for the named report
before *; then, between equally specific rules, the narrowest scope (own, then team, then all). No matching
rule: 42501. Members of reports_admin see every row whatever the rules say.';
