"""Source values no day can hold: infinite and extreme instants and dates, huge and negative amounts.

The adapters leave such rows out of every summary (sql/repeatable/10_sources/_reportable.sql) and
``reports.source_anomalies()`` lists them. These tests write them as a hostile CRM writer would and
check, with bounds that make a regression fail fast instead of filling the disk (a small
``temp_file_limit`` and a ``statement_timeout`` on every session that refreshes or reads):

- the refresh finishes, every summary ``ok``, and equals a full recompute (an EXCEPT ALL against the
  compute functions, and ``reports.verify()``);
- the summaries count exactly the rows inside the window, by a second query over ``crm`` and ``audit``
  that states the window with its own literals;
- ``reports.source_anomalies()`` names exactly the damaged table, id and column;
- the fixed row heals on the next incremental refresh, without a rebuild: every summary is again
  what it was before the damage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from capture_support import SUMMARIES, differences, expected_differences, install_capture, stored_columns
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from reports_core.db import connect
from reports_core.errors import ReportsError
from reports_core.paths import sql_dir
from reports_core.refresh import run_refresh

Conn = psycopg.Connection[dict[str, Any]]

# The bounds every refreshing or reading session of these tests runs under.
TEMP_FILE_LIMIT = "1MB"
STATEMENT_TIMEOUT = "60s"
REFRESH_BOUND_S = 60

# Instants as SQL literals, each with whether it is reportable: from 0001-01-02 00:00 UTC (included)
# to 9999-12-31 00:00 UTC (excluded), written here independently of the SQL rule.
INSTANTS: list[tuple[str, bool]] = [
    ("infinity", False),
    ("-infinity", False),
    ("4713-01-01 00:00:00+00 BC", False),
    ("294276-12-30 00:00:00+00", False),
    ("294276-12-31 23:59:59.999999+00", False),
    ("0001-01-01 12:00:00+00", False),
    ("0001-01-02 00:00:00+00", True),
    ("9999-12-30 23:59:59+00", True),
    ("9999-12-31 00:00:00+00", False),
    ("10000-01-01 00:00:00+00", False),
    ("2025-03-09 07:30:00+00", True),
]
# Dates (crm.payments.due_date): 0001-01-01 through 9999-12-31.
DATES: list[tuple[str, bool]] = [
    ("infinity", False),
    ("-infinity", False),
    ("4713-01-01 BC", False),
    ("5874897-12-31", False),
    ("10000-01-01", False),
    ("9999-12-31", True),
    ("0001-01-01", True),
    ("2026-02-28", True),
]
AMOUNTS = ["-999999999999.99", "999999999999.99", "0", "-0.01"]
# (table, column, kind, nullable): every source column a summary reads an instant, a date or an amount from.
COLUMNS: list[tuple[str, str, str, bool]] = [
    ("crm.clients", "created_at", "instant", False),
    ("crm.deals", "created_at", "instant", False),
    ("crm.deals", "closed_at", "instant", True),
    ("crm.deals", "amount", "amount", False),
    ("crm.deal_stage_history", "changed_at", "instant", False),
    ("crm.payments", "created_at", "instant", False),
    ("crm.payments", "paid_at", "instant", True),
    ("crm.payments", "due_date", "date", False),
    ("crm.payments", "amount", "amount", False),
    ("audit.events", "occurred_at", "instant", False),
]
# Rows the anomaly view lists: not soft-deleted (clients and deals).
LIVE = {"crm.clients": "deleted_at IS NULL", "crm.deals": "deleted_at IS NULL"}

# The independent count of what each summary holds, with the window's own literals: a deal exists for the
# reports when it, its client and (for payments) its deal are live and reportable.
IN_WINDOW = "({c} >= '0001-01-02 00:00:00+00' AND {c} < '9999-12-31 00:00:00+00')"
LIVE_CLIENT = "c.deleted_at IS NULL AND " + IN_WINDOW.format(c="c.created_at")
LIVE_DEAL = (
    "d.deleted_at IS NULL AND "
    + IN_WINDOW.format(c="d.created_at")
    + " AND (d.closed_at IS NULL OR "
    + IN_WINDOW.format(c="d.closed_at")
    + ")"
)
INDEPENDENT_COUNTS = {
    "won deals": (
        "SELECT count(*) AS n FROM crm.deals AS d JOIN crm.clients AS c ON c.id = d.client_id"
        f" WHERE d.status = 'won' AND d.closed_at IS NOT NULL AND {LIVE_DEAL} AND {LIVE_CLIENT}",
        "SELECT coalesce(sum(won_deals), 0) AS n FROM reports.deal_outcomes_daily",
    ),
    "paid payments": (
        "SELECT count(*) AS n FROM crm.payments AS p JOIN crm.clients AS c ON c.id = p.client_id"
        " LEFT JOIN crm.deals AS d ON d.id = p.deal_id"
        f" WHERE p.paid_at IS NOT NULL AND {LIVE_CLIENT} AND (p.deal_id IS NULL OR ({LIVE_DEAL}))"
        f" AND {IN_WINDOW.format(c='p.created_at')} AND {IN_WINDOW.format(c='p.paid_at')}"
        " AND p.due_date BETWEEN '0001-01-01' AND '9999-12-31'",
        "SELECT coalesce(sum(paid_payments), 0) AS n FROM reports.payments_collected_daily",
    ),
    "events": (
        f"SELECT count(*) AS n FROM audit.events AS e WHERE {IN_WINDOW.format(c='e.occurred_at')}",
        "SELECT coalesce(sum(events), 0) AS n FROM reports.audit_activity_daily",
    ),
    "clients": (
        f"SELECT count(*) AS n FROM crm.clients AS c WHERE {LIVE_CLIENT}",
        "SELECT coalesce(sum(clients), 0) AS n FROM reports.clients_created_daily",
    ),
}


def bounded(conn: Conn) -> None:
    """The session bounds of every connection that refreshes or reads here."""
    conn.execute(f"SET temp_file_limit = '{TEMP_FILE_LIMIT}'")
    conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")


def refresh(conn: Conn) -> dict[str, dict[str, Any]]:
    started = time.monotonic()
    rows = conn.execute("SELECT * FROM reports.refresh_views(NULL, true)").fetchall()
    assert time.monotonic() - started < REFRESH_BOUND_S
    assert [(r["view"], r["status"], r["sqlstate"]) for r in rows if r["status"] != "ok"] == []
    return {r["view"]: r for r in rows}


def incremental_modes(conn: Conn) -> set[str]:
    return {
        r["mode"]
        for r in conn.execute(
            "SELECT mode FROM reports.refresh_log WHERE run_id ="
            " (SELECT run_id FROM reports.refresh_log ORDER BY id DESC LIMIT 1)"
        ).fetchall()
    }


def anomalies(conn: Conn) -> set[tuple[str, int, str]]:
    rows = conn.execute("SELECT source_table, id, column_name FROM reports.source_anomalies()").fetchall()
    return {(r["source_table"], r["id"], r["column_name"]) for r in rows}


def snapshot(conn: Conn) -> None:
    """Copy every summary (without its clock columns) into a temporary table snap_<summary>."""
    for name in SUMMARIES:
        cols = sql.SQL(", ").join(map(sql.Identifier, stored_columns(conn, name, with_clock=False)))
        conn.execute(
            sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM reports.{}").format(
                sql.Identifier(f"snap_{name}"), cols, sql.Identifier(name)
            )
        )


def differences_from_snapshot(conn: Conn) -> dict[str, int]:
    """Per summary: how far it is from its copy of snapshot() (EXCEPT ALL both ways, no clock columns)."""
    return differences(conn, lambda name: sql.Identifier(f"snap_{name}"))


def check_consistent(conn: Conn) -> None:
    assert expected_differences(conn) == {}
    assert conn.execute("SELECT * FROM reports.verify()").fetchall() == []
    for label, (source, summary) in INDEPENDENT_COUNTS.items():
        assert conn.execute(summary).fetchone() == conn.execute(source).fetchone(), label


@pytest.fixture
def captured(db_url: str) -> Iterator[Conn]:
    """The demo database with the change capture installed and a first full refresh committed."""
    install_capture(db_url)
    with connect(db_url, autocommit=True) as conn:
        bounded(conn)
        refresh(conn)
        yield conn


def one(conn: Conn, query: str, params: Any = None) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return next(iter(row.values()))


# ------------------------------------------------------------------ the reported cases


def test_an_infinite_closing_instant_is_left_out_and_heals_under_a_small_temp_file_limit(
    captured: Conn,
) -> None:
    """The disk-fill case: an endless day list would exceed the 1 MB of temporary files at once."""
    db = captured
    one(db, "SELECT reports.set_refresh_limits(p_temp_file_limit => %s)", [TEMP_FILE_LIMIT])
    deal, closed_at = (
        db.execute(
            "SELECT d.id, d.closed_at FROM crm.deals AS d JOIN crm.clients AS c ON c.id = d.client_id"
            " WHERE d.status = 'won' AND d.deleted_at IS NULL AND c.deleted_at IS NULL"
            " AND EXISTS (SELECT FROM crm.payments AS p WHERE p.deal_id = d.id AND p.paid_at IS NOT NULL)"
            " ORDER BY d.id LIMIT 1"
        )
        .fetchone()
        .values()
    )  # type: ignore[union-attr]
    before = one(db, "SELECT sum(won_deals) FROM reports.deal_outcomes_daily")
    with db.transaction(force_rollback=True):
        snapshot(db)
        db.execute("UPDATE crm.deals SET closed_at = 'infinity' WHERE id = %s", [deal])

        # A psql reader in real time reads the pending days of the change.
        db.execute("SELECT set_config('reports.realtime', 'on', true)")
        live = db.execute(
            "SELECT sum(won_deals) AS n FROM reports.revenue_by_period('2023-01-01', '2026-12-31', 'year')"
        ).fetchone()
        db.execute("SELECT set_config('reports.realtime', 'off', true)")
        assert live == {"n": before - 1}

        refresh(db)
        assert incremental_modes(db) == {"incremental"}
        assert one(db, "SELECT count(*) FROM reports.invalid_days") == 0
        assert anomalies(db) == {("crm.deals", deal, "closed_at")}
        assert db.execute(
            "SELECT value, problem FROM reports.source_anomalies() WHERE id = %s", [deal]
        ).fetchall() == [{"value": "infinity", "problem": "not finite"}]
        check_consistent(db)
        assert one(db, "SELECT sum(won_deals) FROM reports.deal_outcomes_daily") == before - 1

        db.execute("UPDATE crm.deals SET closed_at = %s WHERE id = %s", [closed_at, deal])
        refresh(db)
        assert incremental_modes(db) == {"incremental"}
        assert anomalies(db) == set()
        assert differences_from_snapshot(db) == {}


def test_infinite_instants_of_both_signs_on_one_deal_fail_nothing(captured: Conn) -> None:
    """created_at = infinity with closed_at = -infinity raised 22008 (cannot subtract infinite timestamps)."""
    db = captured
    deal = one(db, "SELECT id FROM crm.deals WHERE status = 'won' AND deleted_at IS NULL ORDER BY id LIMIT 1")
    with db.transaction(force_rollback=True):
        db.execute(
            "UPDATE crm.deals SET created_at = 'infinity', closed_at = '-infinity' WHERE id = %s", [deal]
        )
        refresh(db)
        assert anomalies(db) == {("crm.deals", deal, "created_at"), ("crm.deals", deal, "closed_at")}
        check_consistent(db)


@pytest.mark.parametrize("value", ["4713-01-01 00:00:00+00 BC", "294276-12-30 00:00:00+00"])
def test_extreme_finite_instants_block_no_summary_and_heal_without_a_rebuild(
    captured: Conn, value: str
) -> None:
    """They failed deal_outcomes_daily and stage_funnel_daily (22008) on every run until reports.rebuild()."""
    db = captured
    deal, created_at, closed_at = (
        db.execute(
            "SELECT id, created_at, closed_at FROM crm.deals WHERE status = 'won' AND deleted_at IS NULL"
            " ORDER BY id DESC LIMIT 1"
        )
        .fetchone()
        .values()
    )  # type: ignore[union-attr]
    with db.transaction(force_rollback=True):
        snapshot(db)
        db.execute("UPDATE crm.deals SET created_at = %s, closed_at = %s WHERE id = %s", [value, value, deal])
        rows = refresh(db)
        assert rows["deal_outcomes_daily"]["status"] == rows["stage_funnel_daily"]["status"] == "ok"
        check_consistent(db)
        db.execute(
            "UPDATE crm.deals SET created_at = %s, closed_at = %s WHERE id = %s",
            [created_at, closed_at, deal],
        )
        refresh(db)
        assert incremental_modes(db) == {"incremental"}
        assert differences_from_snapshot(db) == {}


# ------------------------------------------------------------------ the limits of a refresh


def test_the_refresh_runs_under_its_temp_file_limit(db: Conn) -> None:
    """With 64 kB of temporary files and of work_mem a full build spills and fails; unlimited, it passes."""
    assert db.execute("SELECT * FROM reports.refresh_limits()").fetchone() == {
        "temp_file_limit": "10GB",
        "statement_timeout": "1h",
    }
    one(db, "SELECT reports.set_refresh_limits(p_temp_file_limit => '64kB')")
    db.execute("SET work_mem = '64kB'")
    rows = db.execute("SELECT * FROM reports.rebuild()").fetchall()
    failed = {r["view"]: r for r in rows if r["status"] == "failed"}
    assert failed
    assert {r["sqlstate"] for r in failed.values()} == {"53400"}
    assert all("temp_file_limit" in r["error"] for r in failed.values())
    assert db.execute("SHOW temp_file_limit").fetchone() == {
        "temp_file_limit": "-1"
    }  # the refresh's transaction only
    one(db, "SELECT reports.set_refresh_limits(p_temp_file_limit => '-1')")
    rows = db.execute("SELECT * FROM reports.rebuild()").fetchall()
    assert {r["status"] for r in rows} == {"ok"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"p_temp_file_limit": "lots"}, "p_temp_file_limit must be an amount of memory or -1"),
        ({"p_temp_file_limit": "0"}, "p_temp_file_limit must be an amount of memory or -1"),
        ({"p_statement_timeout": "1 hour"}, "p_statement_timeout must be a duration or 0"),
        ({"p_statement_timeout": "-5s"}, "p_statement_timeout must be a duration or 0"),
        ({"p_temp_file_limit": "3TB"}, "p_temp_file_limit must be at most 2147483647kB"),
        ({"p_statement_timeout": "25d"}, "p_statement_timeout must be at most 2147483647ms"),
    ],
)
def test_refresh_limits_of_another_form_are_refused(db: Conn, args: dict[str, str], message: str) -> None:
    named = ", ".join(f"{k} => %({k})s" for k in args)
    with pytest.raises(psycopg.errors.InvalidParameterValue, match=message):
        db.execute(f"SELECT * FROM reports.set_refresh_limits({named})", args)
    assert db.execute("SELECT * FROM reports.refresh_limits()").fetchone() == {
        "temp_file_limit": "10GB",
        "statement_timeout": "1h",
    }


def test_a_refresh_owner_that_may_not_set_temp_file_limit_is_refused_without_a_limit(
    db: Conn, db_url: str
) -> None:
    """The engine's owner needs SET on temp_file_limit or a limit in force; else no refresh runs unbounded."""
    db.execute("DROP ROLE IF EXISTS reports_weak_owner")
    db.execute("CREATE ROLE reports_weak_owner")
    db.execute("GRANT reports_refresher TO reports_weak_owner")
    try:
        db.execute("ALTER FUNCTION reports._apply_refresh_temp_file_limit() OWNER TO reports_weak_owner")
        db.execute("ALTER FUNCTION reports._apply_refresh_temp_file_limit() SECURITY DEFINER")
        db.execute("GRANT EXECUTE ON FUNCTION reports._setting_kb(text) TO reports_weak_owner")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="bounded temp_file_limit") as caught:
            db.execute("SELECT * FROM reports.refresh_views()")
        assert "GRANT SET ON PARAMETER temp_file_limit" in (caught.value.diag.message_hint or "")
        db.execute("SET temp_file_limit = '5GB'")  # a limit already in force is kept
        assert {r["status"] for r in db.execute("SELECT * FROM reports.refresh_views()").fetchall()} == {"ok"}
    finally:
        db.execute("RESET temp_file_limit")
        db.execute("ALTER FUNCTION reports._apply_refresh_temp_file_limit() SECURITY INVOKER")
        db.execute("ALTER FUNCTION reports._apply_refresh_temp_file_limit() OWNER TO CURRENT_USER")
        db.execute("REVOKE EXECUTE ON FUNCTION reports._setting_kb(text) FROM reports_weak_owner")
        db.execute("DROP ROLE reports_weak_owner")


def test_the_cli_refresh_runs_under_the_statement_timeout_and_a_timed_out_run_shows_as_interrupted(
    db: Conn, db_url: str
) -> None:
    one(db, "SELECT reports.set_refresh_limits(p_statement_timeout => '1ms')")
    with pytest.raises(ReportsError, match="canceling statement due to statement timeout"):
        run_refresh(db_url, None, True, lambda _: None)
    status = db.execute("SELECT view, running_since, interrupted_at FROM reports.refresh_status()").fetchall()
    assert all(r["interrupted_at"] is not None and r["running_since"] is None for r in status), status

    one(db, "SELECT reports.set_refresh_limits(p_statement_timeout => '1h')")
    rows = run_refresh(db_url, None, True, lambda _: None)
    assert {r["status"] for r in rows} == {"ok"}
    logged = db.execute(
        "SELECT view, mode, days, error FROM reports.refresh_log WHERE status = 'interrupted' ORDER BY id"
    ).fetchall()
    assert sorted(r["view"] for r in logged) == sorted(SUMMARIES)
    assert all(r["mode"] is None and r["days"] is None and "never finished" in r["error"] for r in logged)
    status = db.execute(
        "SELECT running_since, interrupted_at, last_status FROM reports.refresh_status()"
    ).fetchall()
    assert {(r["running_since"], r["interrupted_at"], r["last_status"]) for r in status} == {
        (None, None, "ok")
    }


def test_a_terminated_refresh_is_shown_running_then_interrupted(db: Conn, db_url: str) -> None:
    """pg_terminate_backend leaves no refresh_log row; the start recorded before the refresh's stays."""
    errors: list[BaseException] = []
    with connect(db_url, autocommit=False) as blocker:
        # The refresh waits for this lock when it writes the first summary.
        blocker.execute("LOCK TABLE reports.deal_outcomes_daily IN SHARE MODE")

        def refresh_in_thread() -> None:
            try:
                run_refresh(db_url, None, True, lambda _: None)
            except ReportsError as exc:
                errors.append(exc)

        thread = threading.Thread(target=refresh_in_thread)
        thread.start()
        deadline = time.monotonic() + 30
        pid = None
        while pid is None and time.monotonic() < deadline:
            row = db.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'reports refresh'"
                " AND wait_event_type = 'Lock'"
            ).fetchone()
            pid = row and row["pid"]
            time.sleep(0.05)
        assert pid is not None
        running = db.execute(
            "SELECT view, running_since, interrupted_at FROM reports.refresh_status()"
        ).fetchall()
        assert all(r["running_since"] is not None and r["interrupted_at"] is None for r in running), running

        assert one(db, "SELECT pg_terminate_backend(%s)", [pid]) is True
        thread.join(30)
        assert not thread.is_alive()
        blocker.rollback()
    assert len(errors) == 1
    assert db.execute("SELECT count(*) AS n FROM reports.refresh_log WHERE status <> 'ok'").fetchone() == {
        "n": 0
    }
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the terminated session's locks go when its process has exited
        status = db.execute("SELECT running_since, interrupted_at FROM reports.refresh_status()").fetchall()
        if all(r["interrupted_at"] is not None for r in status):
            break
        time.sleep(0.05)
    assert all(r["interrupted_at"] is not None and r["running_since"] is None for r in status), status


def test_record_refresh_start_needs_the_refresh_lock(db: Conn) -> None:
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="holding the refresh lock"):
        db.execute("SELECT reports.record_refresh_start()")
    assert db.execute("SELECT count(*) AS n FROM reports.refresh_starts").fetchone() == {"n": 0}


# ------------------------------------------------------------------ random extreme values


def value_of(kind: str, nullable: bool) -> st.SearchStrategy[tuple[str | None, bool]]:
    if kind == "amount":
        return st.sampled_from([(a, True) for a in AMOUNTS])
    values = INSTANTS if kind == "instant" else DATES
    return st.sampled_from(values + ([(None, True)] if nullable else []))


damage = st.sampled_from(COLUMNS).flatmap(
    lambda c: st.tuples(st.just(c), st.integers(0, 10**6), value_of(c[2], c[3]))
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    damages=st.lists(damage, min_size=1, max_size=6),
    row_level=st.booleans(),
    timezone_name=st.sampled_from(["UTC", "America/New_York"]),
)
def test_random_extreme_values_refresh_consistently_and_heal(
    captured: Conn,
    damages: list[tuple[tuple[str, str, str, bool], int, tuple[str | None, bool]]],
    row_level: bool,
    timezone_name: str,
) -> None:
    db = captured
    db.autocommit = False
    try:
        if row_level:
            db.execute((sql_dir() / "capture" / "install_row_level.sql").read_bytes(), prepare=False)
        if one(db, "SELECT reports.timezone()") != timezone_name:
            db.execute("SELECT reports.set_timezone(%s)", [timezone_name])
        refresh(
            db
        )  # a full one after a change of triggers or time zone: the damage is then refreshed incrementally
        snapshot(db)
        originals: dict[tuple[str, int, str], Any] = {}
        expected: set[tuple[str, int, str]] = set()
        for (table, column, _kind, _nullable), pick, (literal, reportable) in damages:
            where = LIVE.get(table, "TRUE")
            row_id = one(
                db,
                f"SELECT id FROM {table} WHERE {where} ORDER BY id"  # test-owned literals
                f" OFFSET %s %% (SELECT count(*) FROM {table} WHERE {where}) LIMIT 1",
                [pick],
            )
            key = (table, row_id, column)
            if key not in originals:
                originals[key] = one(db, f"SELECT {column}::text FROM {table} WHERE id = %s", [row_id])
            ident = sql.SQL("UPDATE {} SET {} = %s WHERE id = %s").format(
                sql.Identifier(*table.split(".")), sql.Identifier(column)
            )
            db.execute(ident, [literal, row_id])
            expected.discard(key)
            if not reportable:
                expected.add(key)

        refresh(db)
        assert incremental_modes(db) == {"incremental"}
        assert anomalies(db) == expected
        check_consistent(db)

        for (table, row_id, column), original in originals.items():
            db.execute(
                sql.SQL("UPDATE {} SET {} = %s WHERE id = %s").format(
                    sql.Identifier(*table.split(".")), sql.Identifier(column)
                ),
                [original, row_id],
            )
        refresh(db)
        assert incremental_modes(db) <= {"incremental"}
        assert anomalies(db) == set()
        assert differences_from_snapshot(db) == {}
    finally:
        db.rollback()
        db.autocommit = True


def test_stricter_limits_in_force_are_kept(db: Conn) -> None:
    """The refresh limits only tighten: a smaller temp_file_limit or statement_timeout in force stays."""
    with db.transaction(force_rollback=True):
        db.execute("SET LOCAL statement_timeout = '5s'")
        assert one(db, "SELECT reports.apply_refresh_statement_timeout()") == "5s"
        db.execute("SET LOCAL statement_timeout = 0")
        assert one(db, "SELECT reports.apply_refresh_statement_timeout()") == "1h"
        assert one(db, "SHOW statement_timeout") == "1h"
    with db.transaction(force_rollback=True):
        db.execute("SET LOCAL temp_file_limit = '1MB'")
        db.execute("SELECT * FROM reports.refresh_views()").fetchall()
        assert one(db, "SHOW temp_file_limit") == "1MB"
    with db.transaction(force_rollback=True):
        db.execute("SELECT * FROM reports.refresh_views()").fetchall()
        assert one(db, "SHOW temp_file_limit") == "10GB"


def test_a_refresher_reads_the_source_anomalies(db: Conn, db_url: str) -> None:
    """reports.source_anomalies() runs with its owner's rights: the rule's helpers are granted to nobody."""
    deal = one(db, "SELECT min(id) FROM crm.deals WHERE deleted_at IS NULL")
    db.execute("UPDATE crm.deals SET created_at = '-infinity' WHERE id = %s", [deal])
    db.execute("DROP ROLE IF EXISTS reports_anomaly_reader")
    db.execute("CREATE ROLE reports_anomaly_reader IN ROLE reports_refresher")
    try:
        with db.transaction(force_rollback=True):
            db.execute("SET LOCAL ROLE reports_anomaly_reader")
            rows = db.execute(
                "SELECT source_table, id, column_name FROM reports.source_anomalies()"
            ).fetchall()
        assert rows == [{"source_table": "crm.deals", "id": deal, "column_name": "created_at"}]
    finally:
        db.execute("DROP ROLE reports_anomaly_reader")
