"""The refresh scheduler (reports_cli/scheduler.py, `reports scheduler`, `reports refresh --every`).

Schedulers run as threads (or a subprocess for the CLI) against this test's database, with
intervals of a second or two; what they did is read back from ``reports.refresh_log`` (one
``run_id`` per refresh) and checked against the due times the test computes itself. Expected
summary contents after a catch-up are counted directly from the ``crm`` tables.
"""

from __future__ import annotations

import itertools
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from reports_cli.scheduler import Schedule, Scheduler, parse_interval
from reports_core.db import connect
from reports_core.errors import ReportsError
from reports_core.refresh import REFRESH_LOCK_KEY, run_refresh

Conn = psycopg.Connection[dict[str, Any]]
ROOT = Path(__file__).resolve().parent.parent


class Running:
    """A scheduler in a thread, with the lines it logged."""

    def __init__(self, url: str, schedule: Schedule) -> None:
        self.lines: list[str] = []
        self.scheduler = Scheduler(url, schedule, self.lines.append)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.scheduler.run()
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def start(self) -> Running:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> float:
        """Stop it; returns how long the thread took to end."""
        started = time.monotonic()
        self.scheduler.stop()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the scheduler did not stop: {self.lines[-3:]}"
        assert self.error is None, repr(self.error)
        return time.monotonic() - started


@pytest.fixture
def schedulers(db_url: str) -> Iterator[Callable[[Schedule], Running]]:
    started: list[Running] = []

    def start(schedule: Schedule) -> Running:
        running = Running(db_url, schedule).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.scheduler.stop()
        running.thread.join(10)


def runs(db: Conn) -> list[dict[str, Any]]:
    """Every refresh in the journal: start, end, and the statuses of its views."""
    return db.execute(
        "SELECT run_id, min(started_at) AS started, max(finished_at) AS finished,"
        " array_agg(DISTINCT status) AS statuses, count(*) AS views"
        " FROM reports.refresh_log GROUP BY run_id ORDER BY started"
    ).fetchall()


def refresher_waits(db: Conn) -> bool:
    """Whether the scheduler's refresh waits for a lock (a test's blocker holds one it needs)."""
    row = db.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'reports scheduler'"
        " AND wait_event_type = 'Lock' AND query LIKE '%%refresh_views%%'"
    ).fetchone()
    return row is not None


def db_epoch(db: Conn) -> float:
    row = db.execute("SELECT extract(EPOCH FROM clock_timestamp())::float8 AS now").fetchone()
    assert row is not None
    return float(row["now"])


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def summaries_count(db: Conn) -> int:
    row = db.execute("SELECT count(*) AS n FROM reports.summaries").fetchone()
    assert row is not None
    return int(row["n"])


# --------------------------------------------------------------------------- small parts


def test_the_lock_key_is_the_sql_engines(db: Conn) -> None:
    assert db.execute("SELECT reports._refresh_lock_key() AS k").fetchone() == {"k": REFRESH_LOCK_KEY}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300.0),
        ("300", 300.0),
        ("30s", 30.0),
        ("2min", 120.0),
        ("1h", 3600.0),
        ("1.5s", 1.5),
        ("500ms", 0.5),
    ],
)
def test_intervals(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "-1s", "0s", "10us"])
def test_bad_intervals_are_one_line_errors(text: str) -> None:
    with pytest.raises(ReportsError, match="interval must"):
        parse_interval(text)


def test_a_one_shot_refresh_runs_in_repeatable_read_after_taking_the_lock(db: Conn, db_url: str) -> None:
    # the engine sees the transaction the CLI opened: record its isolation level from inside
    db.execute("CREATE TABLE public.seen_isolation (level text)")
    db.execute(
        "CREATE FUNCTION public.note_isolation() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN INSERT INTO public.seen_isolation VALUES (current_setting('transaction_isolation'));"
        " RETURN NULL; END $$"
    )
    db.execute(
        "CREATE TRIGGER note_isolation AFTER INSERT ON reports.refresh_log"
        " FOR EACH ROW EXECUTE FUNCTION public.note_isolation()"
    )
    rows = run_refresh(db_url, ["pipeline_open"], False, lambda _line: None)
    assert [(r["view"], r["status"]) for r in rows] == [
        ("pipeline_open", "ok"),
        ("pipeline_open_by_stage", "ok"),
    ]
    assert {r["level"] for r in db.execute("SELECT level FROM public.seen_isolation")} == {"repeatable read"}
    # the session lock was released
    assert db.execute("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'").fetchone() == {"n": 0}


# --------------------------------------------------------------------------- schedule


def test_two_schedulers_never_overlap_and_refresh_every_due_time_once(
    db: Conn, schedulers: Callable[[Schedule], Running]
) -> None:
    every = 1.0
    db.execute("TRUNCATE reports.refresh_log")
    window_start = db_epoch(db)
    first = schedulers(Schedule(every_s=every, threshold=0))
    second = schedulers(Schedule(every_s=every, threshold=0))
    time.sleep(6.5)
    window_end = db_epoch(db)
    assert first.stop() < 3 and second.stop() < 3

    found = runs(db)
    assert found and all(r["statuses"] == ["ok"] for r in found), found
    assert all(r["views"] == summaries_count(db) for r in found)
    # never two at once: each run ends before the next starts
    for earlier, later in itertools.pairwise(found):
        assert earlier["finished"] <= later["started"], (earlier, later)
    # every due time inside the window got exactly one run, started in its own interval
    starts = [r["started"].timestamp() for r in found]
    due_times = [
        slot * every for slot in range(math.ceil(window_start / every) + 1, math.floor(window_end / every))
    ]
    assert len(due_times) >= 4
    for due in due_times:
        inside = [s for s in starts if due <= s < due + every]
        assert len(inside) == 1, (due, starts)
    # both took part: each refreshed or found a due time done by the other
    assert first.scheduler.runs + second.scheduler.runs == len(found)
    done_by_other = [line for r in (first, second) for line in r.lines if "already refreshed" in line]
    assert len(done_by_other) >= len(due_times) - 1


def test_a_refresh_longer_than_the_interval_delays_the_next_one(
    db: Conn, db_url: str, schedulers: Callable[[Schedule], Running]
) -> None:
    db.execute("TRUNCATE reports.refresh_log")
    blocker = connect(db_url)
    try:
        # the refresh stops at clients_created_daily until this transaction ends (3 s > 1 s interval)
        blocker.execute("LOCK TABLE reports.clients_created_daily IN SHARE MODE")
        running = schedulers(Schedule(every_s=1.0, threshold=0))
        wait_for(lambda: refresher_waits(db), 10, "the refresh to block midway")
        time.sleep(3.0)
        blocker.rollback()
        wait_for(lambda: len(runs(db)) >= 2, 10, "a second run")
    finally:
        blocker.close()
    running.stop()
    found = runs(db)
    assert found[0]["finished"].timestamp() - found[0]["started"].timestamp() >= 2.5
    # the blocked due times were not stacked: the next run came once, right after the long one
    assert found[1]["started"] >= found[0]["finished"]
    assert found[1]["started"].timestamp() - found[0]["finished"].timestamp() < 1.0
    assert len(found) <= 4


def test_a_refresher_killed_midway_leaves_nothing_and_the_next_run_catches_up(
    db: Conn, db_url: str, schedulers: Callable[[Schedule], Running]
) -> None:
    # new source rows the summaries must show afterwards
    day = date(2026, 10, 30)
    client = db.execute(
        "INSERT INTO crm.clients (name, owner_id, created_at) SELECT 'scheduler test client', u.id,"
        " %s::date + time '12:00' FROM crm.users AS u ORDER BY u.id LIMIT 1 RETURNING id, owner_id",
        [day],
    ).fetchone()
    assert client is not None
    db.execute(
        "INSERT INTO crm.deals (client_id, owner_id, stage, status, amount, created_at, closed_at)"
        " VALUES (%(c)s, %(o)s, 'won', 'won', 1234.50, %(d)s::date - 20, %(d)s::date + time '13:00')",
        {"c": client["id"], "o": client["owner_id"], "d": day},
    )
    db.execute("TRUNCATE reports.refresh_log")

    blocker = connect(db_url)
    try:
        blocker.execute("LOCK TABLE reports.clients_created_daily IN SHARE MODE")
        running = schedulers(Schedule(every_s=3600.0, threshold=0))

        wait_for(lambda: refresher_waits(db), 10, "the refresh to block midway")
        # five summaries are already rewritten in its transaction: kill it there
        killed = db.execute(
            "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity"
            " WHERE application_name = 'reports scheduler' AND wait_event_type = 'Lock'"
        ).fetchall()
        assert killed == [{"ok": True}]
        time.sleep(0.3)
        assert runs(db) == []  # rolled back whole: not even its journal rows
        blocker.rollback()
    finally:
        blocker.close()

    # the catch-up run first logs the killed one, whose start the scheduler had recorded
    wait_for(lambda: len(runs(db)) == 2, 15, "the catch-up run")
    running.stop()
    assert [r["statuses"] for r in runs(db)] == [["interrupted"], ["ok"]]
    assert any("57P01" in line for line in running.lines), running.lines
    assert running.scheduler.runs == 1

    expected_clients = db.execute(
        "SELECT count(*) AS n FROM crm.clients AS c, reports.settings AS s WHERE s.key = 'timezone'"
        " AND c.deleted_at IS NULL AND c.owner_id = %s AND (c.created_at AT TIME ZONE s.value)::date = %s",
        [client["owner_id"], day],
    ).fetchone()
    got_clients = db.execute(
        "SELECT clients AS n FROM reports.clients_created_daily WHERE owner_id = %s AND day = %s",
        [client["owner_id"], day],
    ).fetchone()
    assert expected_clients is not None and got_clients is not None
    assert got_clients["n"] == expected_clients["n"] >= 1
    won = db.execute(
        "SELECT won_deals, won_amount FROM reports.deal_outcomes_daily"
        " WHERE day = %s AND owner_id = %s AND client_id = %s",
        [day, client["owner_id"], client["id"]],
    ).fetchone()
    assert won == {"won_deals": 1, "won_amount": 1234.50}


def test_stop_cancels_a_running_refresh_at_once(
    db: Conn, db_url: str, schedulers: Callable[[Schedule], Running]
) -> None:
    db.execute("TRUNCATE reports.refresh_log")
    blocker = connect(db_url)
    try:
        blocker.execute("LOCK TABLE reports.clients_created_daily IN SHARE MODE")
        running = schedulers(Schedule(every_s=3600.0, threshold=0))
        wait_for(
            lambda: (
                db.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE application_name = 'reports scheduler'"
                    " AND wait_event_type = 'Lock'"
                ).fetchone()
                is not None
            ),
            10,
            "the refresh to block",
        )
        assert running.stop() < 3
    finally:
        blocker.close()
    assert runs(db) == []
    assert any("cancelled by stop" in line for line in running.lines), running.lines
    assert db.execute("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'").fetchone() == {"n": 0}


# --------------------------------------------------------------------------- threshold


def _install_capture(db: Conn) -> None:
    """Install the change capture (sql/capture/install.sql, what `reports capture install` applies)."""
    install = ROOT / "sql" / "capture" / "install.sql"
    db.execute(install.read_text())  # type: ignore[arg-type]


@pytest.mark.parametrize("notify", ["on", "off"], ids=["notified", "polled"])
def test_many_pending_changes_start_a_refresh_before_the_schedule(
    db: Conn, schedulers: Callable[[Schedule], Running], notify: str
) -> None:
    _install_capture(db)
    # off: the writers send no NOTIFY, the scheduler finds the changes by reading them every min_interval
    db.execute("SELECT set_config('reports.capture_notify', %s, false)", [notify])
    db.execute("TRUNCATE reports.refresh_log")
    running = schedulers(Schedule(every_s=3600.0, threshold=200, min_interval_s=0.5))
    wait_for(lambda: running.scheduler.runs == 1, 15, "the first (due) run")

    # one event per day, going back from %(at)s: as many changed day buckets as rows
    insert_events = (
        "INSERT INTO audit.events (occurred_at, actor_id, service, action, entity_type, entity_id)"
        " SELECT %(at)s - g * interval '1 day', u.id, 'crm', 'deal.updated', 'deal', g::text"
        " FROM generate_series(1, %(n)s) AS g"
        " CROSS JOIN LATERAL (SELECT id FROM crm.users ORDER BY id LIMIT 1) AS u"
    )
    db.execute(insert_events, {"at": datetime(2026, 10, 30, 9), "n": 20})  # below the threshold
    time.sleep(2.0)
    assert running.scheduler.runs == 1

    db.execute(insert_events, {"at": datetime(2026, 10, 30, 10), "n": 500})
    wait_for(lambda: running.scheduler.runs == 2, 10, "the threshold run")
    running.stop()
    assert any(line.startswith("threshold:") for line in running.lines), running.lines
    pending = db.execute("SELECT coalesce(sum(pending), 0) AS n FROM reports.pending_changes()").fetchone()
    assert pending == {"n": 0}


# --------------------------------------------------------------------------- the command line


def test_the_cli_service_stops_cleanly_on_sigterm(db: Conn, db_url: str) -> None:
    env = {**os.environ, "REPORTS_DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reports_cli", "scheduler", "--every", "1s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert "scheduler started" in lines[0] and "refreshed in" in lines[1], lines
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "SIGTERM received: stopping" in out and "scheduler stopped after" in out


def test_the_cli_rejects_wait_with_every_and_a_bad_interval(db_url: str) -> None:
    env = {**os.environ, "REPORTS_DATABASE_URL": db_url}
    both = subprocess.run(
        [sys.executable, "-m", "reports_cli", "refresh", "--every", "5m", "--wait"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert both.returncode == 2 and both.stderr.startswith("error: --wait does not apply")
    bad = subprocess.run(
        [sys.executable, "-m", "reports_cli", "refresh", "--every", "soon"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert bad.returncode == 1 and bad.stderr.strip() == (
        "error: the interval must look like 5m, 30s, 2min, 1h or 500ms (got 'soon')"
    )
