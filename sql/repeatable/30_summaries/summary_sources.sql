-- Which source tables feed which summary: the tables whose changes the capture must see.

CREATE OR REPLACE VIEW reports.summary_sources AS
SELECT
    s.summary,
    s.source_table
FROM (
    VALUES
    ('deal_outcomes_daily', 'crm.deals'),
    ('deal_outcomes_daily', 'crm.clients'),
    ('deal_outcomes_by_day', 'crm.deals'),
    ('deal_outcomes_by_day', 'crm.clients'),
    ('payments_collected_daily', 'crm.payments'),
    ('payments_collected_daily', 'crm.deals'),
    ('payments_collected_daily', 'crm.clients'),
    ('payments_collected_by_day', 'crm.payments'),
    ('payments_collected_by_day', 'crm.deals'),
    ('payments_collected_by_day', 'crm.clients'),
    ('payment_open_spans', 'crm.payments'),
    ('payment_open_spans', 'crm.deals'),
    ('payment_open_spans', 'crm.clients'),
    ('payment_open_spans_by_day', 'crm.payments'),
    ('payment_open_spans_by_day', 'crm.deals'),
    ('payment_open_spans_by_day', 'crm.clients'),
    ('payments_invoiced_by_day', 'crm.payments'),
    ('payments_invoiced_by_day', 'crm.deals'),
    ('payments_invoiced_by_day', 'crm.clients'),
    ('stage_funnel_daily', 'crm.deals'),
    ('stage_funnel_daily', 'crm.deal_stage_history'),
    ('stage_funnel_daily', 'crm.clients'),
    ('stage_funnel_by_day', 'crm.deals'),
    ('stage_funnel_by_day', 'crm.deal_stage_history'),
    ('stage_funnel_by_day', 'crm.clients'),
    ('audit_activity_daily', 'audit.events'),
    ('audit_actors_by_day', 'audit.events'),
    ('audit_actions_by_day', 'audit.events'),
    ('audit_actions_by_month', 'audit.events'),
    ('clients_created_daily', 'crm.clients'),
    ('clients_created_by_day', 'crm.clients'),
    ('pipeline_open', 'crm.deals'),
    ('pipeline_open', 'crm.clients'),
    ('pipeline_open', 'crm.pipeline_stages'),
    ('pipeline_open_by_stage', 'crm.deals'),
    ('pipeline_open_by_stage', 'crm.clients'),
    ('pipeline_open_by_stage', 'crm.pipeline_stages')
) AS s (summary, source_table);

COMMENT ON VIEW reports.summary_sources IS
'The source tables each summary reads, directly or through the adapter views reports.src_* (summary,
source_table as schema.table): a summary is refreshed incrementally only while the capture triggers of
every one of its source tables are installed and enabled (reports.capture_status()).
A client''s deletion or new owner changes the rows of its deals and payments, a deal''s deletion, client or
owner those of its payments and its stage history: hence crm.clients and crm.deals under the payment and
funnel summaries. A summary computed from another (the *_by_day day totals, pipeline_open_by_stage, the actor
bitmaps and their month totals) lists the sources
of that one. crm.users and crm.teams feed no summary (names and teams are read live by the reports):
a user moved to another team changes nothing stored and is not captured.';
