"""The command line as an operator uses it: sub-commands, console scripts, one-line failures."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import psycopg

from reports_core.dburl import to_libpq

SUBCOMMANDS = ["migrate", "check-sources", "demo-data", "dev-db", "refresh", "docs", "api", "export"]


def run(*args: str, url: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTS_", "CRM_"))}
    if url is not None:
        env["REPORTS_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "reports_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_help_lists_every_subcommand_with_a_description() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    for name in SUBCOMMANDS:
        row = next((line for line in lines if f" {name} " in line), None)
        assert row is not None, f"{name} missing from reports --help"
        assert row.split(name, 1)[1].strip(" │"), f"{name} has no description"


def test_console_scripts_are_declared() -> None:
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts["reports"] == "reports_cli.app:main"
    assert scripts["reports-api"] == "reports_cli.app:serve_api_main"
    assert scripts["reports-refresh-views"] == "reports_cli.app:refresh_main"
    assert scripts["reports-migrate"] == "reports_cli.app:migrate_main"


def test_migrate_refuses_when_the_sources_break_the_contract(contract_db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(to_libpq(contract_db_url), autocommit=True) as conn:
        conn.execute("ALTER TABLE crm.deals DROP COLUMN closed_at")
    proc = run("migrate", url=contract_db_url, cwd=tmp_path)
    assert proc.returncode == 1
    assert "crm.deals.closed_at" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: the CRM sources do not match")
    with psycopg.connect(to_libpq(contract_db_url)) as conn:
        assert conn.execute("SELECT to_regnamespace('reports')").fetchone() == (None,)


def test_missing_schemas_are_named(empty_db_url: str, tmp_path: Path) -> None:
    proc = run("check-sources", url=empty_db_url, cwd=tmp_path)
    assert proc.returncode == 1
    assert "crm: missing schema" in proc.stdout
    assert "audit: missing schema" in proc.stdout


def test_migrate_then_noop_then_timezone_then_refresh(contract_db_url: str, tmp_path: Path) -> None:
    first = run("migrate", url=contract_db_url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "applied versioned/V0001__create_schema.sql" in first.stdout
    second = run("migrate", url=contract_db_url, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "nothing to apply" in second.stdout

    env_tz = {**os.environ, "REPORTS_DATABASE_URL": contract_db_url, "REPORTS_TIMEZONE": "Europe/Berlin"}
    tz = subprocess.run(
        [sys.executable, "-m", "reports_cli", "migrate"],
        capture_output=True,
        text=True,
        env=env_tz,
        cwd=tmp_path,
        check=False,
    )
    assert tz.returncode == 0, tz.stderr
    assert "time zone set to Europe/Berlin" in tz.stdout
    with psycopg.connect(to_libpq(contract_db_url)) as conn:
        assert conn.execute("SELECT reports.timezone()").fetchone() == ("Europe/Berlin",)

    refreshed = run("refresh", url=contract_db_url, cwd=tmp_path)
    assert refreshed.returncode == 0, refreshed.stderr
    assert "deal_outcomes_daily" in refreshed.stdout


def test_refresh_of_an_unknown_view_is_one_line(db_url: str, tmp_path: Path) -> None:
    proc = run("refresh", "--view", "no_such_view", url=db_url, cwd=tmp_path)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "no_such_view" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_failing_view_makes_both_refresh_commands_exit_1_with_one_line(db_url: str, tmp_path: Path) -> None:
    # clients_created_daily's first build writes rows that a CHECK added NOT VALID rejects (23514)
    with psycopg.connect(to_libpq(db_url), autocommit=True) as conn:
        conn.execute(
            "ALTER TABLE reports.clients_created_daily"
            " ADD CONSTRAINT test_fail CHECK (day < '2000-01-01') NOT VALID"
        )
    script = Path(sys.executable).with_name("reports-refresh-views")
    for command in (
        [sys.executable, "-m", "reports_cli", "refresh"],
        [str(script), "--view", "clients_created_daily", "--view", "deal_outcomes_daily"],
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTS_", "CRM_"))}
        env["REPORTS_DATABASE_URL"] = db_url
        proc = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False
        )

        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.splitlines() == [
            "error: refresh failed for clients_created_daily (see reports.refresh_log)"
        ]
        # the summary table names the failed view and what was refreshed anyway
        table = {line.split()[0]: line.split() for line in proc.stdout.splitlines() if line.split()}
        assert "failed" in table["clients_created_daily"]
        assert "ok" in table["deal_outcomes_daily"]
    with psycopg.connect(to_libpq(db_url)) as conn:
        logged = conn.execute(
            "SELECT count(*) FROM reports.refresh_log"
            " WHERE view = 'clients_created_daily' AND status = 'failed'"
        ).fetchone()
    assert logged == (2,)


def test_commands_without_a_database_url_say_how_to_get_one(tmp_path: Path) -> None:
    proc = run("migrate", "status", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: REPORTS_DATABASE_URL is not set")


def test_demo_data_if_empty_keeps_existing_data(empty_db_url: str, tmp_path: Path) -> None:
    first = run("demo-data", "--scale", "1", "--end", "2026-10-31", url=empty_db_url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = run("demo-data", "--scale", "1", url=empty_db_url, cwd=tmp_path)
    assert again.returncode == 1
    assert "--replace" in again.stderr
    kept = run("demo-data", "--scale", "2", "--if-empty", url=empty_db_url, cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert "kept the data already present" in kept.stdout
    with psycopg.connect(to_libpq(empty_db_url)) as conn:
        assert conn.execute("SELECT count(*) FROM crm.deals").fetchone() == (1000,)
