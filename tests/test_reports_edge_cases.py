"""Report rules the demo data does not exercise, on source rows added by the test.

The demo deals enter each stage once and never share a changed_at; stage_funnel's rules for a
deal entering a stage several times (counted once; time measured from the FIRST entry to the
first history row after it, in changed_at then id order) are checked here on added history rows.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import psycopg
from reference import Reference, load_source
from reports_harness import assert_same_rows


def _funnel(db: psycopg.Connection[dict[str, Any]], p_from: date, p_to: date) -> list[dict[str, Any]]:
    query = "SELECT * FROM reports.stage_funnel(p_from => %s, p_to => %s)"
    return db.execute(query, (p_from, p_to)).fetchall()


INSERT_CHANGE = (
    "INSERT INTO crm.deal_stage_history (deal_id, from_stage, to_stage, changed_at) VALUES (%s, %s, %s, %s)"
)


def test_stage_funnel_counts_reentries_once(db: psycopg.Connection[dict[str, Any]]) -> None:
    p_from, p_to = date(2025, 1, 1), date(2025, 6, 30)
    before = Reference(load_source(db), "UTC")
    # Deals created in the range that went lead -> qualified -> proposal -> negotiation (and on).
    deals = db.execute(
        """
        SELECT h.deal_id,
            min(h.changed_at) FILTER (WHERE h.to_stage = 'qualified') AS qualified_at,
            min(h.changed_at) FILTER (WHERE h.to_stage = 'proposal') AS proposal_at
        FROM crm.deal_stage_history AS h
        INNER JOIN crm.deals AS d ON d.id = h.deal_id
        INNER JOIN crm.clients AS c ON c.id = d.client_id
        WHERE d.deleted_at IS NULL AND c.deleted_at IS NULL
            AND d.created_at >= '2025-01-02' AND d.created_at < '2025-06-29'
        GROUP BY h.deal_id
        HAVING count(*) FILTER (WHERE h.to_stage = 'negotiation') = 1
        ORDER BY h.deal_id
        LIMIT 4
        """
    ).fetchall()
    assert len(deals) == 4
    back_and_forth, same_time = deals[:3], deals[3]
    for deal in back_and_forth:
        # proposal -> qualified -> proposal again, one and two hours after the first proposal entry
        for hours, stage in ((1, "qualified"), (2, "proposal")):
            db.execute(
                INSERT_CHANGE,
                (
                    deal["deal_id"],
                    "proposal" if stage == "qualified" else "qualified",
                    stage,
                    deal["proposal_at"] + timedelta(hours=hours),
                ),
            )
    # A second qualified row at exactly the same time as the first (a larger id): 0 days in qualified.
    db.execute(
        INSERT_CHANGE,
        (same_time["deal_id"], "qualified", "qualified", same_time["qualified_at"]),
    )
    db.execute("SELECT * FROM reports.refresh_all()")
    after = Reference(load_source(db), "UTC")
    expected = after.stage_funnel(p_from, p_to)
    assert_same_rows(_funnel(db, p_from, p_to), expected, context="stage_funnel with re-entries")
    # The added rows change the times but not the counts: the check is not vacuous.
    unchanged = before.stage_funnel(p_from, p_to)
    assert [r["reached"] for r in expected] == [r["reached"] for r in unchanged]
    by_stage = {r["stage_code"]: r for r in expected}
    old = {r["stage_code"]: r for r in unchanged}
    assert by_stage["proposal"]["avg_days_in_stage"] < old["proposal"]["avg_days_in_stage"]
    assert by_stage["qualified"]["avg_days_in_stage"] != old["qualified"]["avg_days_in_stage"]


def test_distinct_actors_across_bitmap_blocks(db: psycopg.Connection[dict[str, Any]]) -> None:
    """Active users are counted from bitmaps of 4096 actor ids per block: ids on both sides of block
    boundaries, a very large id and a negative one (any bigint is an id) must each count once."""
    p_from, p_to = date(2025, 3, 1), date(2025, 3, 31)
    ids = [4095, 4096, 8191, 8192, 12_345_678_901, -1, -4096, -4097]
    for user_id in ids:
        db.execute(
            "INSERT INTO crm.users (id, full_name, role) VALUES (%s, %s, 'analyst')",
            (user_id, f"user {user_id}"),
        )
    # each id active on two days a week apart, with two events of one action and one of another
    for n, user_id in enumerate(ids):
        for day in (date(2025, 3, 3 + n % 3), date(2025, 3, 10 + n % 3)):
            for action in ("report.viewed", "report.viewed", "report.exported"):
                db.execute(
                    "INSERT INTO audit.events (occurred_at, actor_id, service, action, entity_type)"
                    " VALUES (%s::date + time '12:00', %s, 'reports', %s, 'report')",
                    (day, user_id, action),
                )
    db.execute("SELECT * FROM reports.refresh_all()")
    reference = Reference(load_source(db), "UTC")

    for grain in ("day", "week", "month"):
        got = db.execute(
            "SELECT * FROM reports.activity_by_period(%s, %s, %s)", (p_from, p_to, grain)
        ).fetchall()
        assert_same_rows(got, reference.activity_by_period(p_from, p_to, grain), context=f"grain {grain}")
    got = db.execute("SELECT * FROM reports.activity_by_action(%s, %s)", (p_from, p_to)).fetchall()
    expected = reference.activity_by_action(p_from, p_to)
    assert sorted(map(str, got)) == sorted(map(str, expected))
    # the added actors are really in there: every one of them did report.exported, nobody else did
    exported = next(r for r in got if r["action"] == "report.exported")
    assert exported["actors"] == len(ids) and exported["events"] == 2 * len(ids)
    dashboard = db.execute("SELECT active_users FROM reports.dashboard(%s, %s)", (p_from, p_to)).fetchone()
    month = reference.activity_by_period(p_from, p_to, "month")
    assert dashboard == {"active_users": month[0]["active_users"]}


def test_top_clients_ranks_zero_and_negative_won_amounts_with_clients_only_paid(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """top_clients ranks the clients with a won deal first and adds the clients only paid in the range
    (won_amount 0) only when fewer than p_limit clients won a positive amount; a won amount of 0 ties
    with them (ordered by client_id) and a negative one ranks after them. The demo data has neither."""
    p_from, p_to = date(2019, 3, 1), date(2019, 3, 31)  # before the demo data: only the rows below
    owner = db.execute("SELECT min(id) AS id FROM crm.users WHERE role = 'manager'").fetchone()["id"]  # type: ignore[index]
    clients = {}
    # "paid only" before "won 0": at a tie the smaller client_id, a client without a won deal, comes first
    for name in ("won 100 a", "paid only", "won 0", "lost and paid", "won -5", "won 100 b"):
        clients[name] = db.execute(
            "INSERT INTO crm.clients (name, owner_id, created_at) VALUES (%s, %s, '2019-02-01') RETURNING id",
            (name, owner),
        ).fetchone()["id"]  # type: ignore[index]
    for name, status, amount in (
        ("won 100 a", "won", 100),
        ("won 100 b", "won", 100),
        ("won 0", "won", 0),
        ("won -5", "won", -5),
        ("lost and paid", "lost", 70),
    ):
        db.execute(
            "INSERT INTO crm.deals (client_id, owner_id, stage, status, amount, created_at, closed_at)"
            " VALUES (%s, %s, %s, %s, %s, '2019-02-10', '2019-03-15 12:00Z')",
            (clients[name], owner, status, status, amount),
        )
    for name in ("paid only", "lost and paid", "won 100 b"):
        db.execute(
            "INSERT INTO crm.payments (client_id, amount, status, due_date, paid_at, created_at)"
            " VALUES (%s, 40, 'paid', '2019-03-20', '2019-03-18 09:00Z', '2019-03-01')",
            (clients[name],),
        )
    db.execute("SELECT * FROM reports.refresh_all()")
    reference = Reference(load_source(db), "UTC")

    everything = reference.top_clients(p_from, p_to, 100)
    # the cases are there: two clients share rank 1, three tie at 0 (one with a won deal), one is negative
    assert [(r["client_id"], r["rank"]) for r in everything] == [
        (clients["won 100 a"], 1),
        (clients["won 100 b"], 1),
        (clients["paid only"], 2),
        (clients["won 0"], 2),
        (clients["lost and paid"], 2),
        (clients["won -5"], 3),
    ]
    for limit in range(1, 8):
        got = db.execute("SELECT * FROM reports.top_clients(%s, %s, %s)", (p_from, p_to, limit)).fetchall()
        assert_same_rows(got, reference.top_clients(p_from, p_to, limit), context=f"p_limit {limit}")
