"""The adapter views reports.src_* (sql/repeatable/10_sources): what they exclude and expose.

Each test builds its own rows in crm (soft-deleted or not) and checks the adapters against
the rule spelled out in plain SQL over crm.* / audit.*.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

Conn = psycopg.Connection[dict[str, Any]]

ADAPTERS = {
    "src_teams": ["id", "name"],
    "src_users": ["id", "full_name", "team_id", "is_active"],
    "src_clients": ["id", "name", "owner_id", "created_at"],
    "src_pipeline_stages": ["code", "name", "position", "probability", "is_closed"],
    "src_deals": ["id", "client_id", "owner_id", "stage", "status", "amount", "created_at", "closed_at"],
    "src_deal_stage_history": ["id", "deal_id", "to_stage", "changed_at"],
    "src_payments": [
        "id", "deal_id", "client_id", "owner_id", "amount", "status", "due_date", "paid_at", "created_at",
    ],
    "src_events": ["id", "occurred_at", "actor_id", "action", "entity_type"],
}  # fmt: skip


def one(conn: Conn, query: str, params: list[Any] | None = None) -> Any:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return next(iter(row.values()))


def ids(conn: Conn, view: str) -> set[Any]:
    key = "code" if view == "src_pipeline_stages" else "id"
    query = sql.SQL("SELECT {} AS k FROM reports.{}").format(sql.Identifier(key), sql.Identifier(view))
    return {r["k"] for r in conn.execute(query).fetchall()}


class World:
    """Two managers, a live client with a deal, payments and history, ready to be soft-deleted."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.manager = one(
            conn, "INSERT INTO crm.users (full_name, role) VALUES ('M', 'manager') RETURNING id"
        )
        self.other = one(conn, "INSERT INTO crm.users (full_name, role) VALUES ('O', 'manager') RETURNING id")
        self.client = self.new_client(self.other)
        self.deal = self.new_deal(self.client, self.manager)
        self.deal_payment = self.new_payment(self.client, self.deal)
        self.client_payment = self.new_payment(self.client, None)
        self.history = [
            one(
                conn,
                "INSERT INTO crm.deal_stage_history (deal_id, to_stage, changed_at)"
                " VALUES (%s, %s, now()) RETURNING id",
                [self.deal, stage],
            )
            for stage in ("lead", "qualified")
        ]

    def new_client(self, owner: int | None) -> int:
        return int(
            one(self.conn, "INSERT INTO crm.clients (name, owner_id) VALUES ('c', %s) RETURNING id", [owner])
        )

    def new_deal(self, client: int, owner: int) -> int:
        return int(
            one(
                self.conn,
                "INSERT INTO crm.deals (client_id, owner_id, stage, status, amount)"
                " VALUES (%s, %s, 'lead', 'open', 100) RETURNING id",
                [client, owner],
            )
        )

    def new_payment(self, client: int, deal: int | None) -> int:
        return int(
            one(
                self.conn,
                "INSERT INTO crm.payments (client_id, deal_id, amount, status, due_date)"
                " VALUES (%s, %s, 10, 'pending', current_date) RETURNING id",
                [client, deal],
            )
        )

    def soft_delete(self, table: str, row_id: int) -> None:
        self.conn.execute(
            sql.SQL("UPDATE crm.{} SET deleted_at = now() WHERE id = %s").format(sql.Identifier(table)),
            [row_id],
        )


@pytest.fixture
def world(db: Conn) -> World:
    return World(db)


def test_live_rows_are_visible_with_the_payment_owner(world: World) -> None:
    conn = world.conn
    assert world.client in ids(conn, "src_clients")
    assert world.deal in ids(conn, "src_deals")
    assert set(world.history) <= ids(conn, "src_deal_stage_history")
    owners = {
        r["id"]: r["owner_id"]
        for r in conn.execute(
            "SELECT id, owner_id FROM reports.src_payments WHERE id IN (%s, %s)",
            [world.deal_payment, world.client_payment],
        ).fetchall()
    }
    # a payment's owner is its deal's owner, else its client's owner
    assert owners == {world.deal_payment: world.manager, world.client_payment: world.other}


def test_a_soft_deleted_client_takes_its_deals_payments_and_history_with_it(world: World) -> None:
    world.soft_delete("clients", world.client)
    conn = world.conn

    assert world.client not in ids(conn, "src_clients")
    assert world.deal not in ids(conn, "src_deals")  # a deal of a deleted client (not itself deleted)
    assert not set(world.history) & ids(conn, "src_deal_stage_history")
    assert not {world.deal_payment, world.client_payment} & ids(conn, "src_payments")


def test_a_soft_deleted_deal_takes_its_payments_and_history_but_not_its_client(world: World) -> None:
    kept_deal = world.new_deal(world.client, world.manager)
    kept_payment = world.new_payment(world.client, kept_deal)
    world.soft_delete("deals", world.deal)
    conn = world.conn

    assert world.deal not in ids(conn, "src_deals")
    assert not set(world.history) & ids(conn, "src_deal_stage_history")
    payments = ids(conn, "src_payments")
    assert world.deal_payment not in payments
    assert {world.client_payment, kept_payment} <= payments
    assert world.client in ids(conn, "src_clients")
    assert kept_deal in ids(conn, "src_deals")


def test_a_client_without_owner_gives_payments_without_owner(world: World) -> None:
    client = world.new_client(None)
    payment = world.new_payment(client, None)
    assert one(world.conn, "SELECT owner_id FROM reports.src_payments WHERE id = %s", [payment]) is None


def test_adapters_keep_exactly_the_rows_of_the_rules_spelled_out_over_crm(db: Conn) -> None:
    """On the demo data (which has soft-deleted clients and deals), against plain SQL over crm."""
    expected = {
        "src_teams": "SELECT id AS k FROM crm.teams",
        "src_users": "SELECT id AS k FROM crm.users",
        "src_pipeline_stages": "SELECT code AS k FROM crm.pipeline_stages",
        "src_clients": "SELECT id AS k FROM crm.clients WHERE deleted_at IS NULL",
        "src_deals": """
            SELECT d.id AS k FROM crm.deals AS d JOIN crm.clients AS c ON c.id = d.client_id
            WHERE d.deleted_at IS NULL AND c.deleted_at IS NULL""",
        "src_deal_stage_history": """
            SELECT h.id AS k FROM crm.deal_stage_history AS h
            JOIN crm.deals AS d ON d.id = h.deal_id JOIN crm.clients AS c ON c.id = d.client_id
            WHERE d.deleted_at IS NULL AND c.deleted_at IS NULL""",
        "src_payments": """
            SELECT p.id AS k FROM crm.payments AS p
            JOIN crm.clients AS c ON c.id = p.client_id
            LEFT JOIN crm.deals AS d ON d.id = p.deal_id
            LEFT JOIN crm.clients AS dc ON dc.id = d.client_id
            WHERE c.deleted_at IS NULL
              AND (p.deal_id IS NULL OR (d.deleted_at IS NULL AND dc.deleted_at IS NULL))""",
        "src_events": "SELECT id AS k FROM audit.events",
    }
    for view, query in expected.items():
        assert ids(db, view) == {r["k"] for r in db.execute(query).fetchall()}, view  # type: ignore[arg-type]
    # the demo data does exercise the exclusions
    assert one(db, "SELECT count(*) FROM crm.clients WHERE deleted_at IS NOT NULL") > 0
    assert one(db, "SELECT count(*) FROM crm.deals WHERE deleted_at IS NOT NULL") > 0
    assert len(ids(db, "src_payments")) < one(db, "SELECT count(*) FROM crm.payments")


def test_adapters_expose_only_their_documented_columns_and_say_what_they_exclude(db: Conn) -> None:
    for view, columns in ADAPTERS.items():
        actual = [
            r["attname"]
            for r in db.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
                " ORDER BY attnum",
                [f"reports.{view}"],
            ).fetchall()
        ]
        assert actual == columns, view
        comment = one(db, "SELECT obj_description(%s::regclass, 'pg_class')", [f"reports.{view}"])
        assert comment.startswith("Adapter over "), view
        assert "Excludes" in comment, view
