-- Adapter: the CRM's pipeline stages.

CREATE OR REPLACE VIEW reports.src_pipeline_stages AS
SELECT
    s.code,
    s.name,
    s.position,
    coalesce(s.probability, 0) AS probability,
    s.is_closed
FROM crm.pipeline_stages AS s;

COMMENT ON VIEW reports.src_pipeline_stages IS
'Adapter over crm.pipeline_stages: every stage (code, name, position, probability, is_closed).
Excludes nothing. probability is the chance of winning a deal in the stage (0..1); a null
probability reads as 0.';
