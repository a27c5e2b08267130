"""PostgreSQL 15 to 18: the version floor, where operators read the version, and the same answers
on two majors for the same data.

An older server cannot run here, so the refusal is seen through the one knob of
``sql/bootstrap/server_version.sql``: ``reports.min_server_version_num``, which can only raise the
floor (set on the test's database, so every new session of every runner sees it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from conftest import DEMO_END, DEMO_SCALE, DEMO_SEED, SERVER, SERVER_OPTIONS
from fastapi.testclient import TestClient
from psycopg import sql
from reference import GRAINS

from reports_cli.devdb import Cluster, free_port
from reports_cli.pgserver import ServerBinaries, embedded_bindir, server_version, system_bindirs
from reports_core.db import connect, require_supported_server
from reports_core.errors import ReportsError
from reports_core.migrate import migrate
from reports_core.paths import PROJECT_ROOT
from reports_core.settings import Settings
from reports_http.app import create_app

Conn = psycopg.Connection[dict[str, Any]]
JWT_SECRET = "a-test-secret-that-is-long-enough-for-hs256"
QUIET = {"progress": lambda _line: None}


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), capture_output=True, text=True, env=env, timeout=timeout, check=False, cwd=PROJECT_ROOT
    )


def cli_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "REPORTS_DATABASE_URL": url,
        "CRM_DATABASE_URL": url,
        "REPORTS_JWT_SECRET": JWT_SECRET,
    }


def shown_version(url: str) -> str:
    with connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('server_version') AS v").fetchone()
    assert row is not None
    return str(row["v"])


def raise_floor(url: str) -> str:
    """Make the next major the floor of ``url``'s database; the refusal every runner must print."""
    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_database() AS db, current_setting('server_version_num')::int / 10000 AS major"
        ).fetchone()
        assert row is not None
        floor = (row["major"] + 1) * 10000
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET reports.min_server_version_num = {}").format(
                sql.Identifier(row["db"]), sql.Literal(str(floor))
            )
        )
    found = shown_version(url)
    return f"PostgreSQL {found} is not supported: reports needs PostgreSQL {row['major'] + 1} or later"


def has_reports_schema(url: str) -> bool:
    with connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT to_regnamespace('reports') IS NOT NULL AS e").fetchone()
    return bool(row and row["e"])


# -- the floor -------------------------------------------------------------------------------------
def test_both_migration_runners_refuse_a_server_below_the_floor_and_apply_nothing(
    contract_db_url: str,
) -> None:
    refusal = raise_floor(contract_db_url)
    for dry_run in (False, True):
        with pytest.raises(ReportsError) as caught:
            migrate(contract_db_url, dry_run=dry_run, **QUIET)
        assert str(caught.value) == refusal

    env = cli_env(contract_db_url)
    for command in (
        [sys.executable, "-m", "reports_cli", "migrate"],
        [sys.executable, "-m", "reports_cli", "migrate", "--dry-run"],
    ):
        out = run(*command, env=env)
        assert (out.returncode, out.stderr) == (1, f"error: {refusal}\n"), command
    for flags in ([], ["--dry-run"]):
        out = run("bash", str(PROJECT_ROOT / "scripts" / "migrate-local.sh"), *flags, env=env)
        assert out.returncode == 1, out.stdout + out.stderr
        assert out.stderr == f"error: {refusal}\n"
        assert out.stdout == ""
    assert not has_reports_schema(contract_db_url), "nothing was applied"


def test_the_floor_setting_cannot_admit_an_older_server(db_url: str) -> None:
    """The knob only raises the floor: the check's own block, fed 14.9's version number instead of the
    server's, refuses it with the knob at 9.0; the supported server passes with the knob low and is
    refused with it above."""
    check = (PROJECT_ROOT / "sql" / "bootstrap" / "server_version.sql").read_text()
    as_if_14 = check.replace("pg_catalog.current_setting('server_version_num')::integer", "140009")
    assert as_if_14 != check, "the check reads server_version_num"
    with connect(db_url, autocommit=True) as conn:
        conn.execute("SET reports.min_server_version_num = '90000'")
        with pytest.raises(psycopg.errors.FeatureNotSupported) as caught:
            conn.execute(as_if_14)  # type: ignore[call-overload]
        assert caught.value.diag.message_primary is not None
        assert caught.value.diag.message_primary.endswith("reports needs PostgreSQL 15 or later")
        assert (
            caught.value.diag.message_detail == "server_version_num is 140009, the oldest supported is 150000"
        )
        assert require_supported_server(conn) == f"PostgreSQL {shown_version(db_url)}"
        conn.execute("SET reports.min_server_version_num = '990000'")
        with pytest.raises(ReportsError, match=r"reports needs PostgreSQL 99 or later$"):
            require_supported_server(conn)


def test_reports_api_stops_at_start_up_below_the_floor_and_is_not_ready(db_url: str) -> None:
    refusal = raise_floor(db_url)
    env = {**cli_env(db_url), "REPORTS_PORT": str(free_port())}
    out = run(sys.executable, "-m", "reports_cli", "api", env=env, timeout=60)
    assert (out.returncode, out.stderr.splitlines()) == (1, [f"error: {refusal}"])

    client = TestClient(create_app(Settings(database_url=db_url, jwt_secret=JWT_SECRET)))
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "reason": refusal, "server": None}


# -- where the version shows ----------------------------------------------------------------------
def test_ready_names_the_server_version(db_url: str) -> None:
    client = TestClient(create_app(Settings(database_url=db_url, jwt_secret=JWT_SECRET)))
    with client:
        response = client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json()["server"] == f"PostgreSQL {shown_version(db_url)}"


def test_version_option_prints_the_package_and_the_server(db_url: str) -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    out = run(sys.executable, "-m", "reports_cli", "--version", env=cli_env(db_url))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"reports {project['version']}",
        f"database: PostgreSQL {shown_version(db_url)} at {db_url}",
    ]


def test_version_option_without_a_reachable_database_still_prints_the_package() -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/crm?search_path=reports"
    out = run(sys.executable, "-m", "reports_cli", "--version", env=cli_env(url))
    lines = out.stdout.splitlines()
    assert out.returncode == 0 and lines[0].startswith("reports ")
    assert lines[1].startswith(f"database: cannot connect to {url}")


# -- the same answers on another major ----------------------------------------------------------------
def other_major() -> ServerBinaries | None:
    """Server binaries of another major than the session's, when this machine has some."""
    candidates = [(d, "system") for d in system_bindirs(os.environ, ("/usr/lib/postgresql/*/bin",))]
    if (wheel := embedded_bindir()) is not None:
        candidates.append((wheel, "embedded"))
    for bindir, source in candidates:
        binaries = ServerBinaries(bindir, source, server_version(bindir))
        if binaries.major != SERVER.major:
            return binaries
    return None


OTHER = other_major()


@pytest.fixture(scope="module")
def other_url() -> Iterator[str]:
    """A migrated, refreshed database with the same demo data on the other major's cluster."""
    if OTHER is None:
        pytest.skip(f"no PostgreSQL major other than {SERVER.major} on this machine to compare with")
    from reports_cli.demo import load_demo_data

    base = Path(tempfile.mkdtemp(prefix="reports-other-major-"))
    os.chmod(base, 0o755)  # as root the cluster runs as another OS user
    cluster = Cluster(base / "cluster", dbname="crm", server=OTHER)
    try:
        url = cluster.start(extra_options=SERVER_OPTIONS)
        load_demo_data(
            url.split("?")[0], scale=DEMO_SCALE, seed=DEMO_SEED, end=DEMO_END, progress=lambda _line: None
        )
        migrate(url, **QUIET)
        refresh(url)
        yield url
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


def refresh(url: str) -> None:
    with connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT view, status FROM reports.refresh_all()").fetchall()
    assert rows and all(r["status"] == "ok" for r in rows), rows


SOURCES = """
SELECT c.oid::regclass::text AS name FROM pg_class AS c
WHERE c.relnamespace IN ('crm'::regnamespace, 'audit'::regnamespace) AND c.relkind IN ('r', 'p')
ORDER BY 1
"""


def source_digests(conn: Conn) -> dict[str, str]:
    digests = {}
    for row in conn.execute(SOURCES).fetchall():
        table = sql.SQL(".").join(sql.Identifier(part) for part in row["name"].split("."))
        query = sql.SQL(
            "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS d FROM {} AS t"
        )
        digest = conn.execute(query.format(table)).fetchone()
        assert digest is not None
        digests[row["name"]] = digest["d"]
    return digests


# at most 1,000 days: a day grain allows 1,000 periods
RANGES = ((date(2023, 11, 1), date(2026, 6, 30)), (date(2024, 2, 14), date(2025, 8, 20)))


def options_of(owner_id: int) -> dict[str, list[Any]]:
    return {
        "p_grain": list(GRAINS),
        "p_limit": [None, 3],
        "p_owner_id": [None, owner_id],
        "p_as_of": [None, date(2025, 12, 31)],
    }


def calls(catalog: list[dict[str, Any]], owner_id: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every report of the catalog with parameter sets over its parameters: two ranges, every grain,
    the default and a small limit, no owner and one owner, two as-of days."""
    for entry in catalog:
        names = {p["name"] for p in entry["parameters"]}
        variants: list[dict[str, Any]] = [{}]
        if {"p_from", "p_to"} <= names:
            variants = [{"p_from": f, "p_to": t} for f, t in RANGES]
        for name, options in options_of(owner_id).items():
            if name in names:
                variants = [{**v, name: o} for v in variants for o in options]
        for params in variants:
            yield entry["name"], {k: v for k, v in params.items() if v is not None}


def answer(conn: Conn, report: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    args = sql.SQL(", ").join(
        sql.SQL("{} => {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in params
    )
    return conn.execute(
        sql.SQL("SELECT * FROM reports.{}({})").format(sql.Identifier(report), args), params
    ).fetchall()


def test_every_report_answers_the_same_on_the_other_major(db_url: str, other_url: str) -> None:
    refresh(db_url)
    with connect(db_url, autocommit=True) as here, connect(other_url, autocommit=True) as there:
        majors = [int(c.info.server_version) // 10000 for c in (here, there)]
        assert majors[0] != majors[1], majors
        assert source_digests(here) == source_digests(there), "the same demo data on both"
        catalog_query = (
            "SELECT name, comment, parameters, columns, summaries, problem FROM reports.api_catalog()"
        )
        catalog = here.execute(catalog_query + " ORDER BY name").fetchall()
        assert catalog == there.execute(catalog_query + " ORDER BY name").fetchall()
        assert len(catalog) >= 11 and all(entry["problem"] is None for entry in catalog)
        owner = here.execute(
            "SELECT owner_id FROM crm.deals GROUP BY owner_id ORDER BY count(*) DESC, owner_id LIMIT 1"
        ).fetchone()
        assert owner is not None
        with_rows: set[str] = set()
        for report, params in calls(catalog, owner["owner_id"]):
            rows = answer(here, report, params)
            assert rows == answer(there, report, params), f"{report}({params}) on {majors}"
            with_rows |= {report} if rows else set()
        assert with_rows == {entry["name"] for entry in catalog}, "every report has rows to compare"


# -- make run without a system server -----------------------------------------------------------------
@pytest.mark.slow
def test_make_run_reaches_ready_on_the_embedded_server() -> None:
    """``make run`` where no system server is used (``REPORTS_PG_SERVER=embedded``, the lookup's own switch):
    it starts a cluster of the wheel's PostgreSQL 18, loads demo data, serves, and stops on Ctrl-C."""
    base = Path(tempfile.mkdtemp(prefix="reports-make-run-"))
    os.chmod(base, 0o755)  # as root the cluster runs as another OS user
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTS_", "CRM_"))}
    env |= {
        "REPORTS_PG_SERVER": "embedded",
        "REPORTS_DEVDB_DIR": str(base / "db"),
        "REPORTS_PORT": str(port),
        "REPORTS_DEMO_SCALE": "1",
        "REPORTS_RUN_NO_INSTALL": "1",  # make test installed it; a second pytest may be importing from .venv
    }
    log = base / "make-run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        ready: httpx.Response | None = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        output = log.read_text()
        assert ready is not None and ready.status_code == 200, output
        wheel = embedded_bindir()
        assert wheel is not None
        assert ready.json()["server"] == f"PostgreSQL {server_version(wheel)}"
        first = output.splitlines()[0]
        announced = (
            f"make run: local cluster in {base / 'db'}/ on PostgreSQL {server_version(wheel)} (embedded, "
        )
        assert first.startswith(announced), output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        finally:
            subprocess.run(
                [sys.executable, "-m", "reports_cli", "dev-db", "stop", "--dir", str(base / "db")],
                env=env,
                capture_output=True,
                check=False,
            )
    try:
        output = log.read_text()
        assert "local cluster stopped" in output, output
        assert not (base / "db" / "data" / "postmaster.pid").exists(), "the cluster was stopped"
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)
