"""Every report computed directly from the crm/audit tables, for the latency comparison.

Formulated from the definitions (docs/metrics.md, the issue's table), not from the report
functions: no summary table, no reports.* object. Each entry pairs the report call with the
direct query; both take the same parameters (``p_from``, ``p_to``, ``tz``, and ``owner``: NULL
for every owner, or one owner id, which is what scope ``own`` of a manager means). The benchmark
also checks that both return the same rows (``sales_pipeline.avg_age_days`` aside: the report
measures age at refresh time, the direct query at query time).
"""

from __future__ import annotations

from dataclasses import dataclass


def local_day(column: str) -> str:
    """The local day (reports time zone) of a timestamptz column."""
    return f"({column} AT TIME ZONE %(tz)s)::date"


# Deals and payments that exist for the reports: not deleted, client not deleted; a payment of a
# deal only when that deal exists. owner_id of a payment: its deal's owner, else its client's.
DEALS = """(
    SELECT d.id, d.client_id, d.owner_id, d.stage, d.status, d.amount, d.created_at, d.closed_at
    FROM crm.deals AS d
    JOIN crm.clients AS c ON c.id = d.client_id AND c.deleted_at IS NULL
    WHERE d.deleted_at IS NULL AND (%(owner)s::bigint IS NULL OR d.owner_id = %(owner)s::bigint)
)"""
PAYMENTS = """(
    SELECT p.id, p.client_id, p.amount, p.status, p.due_date, p.paid_at, p.created_at,
           coalesce(d.owner_id, c.owner_id) AS owner_id
    FROM crm.payments AS p
    JOIN crm.clients AS c ON c.id = p.client_id AND c.deleted_at IS NULL
    LEFT JOIN crm.deals AS d ON d.id = p.deal_id AND d.deleted_at IS NULL
        AND EXISTS (SELECT FROM crm.clients AS dc WHERE dc.id = d.client_id AND dc.deleted_at IS NULL)
    WHERE (p.deal_id IS NULL OR d.id IS NOT NULL)
      AND (%(owner)s::bigint IS NULL OR coalesce(d.owner_id, c.owner_id) = %(owner)s::bigint)
)"""
EVENTS = """(
    SELECT e.actor_id, e.action, e.entity_type, e.occurred_at
    FROM audit.events AS e
    WHERE e.actor_id IS NOT NULL AND (%(owner)s::bigint IS NULL OR e.actor_id = %(owner)s::bigint)
)"""
BUCKETS = "(VALUES (1, 'current'), (2, '1-30'), (3, '31-60'), (4, '61-90'), (5, '90+')) AS n (ord, bucket)"


@dataclass(frozen=True)
class Report:
    name: str
    call: str  # the report function call
    direct: str  # the same figure from the sources
    ignore: tuple[str, ...] = ()  # columns left out of the equality check


SALES_PIPELINE = Report(
    "sales_pipeline",
    "SELECT * FROM reports.sales_pipeline()",
    f"""
    SELECT s.code AS stage_code, s.name AS stage_name, s.position AS stage_position,
           count(d.id) AS deals, round(coalesce(sum(d.amount), 0), 2) AS amount,
           round(coalesce(sum(d.amount * coalesce(s.probability, 0)), 0), 2) AS weighted_amount,
           round(avg(extract(EPOCH FROM now() - d.created_at) / 86400), 2) AS avg_age_days
    FROM crm.pipeline_stages AS s
    LEFT JOIN {DEALS} AS d ON d.stage = s.code AND d.status = 'open'
    WHERE NOT s.is_closed
    GROUP BY s.code, s.name, s.position
    ORDER BY s.position
    """,
    ignore=("avg_age_days",),
)

REVENUE_BY_PERIOD = Report(
    "revenue_by_period",
    "SELECT * FROM reports.revenue_by_period(%(p_from)s, %(p_to)s)",
    f"""
    WITH periods AS (
        SELECT p::date AS period_start, greatest(p::date, %(p_from)s) AS lo,
               least((p + interval '1 month')::date - 1, %(p_to)s) AS hi
        FROM generate_series(date_trunc('month', %(p_from)s::date), %(p_to)s::date, interval '1 month') AS p
    ),
    won AS (
        SELECT {local_day("d.closed_at")} AS day, d.amount FROM {DEALS} AS d
        WHERE d.status = 'won'
          AND {local_day("d.closed_at")}
              BETWEEN (date_trunc('month', %(p_from)s::date) - interval '1 month')::date AND %(p_to)s
    ),
    paid AS (
        SELECT {local_day("p.paid_at")} AS day, p.amount FROM {PAYMENTS} AS p
        WHERE {local_day("p.paid_at")} BETWEEN %(p_from)s AND %(p_to)s
    ),
    per AS (
        SELECT pr.period_start,
               (SELECT count(*) FROM won AS w WHERE w.day BETWEEN pr.lo AND pr.hi) AS won_deals,
               (SELECT coalesce(sum(w.amount), 0) FROM won AS w
                WHERE w.day BETWEEN pr.lo AND pr.hi) AS won_amount,
               (SELECT coalesce(sum(x.amount), 0) FROM paid AS x
                WHERE x.day BETWEEN pr.lo AND pr.hi) AS paid
        FROM periods AS pr
    ),
    first_prev AS (
        SELECT coalesce(sum(w.amount), 0) AS amount FROM won AS w
        WHERE w.day >= (date_trunc('month', %(p_from)s::date) - interval '1 month')::date
          AND w.day < date_trunc('month', %(p_from)s::date)::date
    ),
    with_prev AS (
        SELECT per.*, coalesce(lag(per.won_amount) OVER (ORDER BY per.period_start),
                               (SELECT amount FROM first_prev)) AS prev
        FROM per
    )
    SELECT period_start, won_deals, round(won_amount, 2) AS won_amount,
           round(won_amount / nullif(won_deals, 0), 2) AS avg_deal_size, round(paid, 2) AS paid_amount,
           round(prev, 2) AS prev_won_amount,
           round(100 * (won_amount - prev) / nullif(prev, 0), 2) AS growth_pct
    FROM with_prev ORDER BY period_start
    """,
)

MANAGER_LEADERBOARD = Report(
    "manager_leaderboard",
    "SELECT * FROM reports.manager_leaderboard(%(p_from)s, %(p_to)s)",
    f"""
    WITH per AS (
        SELECT d.owner_id,
               count(*) FILTER (WHERE d.status = 'won') AS won_deals,
               coalesce(sum(d.amount) FILTER (WHERE d.status = 'won'), 0) AS won_amount,
               count(*) FILTER (WHERE d.status = 'lost') AS lost_deals,
               avg(extract(EPOCH FROM d.closed_at - d.created_at) / 86400)
                   FILTER (WHERE d.status = 'won') AS cycle
        FROM {DEALS} AS d
        WHERE d.status IN ('won', 'lost') AND {local_day("d.closed_at")} BETWEEN %(p_from)s AND %(p_to)s
        GROUP BY d.owner_id
    )
    SELECT dense_rank() OVER (ORDER BY per.won_amount DESC) AS rank, per.owner_id, u.full_name AS owner_name,
           t.name AS team_name, per.won_deals, round(per.won_amount, 2) AS won_amount, per.lost_deals,
           round(per.won_deals::numeric / (per.won_deals + per.lost_deals), 4) AS win_rate,
           round(per.won_amount / nullif(per.won_deals, 0), 2) AS avg_deal_size,
           round(per.cycle, 2) AS avg_cycle_days
    FROM per
    JOIN crm.users AS u ON u.id = per.owner_id
    LEFT JOIN crm.teams AS t ON t.id = u.team_id
    ORDER BY per.won_amount DESC, per.owner_id
    LIMIT 20
    """,
)

STAGE_FUNNEL = Report(
    "stage_funnel",
    "SELECT * FROM reports.stage_funnel(%(p_from)s, %(p_to)s)",
    f"""
    WITH deals AS (
        SELECT d.id FROM {DEALS} AS d WHERE {local_day("d.created_at")} BETWEEN %(p_from)s AND %(p_to)s
    ),
    h AS (
        SELECT h.deal_id, h.to_stage, h.changed_at,
               row_number() OVER (PARTITION BY h.deal_id ORDER BY h.changed_at, h.id) AS seq
        FROM crm.deal_stage_history AS h
        WHERE h.deal_id IN (SELECT id FROM deals)
    ),
    first_entry AS (
        SELECT DISTINCT ON (h.deal_id, h.to_stage) h.deal_id, h.to_stage, h.changed_at, h.seq
        FROM h ORDER BY h.deal_id, h.to_stage, h.seq
    ),
    per AS (
        SELECT f.to_stage, count(*) AS reached,
               avg(extract(EPOCH FROM nx.changed_at - f.changed_at) / 86400) AS days
        FROM first_entry AS f
        LEFT JOIN h AS nx ON nx.deal_id = f.deal_id AND nx.seq = f.seq + 1
        GROUP BY f.to_stage
    )
    SELECT s.code AS stage_code, coalesce(per.reached, 0) AS reached,
           round(100.0 * coalesce(per.reached, 0)
                 / nullif(lag(coalesce(per.reached, 0)) OVER (ORDER BY s.position), 0), 2) AS conversion_pct,
           round(per.days, 2) AS avg_days_in_stage
    FROM crm.pipeline_stages AS s
    LEFT JOIN per ON per.to_stage = s.code
    ORDER BY s.position
    """,
)

PAYMENTS_AGING = Report(
    "payments_aging",
    "SELECT * FROM reports.payments_aging(%(p_to)s)",
    f"""
    WITH outstanding AS (
        SELECT p.amount, %(p_to)s::date - p.due_date AS past_due FROM {PAYMENTS} AS p
        WHERE {local_day("p.created_at")} <= %(p_to)s AND p.status <> 'failed'
          AND (p.paid_at IS NULL OR {local_day("p.paid_at")} > %(p_to)s)
    ),
    bucketed AS (
        SELECT CASE WHEN past_due <= 0 THEN 'current' WHEN past_due <= 30 THEN '1-30'
                    WHEN past_due <= 60 THEN '31-60' WHEN past_due <= 90 THEN '61-90'
                    ELSE '90+' END AS bucket,
               amount
        FROM outstanding
    )
    SELECT n.bucket, count(b.amount) AS payments, round(coalesce(sum(b.amount), 0), 2) AS amount,
           round(100 * coalesce(sum(b.amount), 0)
                 / nullif((SELECT sum(amount) FROM outstanding), 0), 2) AS share_pct
    FROM {BUCKETS}
    LEFT JOIN bucketed AS b ON b.bucket = n.bucket
    GROUP BY n.ord, n.bucket
    ORDER BY n.ord
    """,
)

_COLLECTIONS = f"""(
    SELECT p.amount, p.status, p.due_date, {local_day("p.created_at")} AS created_day,
           {local_day("p.paid_at")} AS paid_day
    FROM {PAYMENTS} AS p
)"""
_OUTSTANDING_AT_END = (
    "p.created_day <= %(p_to)s AND p.status <> 'failed' AND (p.paid_day IS NULL OR p.paid_day > %(p_to)s)"
)

COLLECTIONS_SUMMARY = Report(
    "collections_summary",
    "SELECT * FROM reports.collections_summary(%(p_from)s, %(p_to)s)",
    f"""
    WITH t AS (
        SELECT
            count(*) FILTER (
                WHERE p.created_day BETWEEN %(p_from)s AND %(p_to)s AND p.status <> 'failed') AS n,
            coalesce(sum(p.amount) FILTER (
                WHERE p.created_day BETWEEN %(p_from)s AND %(p_to)s AND p.status <> 'failed'), 0) AS invoiced,
            coalesce(sum(p.amount) FILTER (WHERE p.paid_day BETWEEN %(p_from)s AND %(p_to)s), 0) AS collected,
            coalesce(sum(p.amount) FILTER (WHERE {_OUTSTANDING_AT_END}), 0) AS outstanding,
            coalesce(sum(p.amount) FILTER (
                WHERE {_OUTSTANDING_AT_END} AND p.due_date < %(p_to)s), 0) AS overdue
        FROM {_COLLECTIONS} AS p
    )
    SELECT n AS invoiced_count, round(invoiced, 2) AS invoiced_amount,
           round(collected, 2) AS collected_amount,
           round(outstanding, 2) AS outstanding_amount, round(overdue, 2) AS overdue_amount,
           round(outstanding / nullif(invoiced / (%(p_to)s::date - %(p_from)s::date + 1), 0), 2) AS dso_days
    FROM t
    """,
)

CLIENT_COHORTS = Report(
    "client_cohorts",
    "SELECT * FROM reports.client_cohorts(%(p_from)s, %(p_to)s)",
    f"""
    WITH won AS (
        SELECT d.client_id, {local_day("d.closed_at")} AS day, d.amount
        FROM {DEALS} AS d WHERE d.status = 'won'
    ),
    firsts AS (
        SELECT w.client_id, date_trunc('month', min(w.day))::date AS cohort FROM won AS w GROUP BY w.client_id
    ),
    cohorts AS (
        SELECT p::date AS cohort_start
        FROM generate_series(date_trunc('month', %(p_from)s::date), %(p_to)s::date, interval '1 month') AS p
        WHERE p::date >= %(p_from)s
    ),
    grid AS (
        SELECT c.cohort_start, k AS period_offset
        FROM cohorts AS c,
             generate_series(0, ((extract(YEAR FROM %(p_to)s::date) - extract(YEAR FROM c.cohort_start)) * 12
                                 + extract(MONTH FROM %(p_to)s::date)
                                 - extract(MONTH FROM c.cohort_start))::int) AS k
    ),
    sizes AS (SELECT f.cohort, count(*) AS size FROM firsts AS f GROUP BY f.cohort),
    activity AS (
        SELECT f.cohort,
               ((extract(YEAR FROM w.day) - extract(YEAR FROM f.cohort)) * 12
                + extract(MONTH FROM w.day) - extract(MONTH FROM f.cohort))::int AS k,
               count(DISTINCT w.client_id) AS active, sum(w.amount) AS amount
        FROM firsts AS f JOIN won AS w ON w.client_id = f.client_id
        WHERE f.cohort >= %(p_from)s AND f.cohort <= %(p_to)s AND w.day <= %(p_to)s
        GROUP BY 1, 2
    )
    SELECT g.cohort_start, g.period_offset, coalesce(s.size, 0) AS cohort_size,
           coalesce(a.active, 0) AS active_clients,
           round(100.0 * coalesce(a.active, 0) / nullif(s.size, 0), 2) AS retention_pct,
           round(coalesce(a.amount, 0), 2) AS won_amount
    FROM grid AS g
    LEFT JOIN sizes AS s ON s.cohort = g.cohort_start
    LEFT JOIN activity AS a ON a.cohort = g.cohort_start AND a.k = g.period_offset
    ORDER BY g.cohort_start, g.period_offset
    """,
)

TOP_CLIENTS = Report(
    "top_clients",
    "SELECT * FROM reports.top_clients(%(p_from)s, %(p_to)s)",
    f"""
    WITH won AS (
        SELECT d.client_id, count(*) AS won_deals, sum(d.amount) AS won_amount,
               max(d.closed_at) AS last_won_at
        FROM {DEALS} AS d
        WHERE d.status = 'won' AND {local_day("d.closed_at")} BETWEEN %(p_from)s AND %(p_to)s
        GROUP BY d.client_id
    ),
    paid AS (
        SELECT p.client_id, sum(p.amount) AS paid FROM {PAYMENTS} AS p
        WHERE {local_day("p.paid_at")} BETWEEN %(p_from)s AND %(p_to)s
        GROUP BY p.client_id
    ),
    j AS (
        SELECT coalesce(w.client_id, x.client_id) AS client_id, coalesce(w.won_deals, 0) AS won_deals,
               coalesce(w.won_amount, 0) AS won_amount, coalesce(x.paid, 0) AS paid, w.last_won_at
        FROM won AS w FULL JOIN paid AS x ON x.client_id = w.client_id
    )
    SELECT dense_rank() OVER (ORDER BY j.won_amount DESC) AS rank, j.client_id, c.name AS client_name,
           j.won_deals, round(j.won_amount, 2) AS won_amount, round(j.paid, 2) AS paid_amount, j.last_won_at
    FROM j JOIN crm.clients AS c ON c.id = j.client_id
    ORDER BY j.won_amount DESC, j.client_id
    LIMIT 10
    """,
)

ACTIVITY_BY_PERIOD = Report(
    "activity_by_period",
    "SELECT * FROM reports.activity_by_period(%(p_from)s, %(p_to)s)",
    f"""
    WITH e AS (
        SELECT {local_day("e.occurred_at")} AS day, e.actor_id FROM {EVENTS} AS e
        WHERE {local_day("e.occurred_at")} BETWEEN %(p_from)s AND %(p_to)s
    )
    SELECT p::date AS period_start, count(DISTINCT e.actor_id) AS active_users, count(e.actor_id) AS events,
           round(count(e.actor_id)::numeric / nullif(count(DISTINCT e.actor_id), 0), 4)
               AS events_per_active_user
    FROM generate_series(%(p_from)s::date, %(p_to)s::date, interval '1 day') AS p
    LEFT JOIN e ON e.day = p::date
    GROUP BY p
    ORDER BY p
    """,
)

ACTIVITY_BY_ACTION = Report(
    "activity_by_action",
    "SELECT * FROM reports.activity_by_action(%(p_from)s, %(p_to)s)",
    f"""
    SELECT e.action, e.entity_type, count(*) AS events, count(DISTINCT e.actor_id) AS actors
    FROM {EVENTS} AS e
    WHERE {local_day("e.occurred_at")} BETWEEN %(p_from)s AND %(p_to)s
    GROUP BY e.action, e.entity_type
    ORDER BY events DESC, e.action, e.entity_type NULLS LAST
    """,
)

DASHBOARD = Report(
    "dashboard",
    "SELECT * FROM reports.dashboard(%(p_from)s, %(p_to)s)",
    f"""
    WITH pipeline AS (
        SELECT round(coalesce(sum(d.amount), 0), 2) AS amount,
               round(coalesce(sum(d.amount * coalesce(s.probability, 0)), 0), 2) AS weighted
        FROM crm.pipeline_stages AS s
        LEFT JOIN {DEALS} AS d ON d.stage = s.code AND d.status = 'open'
        WHERE NOT s.is_closed
        GROUP BY s.code
    ),
    closed AS (
        SELECT count(*) FILTER (WHERE d.status = 'won') AS won,
               coalesce(sum(d.amount) FILTER (WHERE d.status = 'won'), 0) AS won_amount,
               count(*) FILTER (WHERE d.status = 'lost') AS lost
        FROM {DEALS} AS d
        WHERE d.status IN ('won', 'lost') AND {local_day("d.closed_at")} BETWEEN %(p_from)s AND %(p_to)s
    ),
    money AS (
        SELECT coalesce(sum(p.amount) FILTER (
                   WHERE p.paid_day BETWEEN %(p_from)s AND %(p_to)s), 0) AS collected,
               coalesce(sum(p.amount) FILTER (
                   WHERE {_OUTSTANDING_AT_END} AND p.due_date < %(p_to)s), 0) AS overdue
        FROM {_COLLECTIONS} AS p
    )
    SELECT (SELECT sum(amount) FROM pipeline) AS open_pipeline_amount,
           (SELECT sum(weighted) FROM pipeline) AS weighted_pipeline_amount,
           closed.won AS won_deals, round(closed.won_amount, 2) AS won_amount,
           round(closed.won::numeric / nullif(closed.won + closed.lost, 0), 4) AS win_rate,
           round(closed.won_amount / nullif(closed.won, 0), 2) AS avg_deal_size,
           round(money.collected, 2) AS collected_amount, round(money.overdue, 2) AS overdue_amount,
           (SELECT count(DISTINCT e.actor_id) FROM {EVENTS} AS e
            WHERE {local_day("e.occurred_at")} BETWEEN %(p_from)s AND %(p_to)s) AS active_users,
           (SELECT count(*) FROM crm.clients AS c
            WHERE c.deleted_at IS NULL AND {local_day("c.created_at")} BETWEEN %(p_from)s AND %(p_to)s
              AND (%(owner)s::bigint IS NULL OR c.owner_id = %(owner)s::bigint)) AS new_clients
    FROM closed, money
    """,
)

REPORTS = (
    SALES_PIPELINE,
    REVENUE_BY_PERIOD,
    MANAGER_LEADERBOARD,
    STAGE_FUNNEL,
    PAYMENTS_AGING,
    COLLECTIONS_SUMMARY,
    CLIENT_COHORTS,
    TOP_CLIENTS,
    ACTIVITY_BY_PERIOD,
    ACTIVITY_BY_ACTION,
    DASHBOARD,
)
