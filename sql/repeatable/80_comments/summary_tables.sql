-- Comments on the summary tables (sql/versioned/V0010__create_summary_tables.sql).
-- The rows of each table are defined by reports.compute_<table>(p_days); see its comment.

COMMENT ON TABLE reports.deal_outcomes_daily IS
'Won and lost deals per local day of closed_at, owner and client; rows = reports.compute_deal_outcomes_daily.';
COMMENT ON COLUMN reports.deal_outcomes_daily.day IS 'Local date of closed_at in the reports time zone.';
COMMENT ON COLUMN reports.deal_outcomes_daily.owner_id IS 'The deal''s owner (crm.users.id).';
COMMENT ON COLUMN reports.deal_outcomes_daily.client_id IS 'The deal''s client (crm.clients.id).';
COMMENT ON COLUMN reports.deal_outcomes_daily.won_deals IS 'Deals won that day.';
COMMENT ON COLUMN reports.deal_outcomes_daily.won_amount IS 'Sum of amount of the deals won that day.';
COMMENT ON COLUMN reports.deal_outcomes_daily.won_cycle_days_sum IS
'Sum over the won deals of closed_at - created_at in days (interval epoch / 86400), unrounded.';
COMMENT ON COLUMN reports.deal_outcomes_daily.lost_deals IS 'Deals lost that day.';
COMMENT ON COLUMN reports.deal_outcomes_daily.last_won_at IS 'Latest closed_at of a deal won that day (NULL: none).';

COMMENT ON TABLE reports.payments_collected_daily IS
'Payments received per local day of paid_at, payment owner and client; rows =
reports.compute_payments_collected_daily.';
COMMENT ON COLUMN reports.payments_collected_daily.day IS 'Local date of paid_at in the reports time zone.';
COMMENT ON COLUMN reports.payments_collected_daily.owner_id IS
'Payment owner: its deal''s owner, else its client''s owner (NULL: neither).';
COMMENT ON COLUMN reports.payments_collected_daily.client_id IS 'The payment''s client (crm.clients.id).';
COMMENT ON COLUMN reports.payments_collected_daily.paid_payments IS 'Payments whose paid_at falls on that day.';
COMMENT ON COLUMN reports.payments_collected_daily.paid_amount IS 'Sum of their amount.';

COMMENT ON TABLE reports.payment_open_spans IS
'Payments that are not failed, per local creation day, owner, due date and local paid day; rows =
reports.compute_payment_open_spans. Outstanding at the end of day D: rows with open_span @> D.';
COMMENT ON COLUMN reports.payment_open_spans.created_day IS 'Local date of created_at (the invoicing day).';
COMMENT ON COLUMN reports.payment_open_spans.owner_id IS
'Payment owner: its deal''s owner, else its client''s owner (NULL: neither).';
COMMENT ON COLUMN reports.payment_open_spans.due_date IS 'The payments'' due date.';
COMMENT ON COLUMN reports.payment_open_spans.paid_day IS 'Local date of paid_at (NULL: not paid).';
COMMENT ON COLUMN reports.payment_open_spans.payments IS 'Number of payments.';
COMMENT ON COLUMN reports.payment_open_spans.amount IS 'Sum of their amount.';
COMMENT ON COLUMN reports.payment_open_spans.open_span IS
'Days at whose end the payments are outstanding: [created_day, paid_day), unbounded when not paid, empty
when paid before created_day (generated; GiST-indexed).';

COMMENT ON TABLE reports.stage_funnel_daily IS
'Stages entered by deals, per local day of the deal''s created_at, owner and stage; rows =
reports.compute_stage_funnel_daily.';
COMMENT ON COLUMN reports.stage_funnel_daily.created_day IS 'Local date of the deal''s created_at.';
COMMENT ON COLUMN reports.stage_funnel_daily.owner_id IS 'The deal''s owner.';
COMMENT ON COLUMN reports.stage_funnel_daily.stage_code IS 'The stage entered (history to_stage).';
COMMENT ON COLUMN reports.stage_funnel_daily.reached IS 'Deals that entered the stage (once per deal).';
COMMENT ON COLUMN reports.stage_funnel_daily.left_deals IS
'Those of them with a history row after their first entry into the stage.';
COMMENT ON COLUMN reports.stage_funnel_daily.days_in_stage_sum IS
'Sum over left_deals of the days from the first entry to the next history row (epoch / 86400), unrounded.';

COMMENT ON TABLE reports.audit_activity_daily IS
'Audit events per local day, actor, action and entity type; rows = reports.compute_audit_activity_daily.';
COMMENT ON COLUMN reports.audit_activity_daily.day IS 'Local date of occurred_at.';
COMMENT ON COLUMN reports.audit_activity_daily.actor_id IS 'The acting user (NULL: event without an actor).';
COMMENT ON COLUMN reports.audit_activity_daily.action IS 'The event''s action.';
COMMENT ON COLUMN reports.audit_activity_daily.entity_type IS 'The event''s entity type (may be NULL).';
COMMENT ON COLUMN reports.audit_activity_daily.events IS 'Number of events.';

COMMENT ON TABLE reports.clients_created_daily IS
'Clients per local day of created_at and owner; rows = reports.compute_clients_created_daily.';
COMMENT ON COLUMN reports.clients_created_daily.day IS 'Local date of the client''s created_at.';
COMMENT ON COLUMN reports.clients_created_daily.owner_id IS 'The client''s owner (NULL: none).';
COMMENT ON COLUMN reports.clients_created_daily.clients IS 'Clients created that day (soft-deleted excluded).';

COMMENT ON TABLE reports.pipeline_open IS
'Open deals at the last refresh, per owner and current stage (no day bucket); rows =
reports.compute_pipeline_open. Rewritten by every refresh, since its ages move with the clock.';
COMMENT ON COLUMN reports.pipeline_open.owner_id IS 'The deal''s owner.';
COMMENT ON COLUMN reports.pipeline_open.stage_code IS 'The deal''s current stage (crm.deals.stage).';
COMMENT ON COLUMN reports.pipeline_open.deals IS 'Number of open deals.';
COMMENT ON COLUMN reports.pipeline_open.amount IS 'Sum of their amount.';
COMMENT ON COLUMN reports.pipeline_open.weighted_amount IS 'Sum of amount * probability of the stage.';
COMMENT ON COLUMN reports.pipeline_open.age_days_sum IS
'Sum of as_of - created_at in days (epoch / 86400), unrounded; mean age = age_days_sum / deals.';
COMMENT ON COLUMN reports.pipeline_open.as_of IS 'When the snapshot was taken (start of the refreshing transaction).';

-- Day totals (sql/versioned/V0015__create_scope_all_rollups.sql and V0017__create_scope_all_open_totals.sql),
-- read by the reports in scope all.

COMMENT ON TABLE reports.deal_outcomes_by_day IS
'reports.deal_outcomes_daily summed per day over every owner and client (for callers in scope all); rows =
reports.compute_deal_outcomes_by_day, refreshed right after deal_outcomes_daily.';
COMMENT ON COLUMN reports.deal_outcomes_by_day.day IS 'Local date of closed_at in the reports time zone.';
COMMENT ON COLUMN reports.deal_outcomes_by_day.won_deals IS 'Deals won that day.';
COMMENT ON COLUMN reports.deal_outcomes_by_day.won_amount IS 'Sum of amount of the deals won that day.';
COMMENT ON COLUMN reports.deal_outcomes_by_day.won_cycle_days_sum IS
'Sum over the won deals of closed_at - created_at in days (interval epoch / 86400), unrounded.';
COMMENT ON COLUMN reports.deal_outcomes_by_day.lost_deals IS 'Deals lost that day.';
COMMENT ON COLUMN reports.deal_outcomes_by_day.last_won_at IS 'Latest closed_at of a deal won that day (NULL: none).';

COMMENT ON TABLE reports.payments_collected_by_day IS
'reports.payments_collected_daily summed per day over every payment owner (null included) and client (for callers
in scope all); rows = reports.compute_payments_collected_by_day, refreshed right after payments_collected_daily.';
COMMENT ON COLUMN reports.payments_collected_by_day.day IS 'Local date of paid_at in the reports time zone.';
COMMENT ON COLUMN reports.payments_collected_by_day.paid_payments IS 'Payments whose paid_at falls on that day.';
COMMENT ON COLUMN reports.payments_collected_by_day.paid_amount IS 'Sum of their amount.';

COMMENT ON TABLE reports.stage_funnel_by_day IS
'reports.stage_funnel_daily summed per creation day and stage over every owner (for callers in scope all); rows =
reports.compute_stage_funnel_by_day, refreshed right after stage_funnel_daily.';
COMMENT ON COLUMN reports.stage_funnel_by_day.created_day IS 'Local date of the deal''s created_at.';
COMMENT ON COLUMN reports.stage_funnel_by_day.stage_code IS 'The stage entered (history to_stage).';
COMMENT ON COLUMN reports.stage_funnel_by_day.reached IS 'Deals that entered the stage (once per deal).';
COMMENT ON COLUMN reports.stage_funnel_by_day.left_deals IS
'Those of them with a history row after their first entry into the stage.';
COMMENT ON COLUMN reports.stage_funnel_by_day.days_in_stage_sum IS
'Sum over left_deals of the days from the first entry to the next history row (epoch / 86400), unrounded.';

COMMENT ON TABLE reports.payment_open_spans_by_day IS
'reports.payment_open_spans summed per creation day, due date and paid day over every payment owner (null
included; for callers in scope all); rows = reports.compute_payment_open_spans_by_day, refreshed right after
payment_open_spans. Outstanding at the end of day D: rows with open_span @> D.';
COMMENT ON COLUMN reports.payment_open_spans_by_day.created_day IS 'Local date of created_at (the invoicing day).';
COMMENT ON COLUMN reports.payment_open_spans_by_day.due_date IS 'The payments'' due date.';
COMMENT ON COLUMN reports.payment_open_spans_by_day.paid_day IS 'Local date of paid_at (NULL: not paid).';
COMMENT ON COLUMN reports.payment_open_spans_by_day.payments IS 'Number of payments (not failed).';
COMMENT ON COLUMN reports.payment_open_spans_by_day.amount IS 'Sum of their amount.';
COMMENT ON COLUMN reports.payment_open_spans_by_day.open_span IS
'Days at whose end the payments are outstanding: [created_day, paid_day), unbounded when not paid, empty
when paid before created_day (generated; GiST-indexed).';

COMMENT ON TABLE reports.payments_invoiced_by_day IS
'reports.payment_open_spans_by_day summed per creation day (payments not failed, every payment owner; for callers in
scope all); rows = reports.compute_payments_invoiced_by_day, refreshed right after payment_open_spans_by_day.';
COMMENT ON COLUMN reports.payments_invoiced_by_day.created_day IS 'Local date of created_at (the invoicing day).';
COMMENT ON COLUMN reports.payments_invoiced_by_day.payments IS 'Payments (not failed) created that day.';
COMMENT ON COLUMN reports.payments_invoiced_by_day.amount IS 'Sum of their amount.';

COMMENT ON TABLE reports.clients_created_by_day IS
'reports.clients_created_daily summed per day over every client owner (null included; for callers in scope all);
rows = reports.compute_clients_created_by_day, refreshed right after clients_created_daily.';
COMMENT ON COLUMN reports.clients_created_by_day.day IS 'Local date of the client''s created_at.';
COMMENT ON COLUMN reports.clients_created_by_day.clients IS 'Clients created that day (soft-deleted excluded).';

COMMENT ON TABLE reports.pipeline_open_by_stage IS
'reports.pipeline_open summed per stage over every owner (for callers in scope all; no day bucket); rows =
reports.compute_pipeline_open_by_stage, rewritten right after pipeline_open by every refresh.';
COMMENT ON COLUMN reports.pipeline_open_by_stage.stage_code IS 'The deals'' current stage (crm.deals.stage).';
COMMENT ON COLUMN reports.pipeline_open_by_stage.deals IS 'Number of open deals.';
COMMENT ON COLUMN reports.pipeline_open_by_stage.amount IS 'Sum of their amount.';
COMMENT ON COLUMN reports.pipeline_open_by_stage.weighted_amount IS 'Sum of amount * probability of the stage.';
COMMENT ON COLUMN reports.pipeline_open_by_stage.age_days_sum IS
'Sum of as_of - created_at in days (epoch / 86400), unrounded; mean age = age_days_sum / deals.';
COMMENT ON COLUMN reports.pipeline_open_by_stage.as_of IS 'When pipeline_open was snapshot (start of the refreshing
transaction).';

-- Actor bitmaps (sql/versioned/V0016__create_audit_actor_bitmaps.sql), read by the activity reports
-- and the dashboard: distinct actors of any days = bits set in the OR of their bitmaps.

COMMENT ON TABLE reports.audit_actors_by_day IS
'Audit events with an actor per local day and actor block, with the set of their actors as a bitmap; rows =
reports.compute_audit_actors_by_day (from reports.audit_actions_by_day), refreshed right after
audit_actions_by_day. Distinct actors of a set of days = sum over blocks of bit_count(bit_or(actors)).';
COMMENT ON COLUMN reports.audit_actors_by_day.day IS 'Local date of occurred_at.';
COMMENT ON COLUMN reports.audit_actors_by_day.actor_block IS
'Block of 4096 actor ids: actor_id >> 12 (reports._actor_block).';
COMMENT ON COLUMN reports.audit_actors_by_day.events IS 'Events of the block''s actors that day.';
COMMENT ON COLUMN reports.audit_actors_by_day.actors IS
'The block''s actors with an event that day: bit (actor_id & 4095), counted from the left from 0, is set for
each (reports._actor_bit).';

COMMENT ON TABLE reports.audit_actions_by_day IS
'Audit events with an actor per local day, action, entity type and actor block, with the set of their actors as
a bitmap; rows = reports.compute_audit_actions_by_day (from reports.audit_activity_daily), refreshed right after
audit_activity_daily.';
COMMENT ON COLUMN reports.audit_actions_by_day.day IS 'Local date of occurred_at.';
COMMENT ON COLUMN reports.audit_actions_by_day.action IS 'The events'' action.';
COMMENT ON COLUMN reports.audit_actions_by_day.entity_type IS 'The events'' entity type (may be NULL).';
COMMENT ON COLUMN reports.audit_actions_by_day.actor_block IS
'Block of 4096 actor ids: actor_id >> 12 (reports._actor_block).';
COMMENT ON COLUMN reports.audit_actions_by_day.events IS 'Events of the block''s actors that day with this action
and entity type.';
COMMENT ON COLUMN reports.audit_actions_by_day.actors IS
'The block''s actors with such an event that day: bit (actor_id & 4095), counted from the left from 0, is set
for each (reports._actor_bit).';

COMMENT ON TABLE reports.audit_actions_by_month IS
'Audit events with an actor per calendar month (local days), action, entity type and actor block, with the set
of their actors as a bitmap: reports.audit_actions_by_day ORed over the month; rows =
reports.compute_audit_actions_by_month, refreshed right after audit_actions_by_day (bucket_grain month).';
COMMENT ON COLUMN reports.audit_actions_by_month.month IS 'First day of the month (local dates of occurred_at).';
COMMENT ON COLUMN reports.audit_actions_by_month.action IS 'The events'' action.';
COMMENT ON COLUMN reports.audit_actions_by_month.entity_type IS 'The events'' entity type (may be NULL).';
COMMENT ON COLUMN reports.audit_actions_by_month.actor_block IS
'Block of 4096 actor ids: actor_id >> 12 (reports._actor_block).';
COMMENT ON COLUMN reports.audit_actions_by_month.events IS 'Events of the block''s actors that month with this
action and entity type.';
COMMENT ON COLUMN reports.audit_actions_by_month.actors IS
'The block''s actors with such an event that month: bit (actor_id & 4095), counted from the left from 0, is set
for each (reports._actor_bit).';
