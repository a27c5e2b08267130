"""Acceptance 1: incremental refresh is equal to a full recompute, whatever the changes (hypothesis).

A state machine applies random sequences of source changes: inserts, updates that move rows between
day buckets (near local midnights too) and between owners, hard and soft deletes, dimension changes
(a client deleted or given to another owner, a deal given to another owner or client, a user moved
to another team, a stage's probability) and TRUNCATEs, with single-row and multi-row statements,
interleaved with incremental refreshes. At every refresh (and at the end) it checks that

- every report function (eleven reports, scope all, plus a scoped caller) returns exactly what it
  returns after ``reports.rebuild()`` (a full recompute), both read in real time (``reports.realtime =
  on``) before the refresh and read normally after it;
- ``reports.verify()`` finds nothing, and neither does an EXCEPT ALL of every summary table against its
  compute function written in the test (capture_support.expected_differences);
- a few reports equal the independent Python model (tests/reference.py) over the raw source rows;
- the refresh was incremental except where a TRUNCATE forces a full one.

Each example starts from the demo data with the capture installed (statement-level or row-level
triggers, UTC or America/New_York, drawn) and runs in one transaction that is rolled back at the end,
so examples are independent and fast; the concurrent and committed paths are in
test_incremental_concurrency.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import psycopg
import pytest
from capture_support import SUMMARIES, expected_differences, install_capture, refresh, verify_rows
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from psycopg import sql
from reference import Reference, load_source

from reports_core.db import connect
from reports_core.paths import sql_dir

Conn = psycopg.Connection[dict[str, Any]]

FULL_FROM, FULL_TO = date(2023, 11, 1), date(2026, 10, 31)
EPOCH = datetime(2023, 11, 1, tzinfo=UTC)
OPEN_STAGES = ("lead", "qualified", "proposal", "negotiation")
ALL_STAGES = (*OPEN_STAGES, "won", "lost")

# (report, parameters): every report of the catalogue, scope all.
REPORTS: list[tuple[str, dict[str, Any]]] = [
    ("sales_pipeline", {}),
    ("revenue_by_period", {"p_from": FULL_FROM, "p_to": FULL_TO, "p_grain": "month"}),
    ("manager_leaderboard", {"p_from": FULL_FROM, "p_to": FULL_TO, "p_limit": 1000}),
    ("stage_funnel", {"p_from": FULL_FROM, "p_to": FULL_TO}),
    ("payments_aging", {"p_as_of": date(2026, 6, 30)}),
    ("collections_summary", {"p_from": date(2025, 1, 1), "p_to": date(2026, 6, 30)}),
    ("client_cohorts", {"p_from": date(2024, 1, 1), "p_to": FULL_TO, "p_grain": "quarter"}),
    ("top_clients", {"p_from": FULL_FROM, "p_to": FULL_TO, "p_limit": 1000}),
    ("activity_by_period", {"p_from": FULL_FROM, "p_to": FULL_TO, "p_grain": "month"}),
    ("activity_by_action", {"p_from": FULL_FROM, "p_to": FULL_TO}),
    ("dashboard", {"p_from": FULL_FROM, "p_to": FULL_TO}),
]
# A manager's own rows: the readers' owner filter on live and stored rows.
SCOPED_REPORTS = ["sales_pipeline", "revenue_by_period", "payments_aging", "stage_funnel"]
# Read in real time at every refresh (between them they read every summary, live days and stored ones).
REALTIME_REPORTS = [
    "revenue_by_period",
    "stage_funnel",
    "collections_summary",
    "activity_by_period",
    "activity_by_action",
    "dashboard",
]

picks = st.integers(min_value=0, max_value=10**6)
days = st.integers(min_value=-30, max_value=1120)
minutes = st.integers(min_value=0, max_value=24 * 60 - 1)
hours = st.integers(min_value=-72, max_value=72).filter(lambda h: h != 0)


def instant(day: int, minute: int) -> datetime:
    return EPOCH + timedelta(days=day, minutes=minute)


def call(conn: Conn, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    query = sql.SQL("SELECT * FROM reports.{}({})").format(
        sql.Identifier(name),
        sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in params),
    )
    rows = conn.execute(query, params).fetchall()
    return sorted(rows, key=repr) if name == "activity_by_action" else rows


class IncrementalMachine(RuleBasedStateMachine):
    conn: ClassVar[Conn]
    manager: ClassVar[int]

    def __init__(self) -> None:
        super().__init__()
        self.db = self.conn
        self.db.rollback()
        self.truncated: set[str] = set()
        self.timezone = "UTC"

    # ----------------------------------------------------------------- helpers

    def q(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        cur = self.db.execute(query, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []

    def pick(self, table: str, k: int, where: str = "TRUE") -> Any:
        rows = self.q(
            f"SELECT id FROM {table} WHERE {where} ORDER BY id"  # test-owned literals
            f" OFFSET %s %% greatest((SELECT count(*) FROM {table} WHERE {where}), 1) LIMIT 1",
            [k],
        )
        return rows[0]["id"] if rows else None

    def reports(self, names: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
        out = {
            name: call(self.db, name, params) for name, params in REPORTS if names is None or name in names
        }
        with self.db.transaction(force_rollback=True):  # the caller context is rolled back with it
            self.q("SELECT reports.set_caller(%s, '{manager}')", [self.manager])
            for name in SCOPED_REPORTS:
                if names is None or name in names:
                    out[f"{name} (manager)"] = call(self.db, name, dict(REPORTS)[name])
        return out

    def full_recompute(self) -> dict[str, list[dict[str, Any]]]:
        with self.db.transaction(force_rollback=True):
            self.q("SELECT * FROM reports.rebuild()")
            return self.reports()

    def realtime(self) -> dict[str, list[dict[str, Any]]]:
        with self.db.transaction(force_rollback=True):
            self.q("SELECT set_config('reports.realtime', 'on', true)")
            return self.reports(REALTIME_REPORTS)

    def check(self, *, with_reference: bool = False) -> None:
        expected = self.full_recompute()
        live = self.realtime()
        assert live
        for name, rows in live.items():
            assert rows == expected[name], f"real-time {name} differs from a full recompute"

        result = refresh(self.db)
        incremental = self.reports()
        for name, rows in expected.items():
            assert incremental[name] == rows, (
                f"{name} after an incremental refresh differs from a full recompute"
            )

        full_views = self.full_views()
        modes = {
            r["view"]: r["mode"]
            for r in self.q(
                "SELECT view, mode FROM reports.refresh_log WHERE run_id ="
                " (SELECT run_id FROM reports.refresh_log ORDER BY id DESC LIMIT 1)"
            )
        }
        assert set(modes) == set(result) == set(SUMMARIES)
        assert {v for v, m in modes.items() if m == "full"} == full_views
        self.truncated.clear()

        assert verify_rows(self.db) == []
        assert self.q("SELECT count(*) AS n FROM reports.change_log") == [{"n": 0}]
        if not with_reference:
            return

        assert expected_differences(self.db) == {}
        reference = Reference(load_source(self.db), self.timezone)
        as_of = self.q("SELECT max(as_of) AS t FROM reports.pipeline_open")[0]["t"] or datetime.now(UTC)
        params = dict(REPORTS)
        assert incremental["sales_pipeline"] == reference.sales_pipeline(as_of)
        assert incremental["revenue_by_period"] == reference.revenue_by_period(**params["revenue_by_period"])
        assert incremental["stage_funnel"] == reference.stage_funnel(**params["stage_funnel"])
        assert incremental["payments_aging"] == reference.payments_aging(**params["payments_aging"])
        assert incremental["collections_summary"] == [
            reference.collections_summary(**params["collections_summary"])
        ]
        assert incremental["top_clients"] == reference.top_clients(**params["top_clients"])

    def full_views(self) -> set[str]:
        if not self.truncated:
            return set()
        rows = self.q(
            # a summary without a day bucket (the open-deal snapshots) is always recomputed whole, and its
            # log says incremental when captured changes, not a due full refresh, made it recompute
            "SELECT DISTINCT summary FROM reports.summary_sources WHERE source_table = ANY(%s)"
            " AND summary IN (SELECT name FROM reports.summaries WHERE bucket_column IS NOT NULL)",
            [sorted(self.truncated)],
        )
        return {r["summary"] for r in rows}

    # ----------------------------------------------------------------- setup

    @initialize(row_level=st.booleans(), timezone_name=st.sampled_from(["UTC", "America/New_York"]))
    def start(self, row_level: bool, timezone_name: str) -> None:
        if row_level:
            self.db.execute((sql_dir() / "capture" / "install_row_level.sql").read_bytes(), prepare=False)
        self.timezone = timezone_name
        self.q("SELECT reports.set_timezone(%s)", [timezone_name])
        self.q("SELECT * FROM reports.rebuild()")  # the starting point: a full refresh now

    # ----------------------------------------------------------------- deals

    @rule(
        kind=st.sampled_from(["insert", "move", "outcome", "owner", "client", "soft_delete", "delete"]),
        deal=picks,
        other=picks,
        day=days,
        minute=minutes,
        shift=hours,
        status=st.sampled_from(["open", "won", "lost"]),
        amount=st.integers(1, 100_000),
    )
    def change_deal(
        self, kind: str, deal: int, other: int, day: int, minute: int, shift: int, status: str, amount: int
    ) -> None:
        d = self.pick("crm.deals", deal)
        if kind == "insert":
            client = self.pick("crm.clients", other)
            owner = self.pick("crm.users", other + deal)
            created = instant(day, minute)
            closed = None if status == "open" else created + timedelta(hours=abs(shift) * 7)
            stage = OPEN_STAGES[deal % 4] if status == "open" else status
            self.q(
                "INSERT INTO crm.deals (client_id, owner_id, stage, status, amount, created_at, closed_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [client, owner, stage, status, amount, created, closed],
            )
        elif kind == "move":
            self.q(
                "UPDATE crm.deals SET created_at = created_at + make_interval(hours => %s),"
                " closed_at = closed_at + make_interval(hours => %s) WHERE id = %s",
                [shift, -shift * 3, d],
            )
        elif kind == "outcome":
            self.q(
                "UPDATE crm.deals SET status = %(s)s, amount = %(a)s,"
                " stage = CASE WHEN %(s)s = 'open' THEN 'negotiation' ELSE %(s)s END,"
                " closed_at = CASE WHEN %(s)s = 'open' THEN NULL"
                "  ELSE coalesce(closed_at, created_at + interval '9 days 5 hours') END WHERE id = %(d)s",
                {"s": status, "a": amount, "d": d},
            )
        elif kind == "owner":
            self.q("UPDATE crm.deals SET owner_id = %s WHERE id = %s", [self.pick("crm.users", other), d])
        elif kind == "client":
            self.q("UPDATE crm.deals SET client_id = %s WHERE id = %s", [self.pick("crm.clients", other), d])
        elif kind == "soft_delete":
            self.q(
                "UPDATE crm.deals SET deleted_at = CASE WHEN deleted_at IS NULL THEN now() END WHERE id = %s",
                [d],
            )
        else:  # a hard delete: its payments lose their deal (their owner becomes the client's owner)
            self.q("UPDATE crm.payments SET deal_id = NULL WHERE deal_id = %s", [d])
            self.q("DELETE FROM crm.deal_stage_history WHERE deal_id = %s", [d])
            self.q("DELETE FROM crm.deals WHERE id = %s", [d])

    # ----------------------------------------------------------------- payments

    @rule(
        kind=st.sampled_from(["insert", "paid", "status", "amount", "due", "deal", "created", "delete"]),
        payment=picks,
        other=picks,
        day=days,
        minute=minutes,
        shift=hours,
        status=st.sampled_from(["pending", "paid", "failed", "refunded"]),
    )
    def change_payment(
        self, kind: str, payment: int, other: int, day: int, minute: int, shift: int, status: str
    ) -> None:
        p = self.pick("crm.payments", payment)
        if kind == "insert":
            deal = self.pick("crm.deals", other) if other % 3 else None
            created = instant(day, minute)
            paid = created + timedelta(hours=abs(shift) * 5) if status in ("paid", "refunded") else None
            self.q(
                "INSERT INTO crm.payments (deal_id, client_id, amount, status, due_date, paid_at, created_at)"
                " SELECT %(deal)s, coalesce((SELECT client_id FROM crm.deals WHERE id = %(deal)s),"
                "  (SELECT id FROM crm.clients ORDER BY id OFFSET %(k)s %% (SELECT count(*) FROM crm.clients)"
                "   LIMIT 1)), %(amount)s, %(status)s, %(due)s, %(paid)s, %(created)s",
                {
                    "deal": deal,
                    "k": other,
                    "amount": 10 + other % 5000,
                    "status": status,
                    "due": (created + timedelta(days=30)).date(),
                    "paid": paid,
                    "created": created,
                },
            )
        elif kind == "paid":
            self.q(
                "UPDATE crm.payments SET paid_at = coalesce(paid_at, created_at) + make_interval(hours => %s)"
                " WHERE id = %s",
                [abs(shift), p],
            )
        elif kind == "status":
            self.q(
                "UPDATE crm.payments SET status = %(s)s,"
                " paid_at = CASE WHEN %(s)s IN ('paid', 'refunded') THEN coalesce(paid_at, now()) END"
                " WHERE id = %(p)s",
                {"s": status, "p": p},
            )
        elif kind == "amount":
            self.q("UPDATE crm.payments SET amount = amount + %s WHERE id = %s", [shift, p])
        elif kind == "due":
            self.q("UPDATE crm.payments SET due_date = due_date + %s WHERE id = %s", [shift, p])
        elif kind == "deal":
            deal = self.pick("crm.deals", other) if other % 2 else None
            self.q("UPDATE crm.payments SET deal_id = %s WHERE id = %s", [deal, p])
        elif kind == "created":
            self.q(
                "UPDATE crm.payments SET created_at = created_at + make_interval(hours => %s) WHERE id = %s",
                [shift, p],
            )
        else:
            self.q("DELETE FROM crm.payments WHERE id = %s", [p])

    # ----------------------------------------------------------------- clients

    @rule(
        kind=st.sampled_from(["insert", "soft_delete", "owner", "no_owner", "created", "rename"]),
        client=picks,
        other=picks,
        day=days,
        minute=minutes,
    )
    def change_client(self, kind: str, client: int, other: int, day: int, minute: int) -> None:
        c = self.pick("crm.clients", client)
        if kind == "insert":
            self.q(
                "INSERT INTO crm.clients (name, owner_id, created_at) VALUES ('new', %s, %s)",
                [self.pick("crm.users", other), instant(day, minute)],
            )
        elif kind == "soft_delete":
            self.q(
                "UPDATE crm.clients SET deleted_at = CASE WHEN deleted_at IS NULL THEN now() END"
                " WHERE id = %s",
                [c],
            )
        elif kind in ("owner", "no_owner"):
            owner = self.pick("crm.users", other) if kind == "owner" else None
            self.q("UPDATE crm.clients SET owner_id = %s WHERE id = %s", [owner, c])
        elif kind == "created":
            self.q("UPDATE crm.clients SET created_at = %s WHERE id = %s", [instant(day, minute), c])
        else:  # read live by the reports: nothing to capture
            self.q("UPDATE crm.clients SET name = name || '*' WHERE id = %s", [c])

    # ----------------------------------------------------------------- stage history

    @rule(
        kind=st.sampled_from(["insert", "shift", "stage", "move", "delete"]),
        row=picks,
        other=picks,
        shift=hours,
        stage=st.sampled_from(ALL_STAGES),
    )
    def change_history(self, kind: str, row: int, other: int, shift: int, stage: str) -> None:
        h = self.pick("crm.deal_stage_history", row)
        if kind == "insert":
            self.q(
                "INSERT INTO crm.deal_stage_history (deal_id, to_stage, changed_at)"
                " SELECT id, %s, created_at + make_interval(hours => %s) FROM crm.deals WHERE id = %s",
                [stage, abs(shift), self.pick("crm.deals", other)],
            )
        elif kind == "shift":
            self.q(
                "UPDATE crm.deal_stage_history SET changed_at = changed_at + make_interval(hours => %s)"
                " WHERE id = %s",
                [shift, h],
            )
        elif kind == "stage":
            self.q("UPDATE crm.deal_stage_history SET to_stage = %s WHERE id = %s", [stage, h])
        elif kind == "move":
            self.q(
                "UPDATE crm.deal_stage_history SET deal_id = %s WHERE id = %s",
                [self.pick("crm.deals", other), h],
            )
        else:
            self.q("DELETE FROM crm.deal_stage_history WHERE id = %s", [h])

    # ----------------------------------------------------------------- audit events

    @rule(
        kind=st.sampled_from(["insert", "shift", "actor", "no_actor", "action", "delete"]),
        row=picks,
        other=picks,
        day=days,
        minute=minutes,
        shift=hours,
    )
    def change_event(self, kind: str, row: int, other: int, day: int, minute: int, shift: int) -> None:
        e = self.pick("audit.events", row)
        if kind == "insert":
            self.q(
                "INSERT INTO audit.events (occurred_at, actor_id, service, action, entity_type)"
                " VALUES (%s, %s, 'crm', 'deal.update', 'deal')",
                [instant(day, minute), self.pick("crm.users", other)],
            )
        elif kind == "shift":
            self.q(
                "UPDATE audit.events SET occurred_at = occurred_at + make_interval(hours => %s)"
                " WHERE id = %s",
                [shift, e],
            )
        elif kind in ("actor", "no_actor"):
            actor = self.pick("crm.users", other) if kind == "actor" else None
            self.q("UPDATE audit.events SET actor_id = %s WHERE id = %s", [actor, e])
        elif kind == "action":
            self.q("UPDATE audit.events SET action = 'other.action', entity_type = NULL WHERE id = %s", [e])
        else:
            self.q("DELETE FROM audit.events WHERE id = %s", [e])

    # ----------------------------------------------------------------- dimensions, bulk, truncate

    @rule(kind=st.sampled_from(["team", "probability", "no_probability"]), row=picks, other=picks)
    def change_dimension(self, kind: str, row: int, other: int) -> None:
        if kind == "team":  # teams are read live: nothing stored changes
            self.q(
                "UPDATE crm.users SET team_id = %s WHERE id = %s",
                [self.pick("crm.teams", other), self.pick("crm.users", row)],
            )
        else:
            probability = None if kind == "no_probability" else (other % 101) / 100
            self.q(
                "UPDATE crm.pipeline_stages SET probability = %s WHERE code = %s",
                [probability, OPEN_STAGES[row % 4]],
            )

    @rule(
        kind=st.sampled_from(["deals", "payments", "events", "clients", "delete_events"]),
        modulus=st.integers(2, 40),
        shift=hours,
    )
    def bulk_change(self, kind: str, modulus: int, shift: int) -> None:
        statement = {
            "deals": "UPDATE crm.deals SET closed_at = closed_at + make_interval(hours => %(h)s),"
            " owner_id = CASE WHEN id %% 2 = 0 THEN owner_id ELSE (SELECT min(id) FROM crm.users) END"
            " WHERE id %% %(m)s = 0",
            "payments": "UPDATE crm.payments SET paid_at = paid_at + make_interval(hours => %(h)s)"
            " WHERE id %% %(m)s = 0",
            "events": "UPDATE audit.events SET occurred_at = occurred_at + make_interval(hours => %(h)s)"
            " WHERE id %% %(m)s = 0",
            "clients": "UPDATE crm.clients SET owner_id = NULL,"
            " deleted_at = CASE WHEN id %% 3 = 0 THEN now() END"
            " WHERE id %% %(m)s = 0",
            "delete_events": "DELETE FROM audit.events WHERE id %% %(m)s = 0",
        }[kind]
        self.q(statement, {"h": shift, "m": modulus})

    @rule(table=st.sampled_from(["audit.events", "crm.deal_stage_history"]))
    def truncate(self, table: str) -> None:
        self.q(f"TRUNCATE {table}")
        self.truncated.add(table)

    # ----------------------------------------------------------------- refresh

    @rule()
    def refresh_and_check(self) -> None:
        self.check()

    def teardown(self) -> None:
        try:
            if not self.db.broken and self.db.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
                self.check(with_reference=True)
        finally:
            self.db.rollback()


@pytest.fixture(scope="module")
def machine_db(reports_proc: Any, pg_server: Any) -> Iterator[Conn]:
    """A database of its own with the statement-level capture installed and committed."""
    name = f"incremental_prop_{uuid.uuid4().hex[:10]}"
    url = pg_server.create_database(name, template=reports_proc.template_dbname)
    try:
        install_capture(url)
        with connect(url) as conn:
            yield conn
    finally:
        pg_server.drop_database(name)


def test_incremental_refresh_equals_a_full_recompute(machine_db: Conn) -> None:
    manager = machine_db.execute(
        "SELECT owner_id FROM crm.deals GROUP BY owner_id ORDER BY count(*) DESC, owner_id LIMIT 1"
    ).fetchone()
    assert manager is not None
    machine_db.rollback()
    IncrementalMachine.conn = machine_db
    IncrementalMachine.manager = manager["owner_id"]
    run_state_machine_as_test(
        IncrementalMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
