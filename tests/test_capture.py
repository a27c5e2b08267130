"""Change capture (sql/capture/, sql/repeatable/35_capture/) and what the refresh makes of it.

Install / uninstall / status, every kind of source change landing in reports.change_log (and the
changes that must not), TRUNCATE, the row-level variant logging exactly what the statement-level one
logs, notifications, the writers' privileges, refresh_status' mode and pending columns, and the
incremental refresh itself (only the invalid days, full when the triggers changed). Expected values
come from the test's own SQL over crm/audit and from independent EXCEPT ALL comparisons
(capture_support.expected_differences), never from the summaries alone.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from capture_support import (
    SUMMARIES,
    Conn,
    expected_differences,
    install_capture,
    last_run,
    log_rows,
    refresh,
    verify_rows,
)
from psycopg import sql

from reports_cli import capture
from reports_core.db import connect
from reports_core.errors import ReportsError
from reports_core.paths import sql_dir

SOURCE_TABLES = (
    "audit.events",
    "crm.clients",
    "crm.deal_stage_history",
    "crm.deals",
    "crm.payments",
    "crm.pipeline_stages",
)
EVENTS = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
UTC = UTC


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def captured(db: Conn, db_url: str) -> Conn:
    """``db`` with the statement-level capture installed, refreshed once (full), an empty change log."""
    install_capture(db_url)
    refresh(db)
    assert db.execute("SELECT count(*) AS n FROM reports.change_log").fetchone() == {"n": 0}
    return db


@pytest.fixture
def login_role(db: Conn) -> Iterator[Callable[..., str]]:
    """Creates LOGIN roles with unique names (dropped afterwards); returns the name."""
    created: list[str] = []

    def create(*grants: str) -> str:
        name = f"capture_test_{uuid.uuid4().hex[:10]}"
        db.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        for grant in grants:
            db.execute(sql.SQL(grant).format(role=sql.Identifier(name)))  # type: ignore[arg-type]
        created.append(name)
        return name

    yield create
    for name in created:
        db.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def as_role(url: str, role: str) -> str:
    return url.replace("postgres@", f"{role}@")


def status_by_event(conn: Conn) -> dict[tuple[str, str], dict[str, Any]]:
    rows = conn.execute("SELECT * FROM reports.capture_status()").fetchall()
    return {(r["source_table"], r["event"]): r for r in rows}


def modes(conn: Conn) -> dict[str, str]:
    return {r["view"]: r["mode"] for r in conn.execute("SELECT view, mode FROM reports.refresh_status()")}


def one(conn: Conn, query: str, params: Any = None) -> Any:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return next(iter(row.values()))


# --------------------------------------------------------------------------- install, status, uninstall


def test_install_status_and_uninstall(db: Conn, db_url: str) -> None:
    before = status_by_event(db)
    assert set(before) == {(t, e) for t in SOURCE_TABLES for e in EVENTS}
    assert all(r["trigger_name"] is None for r in before.values())
    assert set(modes(db).values()) == {"full"}

    rows = capture.install(db_url, progress=lambda _: None)

    assert len(rows) == len(SOURCE_TABLES) * len(EVENTS)
    assert {(r["level"], r["enabled"]) for r in rows} == {("statement", "always")}
    assert {r["trigger_function"] for r in rows if r["event"] == "TRUNCATE"} == {"_capture_truncate"}
    assert set(modes(db).values()) == {"incremental"}
    status = db.execute("SELECT * FROM reports.refresh_status()").fetchall()
    assert all(r["needs_full_refresh"] for r in status)  # nothing captured before the install

    capture.install(db_url, progress=lambda _: None)  # idempotent
    assert len(db.execute("SELECT * FROM reports.capture_status()").fetchall()) == len(rows)

    rows = capture.uninstall(db_url, progress=lambda _: None)
    assert all(r["trigger_name"] is None for r in rows)
    assert set(modes(db).values()) == {"full"}
    capture.uninstall(db_url, progress=lambda _: None)  # idempotent
    assert one(db, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'reports_capture_%%'") == 0


def test_partial_capture_refreshes_only_the_fully_captured_summaries_incrementally(
    db: Conn, db_url: str
) -> None:
    install_capture(db_url)
    db.execute("DROP TRIGGER reports_capture_truncate ON crm.deal_stage_history")
    mode = modes(db)
    funnel = {"stage_funnel_daily", "stage_funnel_by_day"}  # the day totals read what the funnel reads
    assert {mode[k] for k in funnel} == {"full"}
    assert {v for k, v in mode.items() if k not in funnel} == {"incremental"}

    refresh(db)
    db.execute("UPDATE audit.events SET action = 'changed' WHERE id = (SELECT min(id) FROM audit.events)")
    refresh(db)

    log = last_run(db)
    assert log["stage_funnel_daily"]["mode"] == "full"
    assert log["audit_activity_daily"]["mode"] == "incremental"
    assert verify_rows(db) == []


def test_the_capture_files_are_not_migrations() -> None:
    """The migration runners read versioned/ and repeatable/ only: sql/capture/ is a separate step."""
    from reports_core.migrate import discover

    scripts = [f.script for f in discover()]
    assert scripts and not any(s.startswith("capture/") for s in scripts)
    assert {p.name for p in (sql_dir() / "capture").glob("*.sql")} == {
        "install.sql",
        "install_row_level.sql",
        "uninstall.sql",
    }
    local = (Path(__file__).parents[1] / "scripts" / "migrate-local.sh").read_text()
    assert "find versioned" in local and "find repeatable" in local and "capture" not in local


def test_install_applies_with_psql_as_a_dba_would(db: Conn, db_url: str) -> None:
    import subprocess

    for name in ("install_row_level.sql", "install.sql", "uninstall.sql", "install.sql"):
        proc = subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                db_url.split("?")[0],
                "-f",
                str(sql_dir() / "capture" / name),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
    assert {(r["level"], r["enabled"]) for r in status_by_event(db).values()} == {("statement", "always")}


def test_a_role_with_only_the_trigger_privilege_installs_but_cannot_uninstall(
    db: Conn, db_url: str, login_role: Callable[..., str]
) -> None:
    tables = ", ".join((*SOURCE_TABLES, "crm.users"))  # crm.users: the access version's triggers
    installer = login_role(
        "GRANT USAGE ON SCHEMA crm, audit, reports TO {role}",
        f"GRANT TRIGGER ON {tables} TO {{role}}",
        "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reports TO {role}",
        "GRANT SELECT ON ALL TABLES IN SCHEMA reports TO {role}",
    )
    notices: list[str] = []

    rows = capture.install(as_role(db_url, installer), progress=notices.append)

    assert {(r["level"], r["enabled"]) for r in rows} == {("statement", "origin")}
    assert any("only the owner of the table may ENABLE ALWAYS" in n for n in notices)
    with pytest.raises(ReportsError) as exc:
        capture.uninstall(as_role(db_url, installer), progress=lambda _: None)
    assert "must be owner" in str(exc.value) and "docs/capture.md" in str(exc.value)
    assert len([r for r in status_by_event(db).values() if r["trigger_name"]]) == 24  # rolled back whole


# --------------------------------------------------------------------------- what lands in the log


def test_deal_changes_log_the_days_they_touch(captured: Conn) -> None:
    db = captured
    won = db.execute(
        "SELECT id, client_id, created_at, closed_at FROM crm.deals"
        " WHERE status = 'won' AND deleted_at IS NULL ORDER BY id LIMIT 1"
    ).fetchone()
    assert won is not None
    other_owner = one(
        db,
        "SELECT min(id) FROM crm.users WHERE id <> (SELECT owner_id FROM crm.deals WHERE id = %s)",
        [won["id"]],
    )

    db.execute("UPDATE crm.deals SET title = 'renamed', updated_at = now() WHERE id = %s", [won["id"]])
    assert log_rows(db) == []  # nothing a summary reads

    db.execute("UPDATE crm.deals SET amount = amount + 1 WHERE id = %s", [won["id"]])
    db.execute("UPDATE crm.deals SET owner_id = %s WHERE id = %s", [other_owner, won["id"]])
    db.execute(
        "INSERT INTO crm.deals (client_id, owner_id, stage, status, amount, created_at)"
        " SELECT min(id), %s, 'lead', 'open', 10, '2025-03-01 23:30Z' FROM crm.clients",
        [other_owner],
    )
    new_id = one(db, "SELECT max(id) FROM crm.deals")
    db.execute("UPDATE crm.deals SET stage = 'qualified' WHERE id = %s", [new_id])
    db.execute("UPDATE crm.deals SET deleted_at = now() WHERE id = %s", [new_id])
    db.execute("DELETE FROM crm.deals WHERE id = %s", [new_id])

    first_client = one(db, "SELECT min(id) FROM crm.clients")
    rows = log_rows(db)
    base = {"source_table": "crm.deals", "client_id": None}
    amount, owner, insert, stage, soft_delete, delete = rows
    assert amount == {
        **base,
        "operation": "UPDATE",
        "deal_id": won["id"],
        "old_created_at": None,
        "new_created_at": None,
        "old_closed_at": won["closed_at"],
        "new_closed_at": won["closed_at"],
        "old_client_id": won["client_id"],
        "new_client_id": won["client_id"],
        "dependants": False,
        "open_deal": False,
    }
    assert owner == {
        **base,
        "operation": "UPDATE",
        "deal_id": won["id"],
        "old_created_at": won["created_at"],
        "new_created_at": won["created_at"],
        "old_closed_at": won["closed_at"],
        "new_closed_at": won["closed_at"],
        "old_client_id": won["client_id"],
        "new_client_id": won["client_id"],
        "dependants": True,
        "open_deal": False,
    }
    assert insert == {
        **base,
        "operation": "INSERT",
        "deal_id": new_id,
        "old_created_at": None,
        "new_created_at": ts("2025-03-01 23:30"),
        "old_closed_at": None,
        "new_closed_at": None,
        "old_client_id": None,
        "new_client_id": first_client,
        "dependants": True,
        "open_deal": True,
    }
    # a stage change of an open deal touches only the open pipeline
    assert stage == {
        **base,
        "operation": "UPDATE",
        "deal_id": new_id,
        "old_created_at": None,
        "new_created_at": None,
        "old_closed_at": None,
        "new_closed_at": None,
        "old_client_id": None,
        "new_client_id": None,
        "dependants": False,
        "open_deal": True,
    }
    assert soft_delete["dependants"] and soft_delete["open_deal"] and soft_delete["new_created_at"]
    assert soft_delete["old_client_id"] == soft_delete["new_client_id"] == first_client
    assert delete["operation"] == "DELETE" and delete["old_created_at"] == ts("2025-03-01 23:30")
    assert (delete["old_client_id"], delete["new_client_id"]) == (first_client, None)


def test_other_source_changes_log_their_keys(captured: Conn) -> None:
    db = captured
    client = db.execute("SELECT id, created_at FROM crm.clients ORDER BY id LIMIT 1").fetchone()
    payment = db.execute(
        "SELECT id, created_at, paid_at FROM crm.payments WHERE paid_at IS NOT NULL ORDER BY id LIMIT 1"
    ).fetchone()
    history = db.execute("SELECT id, deal_id FROM crm.deal_stage_history ORDER BY id LIMIT 1").fetchone()
    event = db.execute("SELECT id, occurred_at FROM audit.events ORDER BY id LIMIT 1").fetchone()
    assert client and payment and history and event
    other_deal = one(db, "SELECT min(id) FROM crm.deals WHERE id <> %s", [history["deal_id"]])

    statements: list[tuple[str, list[Any]]] = [
        ("UPDATE crm.clients SET name = 'renamed', industry = 'x' WHERE id = %s", [client["id"]]),  # nothing
        ("UPDATE crm.clients SET deleted_at = now() WHERE id = %s", [client["id"]]),
        (
            "UPDATE crm.clients SET created_at = created_at + interval '1 day', deleted_at = NULL"
            " WHERE id = %s",
            [client["id"]],
        ),
        ("UPDATE crm.payments SET currency = 'EUR' WHERE id = %s", [payment["id"]]),  # nothing
        ("UPDATE crm.payments SET paid_at = paid_at + interval '2 days' WHERE id = %s", [payment["id"]]),
        ("UPDATE crm.deal_stage_history SET changed_by = NULL WHERE id = %s", [history["id"]]),  # nothing
        ("UPDATE crm.deal_stage_history SET deal_id = %s WHERE id = %s", [other_deal, history["id"]]),
        ("UPDATE audit.events SET payload = '{}' WHERE id = %s", [event["id"]]),  # nothing
        ("UPDATE audit.events SET occurred_at = occurred_at - interval '1 day' WHERE id = %s", [event["id"]]),
        # a user moved to another team: nothing stored depends on it, crm.users is not captured
        (
            "UPDATE crm.users SET team_id = (SELECT max(id) FROM crm.teams)"
            " WHERE id = (SELECT min(id) FROM crm.users)",
            [],
        ),
        ("UPDATE crm.pipeline_stages SET name = 'Renamed' WHERE code = 'lead'", []),  # nothing
        ("UPDATE crm.pipeline_stages SET probability = 0.3 WHERE code = 'lead'", []),
    ]
    for query, params in statements:
        db.execute(query, params)  # type: ignore[arg-type]

    rows = [{k: v for k, v in r.items() if v not in (None, False)} for r in log_rows(db)]
    moved = [r for r in rows if r["source_table"] == "crm.deal_stage_history"]
    assert [r for r in rows if r not in moved] == [
        {
            "source_table": "crm.clients",
            "operation": "UPDATE",
            "client_id": client["id"],
            "old_created_at": client["created_at"],
            "new_created_at": client["created_at"],
            "dependants": True,
        },
        {
            "source_table": "crm.clients",
            "operation": "UPDATE",
            "client_id": client["id"],
            "old_created_at": client["created_at"],
            "new_created_at": client["created_at"] + timedelta(days=1),
            "dependants": True,
        },
        {
            "source_table": "crm.payments",
            "operation": "UPDATE",
            "old_created_at": payment["created_at"],
            "new_created_at": payment["created_at"],
            "old_closed_at": payment["paid_at"],
            "new_closed_at": payment["paid_at"] + timedelta(days=2),
        },
        {
            "source_table": "audit.events",
            "operation": "UPDATE",
            "old_created_at": event["occurred_at"],
            "new_created_at": event["occurred_at"] - timedelta(days=1),
        },
        {"source_table": "crm.pipeline_stages", "operation": "UPDATE"},
    ]
    # a history row moved to another deal: the funnels of both deals
    assert sorted(r["deal_id"] for r in moved) == sorted([history["deal_id"], other_deal])


def test_a_multi_row_statement_logs_every_row_once(captured: Conn) -> None:
    db = captured
    changed = db.execute(
        "UPDATE crm.payments SET amount = amount + 1"
        " WHERE id IN (SELECT id FROM crm.payments ORDER BY id LIMIT 25)"
    ).rowcount
    db.execute("DELETE FROM audit.events WHERE id IN (SELECT id FROM audit.events ORDER BY id LIMIT 7)")

    counts = Counter((r["source_table"], r["operation"]) for r in log_rows(db))
    assert counts == {("crm.payments", "UPDATE"): changed, ("audit.events", "DELETE"): 7}
    assert changed == 25


def test_truncate_is_captured_and_forces_a_full_refresh_of_what_reads_the_table(captured: Conn) -> None:
    db = captured
    db.execute("TRUNCATE audit.events")
    assert log_rows(db)[-1]["operation"] == "TRUNCATE"
    assert log_rows(db)[-1]["source_table"] == "audit.events"

    refresh(db)

    log = last_run(db)
    assert log["audit_activity_daily"]["mode"] == "full" and log["audit_activity_daily"]["rows"] == 0
    # the actor bitmaps and their month totals are computed from audit_activity_daily: rebuilt with it
    audit = ("audit_activity_daily", "audit_actions_by_day", "audit_actors_by_day", "audit_actions_by_month")
    assert {(log[n]["mode"], log[n]["rows"]) for n in audit} == {("full", 0)}
    assert {log[n]["mode"] for n in SUMMARIES if n not in (*audit, "pipeline_open")} == {"incremental"}
    assert verify_rows(db) == [] and expected_differences(db) == {}


def test_a_change_on_a_day_recomputes_the_month_of_a_month_bucketed_summary(captured: Conn) -> None:
    db = captured
    actor = db.execute("SELECT min(id) AS id FROM crm.users").fetchone()["id"]  # type: ignore[index]
    # mid-month in the reports time zone (UTC here), with an action of its own
    db.execute(
        "INSERT INTO audit.events (occurred_at, actor_id, service, action, entity_type)"
        " SELECT t, %s, 's', 'month.test', 'thing' FROM unnest(%s::timestamptz[]) AS t",
        [actor, ["2025-03-17 12:00Z", "2025-03-17 13:00Z", "2025-04-02 09:00Z"]],
    )

    refresh(db)

    log = last_run(db)["audit_actions_by_month"]
    # handed on from audit_actions_by_day as the first day of each month concerned, recomputed whole
    assert log["mode"] == "incremental"
    assert (log["days"].lower.isoformat(), log["days"].upper.isoformat()) == ("2025-03-01", "2025-04-02")
    assert log["rows_written"] == 2 and log["rows_deleted"] == 0
    rows = db.execute(
        "SELECT month, events, bit_count(actors) AS actors FROM reports.audit_actions_by_month"
        " WHERE action = 'month.test' ORDER BY month"
    ).fetchall()
    assert [(r["month"].isoformat(), r["events"], r["actors"]) for r in rows] == [
        ("2025-03-01", 2, 1),
        ("2025-04-01", 1, 1),
    ]

    db.execute("DELETE FROM audit.events WHERE action = 'month.test' AND occurred_at < '2025-04-01Z'")
    refresh(db)
    gone = db.execute("SELECT count(*) AS n FROM reports.audit_actions_by_month WHERE action = 'month.test'")
    assert gone.fetchone() == {"n": 1}
    assert last_run(db)["audit_actions_by_month"]["rows_deleted"] == 1
    assert verify_rows(db) == [] and expected_differences(db) == {}


# --------------------------------------------------------------------------- the row-level variant

CHANGE_SCRIPT = [
    "UPDATE crm.deals SET amount = amount * 2 WHERE id % 7 = 0",
    "UPDATE crm.deals SET owner_id = (SELECT max(id) FROM crm.users) WHERE id % 11 = 0",
    "UPDATE crm.deals SET stage = 'proposal' WHERE status = 'open' AND id % 5 = 0",
    "UPDATE crm.deals SET title = 'x'",
    "INSERT INTO crm.deals (id, client_id, owner_id, stage, status, amount, created_at, closed_at)"
    " SELECT 900001, min(id), 1, 'won', 'won', 5, '2024-05-05 03:00Z', '2024-06-01 23:59Z' FROM crm.clients",
    "UPDATE crm.clients SET deleted_at = now() WHERE id % 13 = 0",
    "UPDATE crm.clients SET owner_id = NULL WHERE id % 17 = 0",
    "UPDATE crm.payments SET paid_at = paid_at + interval '20 hours' WHERE id % 3 = 0",
    "UPDATE crm.payments SET status = 'failed' WHERE id % 19 = 0",
    "DELETE FROM crm.payments WHERE id % 23 = 0",
    "UPDATE crm.deal_stage_history SET changed_at = changed_at + interval '1 hour' WHERE id % 9 = 0",
    "UPDATE crm.deal_stage_history SET deal_id = deal_id + 1 WHERE id % 31 = 0"
    " AND deal_id + 1 IN (SELECT id FROM crm.deals)",
    "DELETE FROM crm.deal_stage_history WHERE id % 29 = 0",
    "INSERT INTO audit.events (occurred_at, service, action) VALUES ('2025-01-01 00:30Z', 's', 'login')",
    "UPDATE audit.events SET actor_id = NULL WHERE id % 10 = 0",
    "UPDATE crm.pipeline_stages SET probability = 0.9 WHERE code = 'negotiation'",
    "TRUNCATE crm.deal_stage_history",
]


def logged_by_script(db: Conn) -> Counter[tuple[Any, ...]]:
    with db.transaction(force_rollback=True):
        for statement in CHANGE_SCRIPT:
            db.execute(statement)  # type: ignore[arg-type]
        return Counter(tuple(r.values()) for r in log_rows(db))


def test_the_row_level_variant_logs_exactly_what_the_statement_level_variant_logs(
    db: Conn, db_url: str
) -> None:
    install_capture(db_url)
    by_statement = logged_by_script(db)
    install_capture(db_url, row_level=True)
    status = status_by_event(db)
    assert {r["level"] for (_, e), r in status.items() if e != "TRUNCATE"} == {"row"}
    assert {r["trigger_function"] for (_, e), r in status.items() if e == "UPDATE"} == {
        f"_capture_{t.split('.')[1]}_row" for t in SOURCE_TABLES
    }
    by_row = logged_by_script(db)

    assert sum(by_statement.values()) > 1000
    assert by_row == by_statement


def test_the_row_level_variant_fires_for_a_replication_apply_worker(db: Conn, db_url: str) -> None:
    """An apply worker runs with session_replication_role = replica: only ALWAYS/REPLICA triggers fire."""
    install_capture(db_url, row_level=True)
    refresh(db)
    with db.transaction():
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute(
            "UPDATE crm.payments SET amount = amount + 1 WHERE id = (SELECT min(id) FROM crm.payments)"
        )
        db.execute(
            "INSERT INTO audit.events (occurred_at, service, action) VALUES (now(), 's', 'replicated')"
        )
    assert [r["source_table"] for r in log_rows(db)] == ["crm.payments", "audit.events"]

    refresh(db)
    assert {r["mode"] for r in last_run(db).values()} == {"incremental"}
    assert verify_rows(db) == []


# --------------------------------------------------------------------------- writers, notifications


def test_writers_need_no_privilege_on_the_reports_schema(
    captured: Conn, db_url: str, login_role: Callable[..., str]
) -> None:
    writer = login_role(
        "GRANT USAGE ON SCHEMA crm TO {role}",
        "GRANT SELECT, UPDATE ON crm.deals TO {role}",
    )
    with connect(as_role(db_url, writer), autocommit=True) as conn:
        conn.execute("UPDATE crm.deals SET amount = amount + 1 WHERE id = (SELECT min(id) FROM crm.deals)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM reports.change_log")
    assert [r["source_table"] for r in log_rows(captured)] == ["crm.deals"]


def test_changes_notify_once_per_table_and_transaction(captured: Conn, db_url: str) -> None:
    db = captured
    with psycopg.connect(db_url.split("?")[0], autocommit=True) as listener:
        listener.execute("LISTEN reports_changes")
        with db.transaction():
            db.execute("SET LOCAL reports.capture_notify = on")
            db.execute(
                "UPDATE crm.deals SET amount = amount + 1 WHERE id IN (SELECT id FROM crm.deals LIMIT 3)"
            )
            db.execute(
                "UPDATE crm.deals SET amount = amount + 1 WHERE id IN (SELECT id FROM crm.deals LIMIT 3)"
            )
            db.execute("INSERT INTO audit.events (occurred_at, service, action) VALUES (now(), 's', 'a')")
            db.execute("UPDATE crm.deals SET title = 'nothing for the reports'")
        with db.transaction():  # off by default: a NOTIFY serialises the commits of concurrent writers
            db.execute("INSERT INTO audit.events (occurred_at, service, action) VALUES (now(), 's', 'quiet')")
        with db.transaction():
            db.execute("SET LOCAL reports.capture_notify = off")
            db.execute("INSERT INTO audit.events (occurred_at, service, action) VALUES (now(), 's', 'off')")
        payloads = [n.payload for n in listener.notifies(timeout=1, stop_after=3)]
    assert sorted(payloads) == ["audit.events", "crm.deals"]


# --------------------------------------------------------------------------- the refresh side


def test_refresh_status_shows_mode_pending_changes_and_durations(captured: Conn) -> None:
    db = captured
    status = {r["view"]: r for r in db.execute("SELECT * FROM reports.refresh_status()")}
    assert {(r["mode"], r["pending_changes"], r["oldest_pending_at"]) for r in status.values()} == {
        ("incremental", 0, None)
    }
    assert all(r["last_duration_ms"] is not None and not r["needs_full_refresh"] for r in status.values())
    columns = list(next(iter(status.values())))
    assert columns[:11] == [
        "view",
        "mode",
        "last_success_at",
        "age",
        "rows",
        "generation",
        "last_status",
        "last_error",
        "last_error_at",
        "needs_full_refresh",
        "timezone",
    ]
    assert columns[11:] == [
        "pending_changes",
        "oldest_pending_at",
        "last_duration_ms",
        "running_since",
        "interrupted_at",
    ]

    db.execute(
        "INSERT INTO audit.events (occurred_at, service, action) VALUES (now(), 's', 'a'), (now(), 's', 'b')"
    )
    db.execute("UPDATE crm.clients SET owner_id = NULL WHERE id = (SELECT min(id) FROM crm.clients)")
    pending = {r["view"]: r for r in db.execute("SELECT * FROM reports.pending_changes()")}
    assert pending["audit_activity_daily"]["pending"] == 2
    assert pending["clients_created_daily"]["pending"] == 1
    assert pending["deal_outcomes_daily"]["pending"] == 1  # the client's deals depend on it
    status = {r["view"]: r for r in db.execute("SELECT * FROM reports.refresh_status()")}
    assert status["audit_activity_daily"]["pending_changes"] == 2
    assert (
        status["audit_activity_daily"]["oldest_pending_at"]
        == pending["audit_activity_daily"]["oldest_change_at"]
    )

    # a refresh of one view absorbs every change: the others keep theirs as invalid days
    db.execute("SELECT * FROM reports.refresh_view('audit_activity_daily')").fetchall()
    pending = {r["view"]: r["pending"] for r in db.execute("SELECT * FROM reports.pending_changes()")}
    assert pending["audit_activity_daily"] == 0 and pending["clients_created_daily"] == 1
    assert one(db, "SELECT count(*) FROM reports.change_log") == 0

    refresh(db)
    assert set(r["pending"] for r in db.execute("SELECT * FROM reports.pending_changes()")) == {0}
    assert verify_rows(db) == [] and expected_differences(db) == {}


def test_an_incremental_refresh_recomputes_only_the_invalid_days(captured: Conn) -> None:
    db = captured
    deal = db.execute(
        "SELECT id, closed_at FROM crm.deals WHERE status = 'won' AND deleted_at IS NULL ORDER BY id LIMIT 1"
    ).fetchone()
    assert deal is not None
    db.execute("UPDATE crm.deals SET closed_at = closed_at + interval '3 days' WHERE id = %s", [deal["id"]])
    old_day = deal["closed_at"].astimezone(UTC).date()
    new_day = old_day + timedelta(days=3)

    refresh(db)

    log = last_run(db)
    outcomes = log["deal_outcomes_daily"]
    assert outcomes["mode"] == "incremental"
    assert (outcomes["days"].lower, outcomes["days"].upper) == (old_day, new_day + timedelta(days=1))
    assert log["audit_activity_daily"]["days"].isempty and log["audit_activity_daily"]["rows_written"] == 0
    assert log["pipeline_open"]["rows_written"] == 0  # no open deal changed: the snapshot is left alone
    assert verify_rows(db) == [] and expected_differences(db) == {}


def invalid_entries(conn: Conn, summary: str) -> set[tuple[Any, Any]]:
    """The (day, group_id) entries of reports.invalid_days of a summary (after absorbing the change log)."""
    conn.execute("SELECT reports._absorb_changes()")
    rows = conn.execute("SELECT day, group_id FROM reports.invalid_days WHERE summary = %s", [summary])
    return {(r["day"], r["group_id"]) for r in rows}


def test_a_changed_deal_invalidates_only_its_clients_rows_of_its_closing_days(captured: Conn) -> None:
    """deal_outcomes_daily is narrowed by client (summaries.group_column): a deal moved to another client and
    closing day invalidates the old client's rows of the old day and the new client's rows of the new day."""
    db = captured
    deal = db.execute(
        "SELECT id, client_id, closed_at FROM crm.deals WHERE status = 'won' AND deleted_at IS NULL"
        " ORDER BY id LIMIT 1"
    ).fetchone()
    assert deal is not None
    other_client = one(
        db, "SELECT min(id) FROM crm.clients WHERE deleted_at IS NULL AND id <> %s", [deal["client_id"]]
    )
    db.execute(
        "UPDATE crm.deals SET client_id = %s, closed_at = closed_at + interval '3 days' WHERE id = %s",
        [other_client, deal["id"]],
    )
    old_day = deal["closed_at"].astimezone(UTC).date()

    assert invalid_entries(db, "deal_outcomes_daily") == {
        (old_day, deal["client_id"]),
        (old_day + timedelta(days=3), other_client),
    }
    refresh(db)

    assert last_run(db)["deal_outcomes_daily"]["mode"] == "incremental"
    assert db.execute("SELECT count(*) AS n FROM reports.invalid_days").fetchone() == {"n": 0}
    assert verify_rows(db) == [] and expected_differences(db) == {}


def test_whole_days_and_many_changed_clients_are_refreshed_as_whole_days(captured: Conn) -> None:
    """A change logged without its client (as before V0019) invalidates its whole day: a stored row of that
    day that no changed deal touches is recomputed too. More changed clients than the refresh looks up one by
    one (100) are refreshed as whole days. The result equals a full recompute either way."""
    db = captured
    tampered = db.execute(
        "UPDATE reports.deal_outcomes_daily SET won_amount = won_amount + 1"
        " WHERE (day, owner_id, client_id) = (SELECT day, owner_id, client_id"
        "  FROM reports.deal_outcomes_daily WHERE won_deals > 0 ORDER BY day, owner_id, client_id LIMIT 1)"
        " RETURNING day"
    ).fetchone()
    assert tampered is not None
    db.execute(
        "INSERT INTO reports.change_log (source_table, operation, old_closed_at, new_closed_at)"
        " VALUES ('crm.deals', 'UPDATE', %(at)s, %(at)s)",
        {"at": datetime.combine(tampered["day"], datetime.min.time(), UTC) + timedelta(hours=12)},
    )
    changed = db.execute(
        "UPDATE crm.deals SET amount = amount + 1 WHERE id IN ("
        "  SELECT min(id) FROM crm.deals WHERE status IN ('won', 'lost') AND deleted_at IS NULL"
        "  GROUP BY client_id ORDER BY min(id) DESC LIMIT 150)"
    ).rowcount
    assert changed == 150

    entries = invalid_entries(db, "deal_outcomes_daily")
    assert (tampered["day"], None) in entries
    assert len({group for _, group in entries if group is not None}) > 100
    refresh(db)

    assert last_run(db)["deal_outcomes_daily"]["mode"] == "incremental"
    assert verify_rows(db) == [] and expected_differences(db) == {}


def test_disabling_a_trigger_for_a_while_forces_a_full_refresh(captured: Conn) -> None:
    db = captured
    db.execute("ALTER TABLE crm.deals DISABLE TRIGGER reports_capture_update")
    assert modes(db)["deal_outcomes_daily"] == "full"
    db.execute("UPDATE crm.deals SET amount = amount + 100 WHERE status = 'won'")  # not captured
    db.execute("ALTER TABLE crm.deals ENABLE ALWAYS TRIGGER reports_capture_update")
    assert log_rows(db) == []
    status = {r["view"]: r for r in db.execute("SELECT * FROM reports.refresh_status()")}
    assert status["deal_outcomes_daily"]["mode"] == "incremental"
    assert status["deal_outcomes_daily"]["needs_full_refresh"]  # the triggers changed since the last refresh
    assert verify_rows(db) != []

    refresh(db)

    log = last_run(db)
    assert log["deal_outcomes_daily"]["mode"] == "full"
    assert log["audit_activity_daily"]["mode"] == "incremental"  # audit.events' triggers did not change
    assert verify_rows(db) == []


def test_a_trigger_toggled_while_a_refresh_runs_forces_a_full_refresh_next(
    captured: Conn, db_url: str
) -> None:
    """The refresh reads every summary's capture fingerprint once, before it refreshes the first, and stores
    that value. A capture trigger disabled and re-enabled while it runs (a client inserted meanwhile, not
    captured) then differs from what this run stores for clients_created_daily, refreshed after the toggle
    with nothing of its own to do, and the next refresh rebuilds it. (Storing the fingerprint read when the
    summary's turn comes, but deciding with the one read before, would lose that client for good.) The
    refresh is held up at audit_activity_daily, which comes before clients_created_daily, by a lock on that
    table; it runs at READ COMMITTED."""
    db = captured
    order = [r["name"] for r in db.execute("SELECT name FROM reports.summaries ORDER BY position")]
    assert order.index("audit_activity_daily") < order.index("clients_created_daily")
    db.execute("INSERT INTO audit.events (occurred_at, service, action) VALUES (now(), 's', 'held up')")

    with connect(db_url, autocommit=False) as blocker, connect(db_url, autocommit=True) as refresher:
        blocker.execute("LOCK TABLE reports.audit_activity_daily IN EXCLUSIVE MODE")  # readers go on
        refresher.execute("SET lock_timeout = '30s'")
        pid = refresher.info.backend_pid
        results: list[Any] = []
        thread = threading.Thread(
            target=lambda: results.append(
                refresher.execute("SELECT * FROM reports.refresh_views(NULL, true)").fetchall()
            )
        )
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while not db.execute(
                "SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted"
                " AND relation = 'reports.audit_activity_daily'::regclass",
                [pid],
            ).fetchone():
                assert time.monotonic() < deadline, "the refresh never waited for audit_activity_daily"
                time.sleep(0.02)
            db.execute("ALTER TABLE crm.clients DISABLE TRIGGER reports_capture_insert")
            db.execute("INSERT INTO crm.clients (name, created_at) VALUES ('not captured', now())")
            db.execute("ALTER TABLE crm.clients ENABLE ALWAYS TRIGGER reports_capture_insert")
        finally:
            blocker.commit()
            thread.join(30)
    assert len(results) == 1
    assert {r["status"] for r in results[0]} == {"ok"}
    assert log_rows(db) == []
    assert verify_rows(db) != []  # the uncaptured client is missing from clients_created_daily

    status = {r["view"]: r for r in db.execute("SELECT * FROM reports.refresh_status()")}
    assert status["clients_created_daily"]["needs_full_refresh"]
    refresh(db)

    assert last_run(db)["clients_created_daily"]["mode"] == "full"
    assert verify_rows(db) == []


def test_verify_reports_mismatching_buckets_and_rebuild_repairs_them(captured: Conn) -> None:
    db = captured
    day = one(db, "SELECT min(day) FROM reports.deal_outcomes_daily")
    db.execute("UPDATE reports.deal_outcomes_daily SET won_amount = won_amount + 1 WHERE day = %s", [day])
    last_day = one(db, "SELECT max(day) FROM reports.clients_created_daily")
    db.execute("DELETE FROM reports.clients_created_daily WHERE day = %s", [last_day])
    db.execute("UPDATE reports.pipeline_open SET as_of = as_of - interval '1 day'")  # a clock column: ignored

    rows = verify_rows(db)

    by_view = {(r["view"], r["bucket"]): (r["missing_rows"], r["extra_rows"]) for r in rows}
    changed = one(db, "SELECT count(*) FROM reports.deal_outcomes_daily WHERE day = %s", [day])
    assert by_view.pop(("deal_outcomes_daily", day)) == (changed, changed)
    # its day total, recomputed from the damaged rows, no longer matches the stored one either
    assert by_view.pop(("deal_outcomes_by_day", day)) == (1, 1)
    # and the day total of the deleted day is a row that a recompute from clients_created_daily lacks
    assert by_view.pop(("clients_created_by_day", last_day)) == (0, 1)
    [((view, _), (missing, extra))] = list(by_view.items())
    assert view == "clients_created_daily" and missing >= 1 and extra == 0
    assert db.execute("SELECT * FROM reports.verify(ARRAY['audit_activity_daily'])").fetchall() == []

    result = db.execute(
        "SELECT * FROM reports.rebuild(ARRAY['deal_outcomes_daily', 'clients_created_daily'])"
    )
    assert {(r["view"], r["status"]) for r in result} == {
        ("deal_outcomes_daily", "ok"),
        ("clients_created_daily", "ok"),
        # computed from them: rebuilt with them
        ("deal_outcomes_by_day", "ok"),
        ("clients_created_by_day", "ok"),
    }
    assert {r["mode"] for r in last_run(db).values()} == {"full"}
    assert verify_rows(db) == []


def test_a_snapshot_older_than_the_previous_refresh_is_refused(captured: Conn, db_url: str) -> None:
    with connect(db_url) as stale:
        stale.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        stale.execute("SELECT 1")  # takes the snapshot
        refresh(captured)  # commits after it
        with pytest.raises(psycopg.errors.SerializationFailure) as exc:
            stale.execute("SELECT * FROM reports.refresh_views()").fetchall()
        assert "snapshot" in str(exc.value) and "pg_advisory_lock" in (exc.value.diag.message_hint or "")


def test_the_refresher_and_the_reader_roles(
    captured: Conn, db_url: str, login_role: Callable[..., str]
) -> None:
    refresher = login_role("GRANT reports_refresher TO {role}")
    reader = login_role("GRANT reports_reader TO {role}")
    with connect(as_role(db_url, refresher), autocommit=True) as conn:
        for query in (
            "SELECT * FROM reports.pending_changes()",
            "SELECT * FROM reports.verify()",
            "SELECT * FROM reports.capture_status()",
            "SELECT * FROM reports.rebuild(ARRAY['clients_created_daily'])",
        ):
            conn.execute(query).fetchall()  # type: ignore[arg-type]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM reports.change_log")
    with connect(as_role(db_url, reader), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM reports.rebuild()")
        # a reader may ask for real-time answers: nothing to grant
        with conn.transaction():
            conn.execute("SET LOCAL reports.realtime = on")
            assert conn.execute("SELECT * FROM reports.sales_pipeline()").fetchall()


# --------------------------------------------------------------------------- command line


def run_cli(*args: str, url: str) -> Any:
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("REPORTS_", "CRM_"))}
    env["REPORTS_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "reports_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_cli_capture_verify_and_rebuild(db: Conn, db_url: str) -> None:
    proc = run_cli("capture", "status", url=db_url)
    assert proc.returncode == 0 and "capture incomplete on audit.events" in proc.stdout

    proc = run_cli("capture", "install", "--row-level", url=db_url)
    assert proc.returncode == 0, proc.stderr
    assert "applied sql/capture/install_row_level.sql" in proc.stdout
    assert "capture installed on all 6 source tables" in proc.stdout
    assert " row " in proc.stdout

    assert run_cli("refresh", url=db_url).returncode == 0
    db.execute(
        "UPDATE reports.stage_funnel_daily SET reached = reached + 1 WHERE created_day ="
        " (SELECT min(created_day) FROM reports.stage_funnel_daily)"
    )
    proc = run_cli("verify", url=db_url)
    assert proc.returncode == 1
    assert proc.stdout.startswith("stage_funnel_daily  ") and "reports refresh --rebuild" in proc.stderr

    proc = run_cli("refresh", "--rebuild", "--view", "stage_funnel_daily", url=db_url)
    assert proc.returncode == 0, proc.stderr
    assert last_run(db)["stage_funnel_daily"]["mode"] == "full"
    proc = run_cli("verify", url=db_url)
    assert proc.returncode == 0 and "every summary equals a full recompute" in proc.stdout

    proc = run_cli("capture", "uninstall", url=db_url)
    assert proc.returncode == 0 and "capture incomplete" in proc.stdout
