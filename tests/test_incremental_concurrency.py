"""Acceptance 2 (and the kill safety of acceptance 4): no change is lost under concurrent writers.

Several writer threads, each on its own connection, change the sources in transactions held open for
random short times, while a refresher loops (alternating the two supported ways to call it: the CLI's
REPEATABLE READ snapshot taken under the session-level lock, and a plain READ COMMITTED
``refresh_all``). After the writers stop and one final refresh, ``reports.verify()`` and an
independent EXCEPT ALL comparison must find nothing, for every seed.

The same test against a deliberately broken capture (a test-only variant of the audit.events trigger
that deduplicates the log with a unique key and ON CONFLICT DO NOTHING, the design the issue shows
losing changes) must find a lost change in at least one seed: proof that the test can fail.

Finally a refresher killed (pg_terminate_backend) in the middle of a refresh leaves the summaries,
the change log and the invalid days as they were, and the next refresh catches up.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from capture_support import Conn, expected_differences, install_capture, quiet, refresh, verify_rows

from reports_core.db import connect
from reports_core.refresh import run_refresh

SEEDS = (1, 2, 3)
BROKEN_SEEDS = range(1, 11)
WRITERS = 4
REFRESHES = 20  # the writers stop once the refresher ran this often (and wrote this many transactions each)
MAX_SECONDS = 30
# The writers collide on a few hot days, which move on every ROUND_SECONDS: a bucket whose change was
# lost is not touched again afterwards (which would have it refreshed anyway and hide the loss).
HOT_DAYS = 3
ROUND_SECONDS = 0.05

# The broken design: one log row per (table, old day, new day), deduplicated. A writer whose entry
# already exists skips its insert; if a refresh consumes that entry before the writer commits, the
# writer's change is never refreshed.
BROKEN_CAPTURE = """
CREATE UNIQUE INDEX change_log_dedup_test
ON reports.change_log (source_table, old_created_at, new_created_at)
NULLS NOT DISTINCT WHERE source_table = 'audit.events';

CREATE OR REPLACE FUNCTION reports._capture_events()
RETURNS trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = reports, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO reports.change_log (source_table, operation, new_created_at)
        SELECT DISTINCT 'audit.events', 'INSERT', date_trunc('day', n.occurred_at, 'UTC') FROM new_rows AS n
        ON CONFLICT (source_table, old_created_at, new_created_at)
            WHERE source_table = 'audit.events' DO NOTHING;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO reports.change_log (source_table, operation, old_created_at)
        SELECT DISTINCT 'audit.events', 'DELETE', date_trunc('day', o.occurred_at, 'UTC') FROM old_rows AS o
        ON CONFLICT (source_table, old_created_at, new_created_at)
            WHERE source_table = 'audit.events' DO NOTHING;
    ELSE
        INSERT INTO reports.change_log (source_table, operation, old_created_at, new_created_at)
        SELECT DISTINCT 'audit.events', 'UPDATE', date_trunc('day', o.occurred_at, 'UTC'),
            date_trunc('day', n.occurred_at, 'UTC')
        FROM old_rows AS o JOIN new_rows AS n ON o.id = n.id
        ON CONFLICT (source_table, old_created_at, new_created_at)
            WHERE source_table = 'audit.events' DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
"""


@pytest.fixture
def captured_url(db: Conn, db_url: str) -> str:
    install_capture(db_url)
    refresh(db)
    return db_url


# --------------------------------------------------------------------------- the workload


def write_one(conn: Conn, rng: random.Random, started: float) -> None:
    """One random change; most of them on audit.events in the hot days of the current round."""
    kind = rng.choice(
        ["event_insert", "event_insert", "event_move", "event_delete", "deal", "payment", "client"]
    )
    round_no = int((time.monotonic() - started) / ROUND_SECONDS)
    day = (date(2026, 1, 1) + timedelta(days=round_no * HOT_DAYS + rng.randrange(HOT_DAYS))).isoformat()
    if kind == "event_insert":
        conn.execute(
            "INSERT INTO audit.events (occurred_at, actor_id, service, action)"
            " VALUES (%s::date + make_interval(mins => %s), (SELECT min(id) FROM crm.users), 'crm', 'load')",
            [day, rng.randrange(1440)],
        )
    elif kind == "event_move":
        conn.execute(
            "UPDATE audit.events SET occurred_at = %s::date + make_interval(mins => %s)"
            " WHERE id = (SELECT id FROM audit.events ORDER BY id DESC OFFSET %s LIMIT 1)",
            [day, rng.randrange(1440), rng.randrange(60)],
        )
    elif kind == "event_delete":
        conn.execute(
            "DELETE FROM audit.events WHERE id = (SELECT id FROM audit.events"
            " WHERE occurred_at >= %s::date AND occurred_at < %s::date + 1 ORDER BY id OFFSET %s LIMIT 1)",
            [day, day, rng.randrange(5)],
        )
    elif kind == "deal":
        conn.execute(
            "UPDATE crm.deals SET closed_at = closed_at + make_interval(hours => %s),"
            " amount = amount + 1"
            " WHERE id = (SELECT id FROM crm.deals WHERE closed_at IS NOT NULL"
            " ORDER BY id OFFSET %s LIMIT 1)",
            [rng.choice([-30, -5, 5, 30]), rng.randrange(50)],
        )
    elif kind == "payment":
        conn.execute(
            "UPDATE crm.payments SET paid_at = coalesce(paid_at, created_at) + make_interval(hours => %s)"
            " WHERE id = (SELECT id FROM crm.payments ORDER BY id OFFSET %s LIMIT 1)",
            [rng.choice([-20, 7, 20]), rng.randrange(50)],
        )
    else:
        conn.execute(
            "UPDATE crm.clients SET deleted_at = CASE WHEN deleted_at IS NULL THEN now() END,"
            " owner_id = (SELECT id FROM crm.users ORDER BY id OFFSET %s LIMIT 1)"
            " WHERE id = (SELECT id FROM crm.clients ORDER BY id OFFSET %s LIMIT 1)",
            [rng.randrange(10), rng.randrange(30)],
        )


def writer(
    url: str, seed: int, started: float, stop: threading.Event, errors: list[BaseException], done: list[int]
) -> None:
    rng = random.Random(seed)
    try:
        with connect(url) as conn:
            while not stop.is_set():
                try:
                    for _ in range(rng.randint(1, 3)):
                        write_one(conn, rng, started)
                    time.sleep(rng.uniform(0.005, 0.05))  # the transaction stays open meanwhile
                    if rng.random() < 0.1:
                        conn.rollback()
                    else:
                        conn.commit()
                        done.append(1)
                except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                    conn.rollback()
    except BaseException as exc:  # surfaced by the test
        errors.append(exc)


def refresher(
    url: str, seed: int, stop: threading.Event, errors: list[BaseException], runs: list[str]
) -> None:
    rng = random.Random(seed)
    try:
        with connect(url, autocommit=True) as conn:
            while not stop.is_set():
                if rng.random() < 0.5:  # the CLI: session lock, then one REPEATABLE READ snapshot
                    rows = run_refresh(url, None, True, quiet)
                    runs.append("repeatable read")
                else:  # pg_cron, psql: READ COMMITTED
                    rows = conn.execute("SELECT * FROM reports.refresh_all(true)").fetchall()
                    runs.append("read committed")
                assert {r["status"] for r in rows} == {"ok"}, rows
                time.sleep(rng.uniform(0, 0.005))
    except BaseException as exc:
        errors.append(exc)


def run_workload(url: str, seed: int) -> list[str]:
    """Writers and a refresher until the refresher ran REFRESHES times (at most MAX_SECONDS)."""
    stop = threading.Event()
    errors: list[BaseException] = []
    runs: list[str] = []
    commits: list[int] = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=writer, args=(url, seed * 100 + i, started, stop, errors, commits))
        for i in range(WRITERS)
    ]
    threads.append(threading.Thread(target=refresher, args=(url, seed, stop, errors, runs)))
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + MAX_SECONDS
    while (len(runs) < REFRESHES or len(commits) < REFRESHES * WRITERS) and time.monotonic() < deadline:
        if errors:
            break
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return runs


def lost_changes(url: str) -> list[dict[str, Any]]:
    """After the final refresh: the buckets where a summary differs from a full recompute."""
    with connect(url, autocommit=True) as conn:
        refresh(conn)
        rows = verify_rows(conn)
        assert bool(rows) == bool(expected_differences(conn)), (
            "verify() and the test's own comparison disagree"
        )
        assert conn.execute("SELECT count(*) AS n FROM reports.change_log").fetchone() == {"n": 0}
        return rows


@pytest.fixture
def seeded_db(pg_server: Any, reports_proc: Any) -> Iterator[Callable[[], str]]:
    """Fresh databases (capture installed, refreshed) on demand, dropped afterwards."""
    names: list[str] = []

    def create() -> str:
        name = f"incremental_conc_{uuid.uuid4().hex[:10]}"
        names.append(name)
        url = pg_server.create_database(name, template=reports_proc.template_dbname)
        install_capture(url)
        with connect(url, autocommit=True) as conn:
            refresh(conn)
        return url

    yield create
    for name in names:
        pg_server.drop_database(name)


@pytest.mark.parametrize("seed", SEEDS)
def test_no_change_is_lost_under_concurrent_writers(seeded_db: Callable[[], str], seed: int) -> None:
    url = seeded_db()
    runs = run_workload(url, seed)

    assert len(runs) >= REFRESHES and set(runs) == {"repeatable read", "read committed"}
    with connect(url, autocommit=True) as conn:
        modes = {r["mode"] for r in conn.execute("SELECT mode FROM reports.refresh_log WHERE status = 'ok'")}
        assert "incremental" in modes
        captured = conn.execute("SELECT count(*) AS n FROM reports.refresh_log").fetchone()
        assert captured is not None and captured["n"] > 0
    assert lost_changes(url) == []


def test_the_same_test_catches_the_deduplicated_log_losing_changes(seeded_db: Callable[[], str]) -> None:
    """A loss needs a collision, a refresh between two commits and no later change of that day: about
    one seed in two shows one, so up to BROKEN_SEEDS seeds are tried (all of them missing: < 0.1%)."""
    for seed in BROKEN_SEEDS:
        url = seeded_db()
        with connect(url, autocommit=True) as conn:
            conn.execute(BROKEN_CAPTURE)
        run_workload(url, seed)
        lost = lost_changes(url)
        if lost:
            assert {r["view"] for r in lost} == {"audit_activity_daily"}
            return
    pytest.fail("the broken (deduplicated) capture lost nothing in any seed: the test cannot tell")


# --------------------------------------------------------------------------- a refresher killed midway


def waiting_for_a_lock(conn: Conn, pid: int) -> bool:
    row = conn.execute(
        "SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = %s", [pid]
    ).fetchone()
    return bool(row and row["waiting"])


@pytest.mark.parametrize("isolation", ["read committed", "repeatable read"])
def test_a_refresher_killed_midway_leaves_everything_consistent(
    captured_url: str, db: Conn, isolation: str
) -> None:
    deal = db.execute(
        "SELECT d.id, d.owner_id, (d.created_at AT TIME ZONE 'UTC')::date AS day FROM crm.deals AS d"
        " WHERE d.deleted_at IS NULL AND EXISTS (SELECT FROM reports.stage_funnel_daily AS f"
        "  WHERE f.created_day = (d.created_at AT TIME ZONE 'UTC')::date AND f.owner_id = d.owner_id)"
        " ORDER BY d.id LIMIT 1"
    ).fetchone()
    assert deal is not None
    db.execute("UPDATE crm.deals SET owner_id = (SELECT max(id) FROM crm.users) WHERE id = %s", [deal["id"]])
    db.execute("UPDATE audit.events SET action = 'x' WHERE id = (SELECT min(id) FROM audit.events)")
    before = {
        "log": db.execute("SELECT count(*) AS n FROM reports.change_log").fetchone(),
        "invalid": db.execute("SELECT count(*) AS n FROM reports.invalid_days").fetchone(),
        "state": db.execute(
            "SELECT name, refreshed_at, generation, rows FROM reports.summaries ORDER BY 1"
        ).fetchall(),
        "refresh_log": db.execute("SELECT count(*) AS n FROM reports.refresh_log").fetchone(),
        "verify": verify_rows(db),
    }
    assert before["log"] == {"n": 2} and before["verify"]

    # Another session holds a row that the refresh must rewrite: the refresh stops there, midway.
    with connect(captured_url) as blocker:
        blocker.execute(
            "SELECT 1 FROM reports.stage_funnel_daily WHERE created_day = %s AND owner_id = %s FOR UPDATE",
            [deal["day"], deal["owner_id"]],
        )
        victim = connect(captured_url, autocommit=True)
        pid = victim.info.backend_pid
        failure: list[BaseException] = []

        def run() -> None:
            try:
                if isolation == "repeatable read":
                    victim.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                    with victim.transaction():
                        victim.execute("SELECT * FROM reports.refresh_views(NULL, true)").fetchall()
                else:
                    victim.execute("SELECT * FROM reports.refresh_all(true)").fetchall()
            except BaseException as exc:
                failure.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 10
        while not waiting_for_a_lock(db, pid):
            assert time.monotonic() < deadline, "the refresh never reached the locked row"
            time.sleep(0.02)
        # It has absorbed the log and refreshed the summaries before stage_funnel_daily by now.
        assert db.execute("SELECT pg_terminate_backend(%s) AS ok", [pid]).fetchone() == {"ok": True}
        thread.join(10)
        victim.close()
        blocker.rollback()
    assert failure and isinstance(failure[0], psycopg.OperationalError)

    after = {
        "log": db.execute("SELECT count(*) AS n FROM reports.change_log").fetchone(),
        "invalid": db.execute("SELECT count(*) AS n FROM reports.invalid_days").fetchone(),
        "state": db.execute(
            "SELECT name, refreshed_at, generation, rows FROM reports.summaries ORDER BY 1"
        ).fetchall(),
        "refresh_log": db.execute("SELECT count(*) AS n FROM reports.refresh_log").fetchone(),
        "verify": verify_rows(db),
    }
    assert after == before  # all or nothing: the killed refresh left no trace

    refresh(db)
    assert verify_rows(db) == [] and expected_differences(db) == {}
