"""The throwaway local cluster behind `reports dev-db` (root-safe, free port, reusable)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from reports_cli import devdb
from reports_cli.dburl import to_libpq
from reports_cli.errors import ReportsError


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reports_cli", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


@pytest.fixture
def workdir() -> Iterator[Path]:
    # not pytest's tmp_path: as root it is private to root, and the cluster runs as `postgres`
    path = Path(tempfile.mkdtemp(prefix="reports-devdb-test-"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        cli("dev-db", "stop", cwd=path)
        subprocess.run(["rm", "-rf", str(path)], check=False)


def test_start_status_url_stop_and_reuse(workdir: Path) -> None:
    started = cli("dev-db", "start", cwd=workdir)
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip().splitlines()[-1]
    assert url.startswith("postgresql://postgres@127.0.0.1:") and url.endswith("/crm?search_path=reports")
    assert (workdir / ".reports-db" / "data" / "PG_VERSION").exists()

    with psycopg.connect(to_libpq(url), autocommit=True) as conn:
        assert conn.execute("SHOW search_path").fetchone() == ("reports",)
        conn.execute("CREATE TABLE public.kept (x int)")
        if os.geteuid() == 0:
            assert conn.execute("SELECT current_setting('data_directory')").fetchone() is not None

    status = cli("dev-db", "status", cwd=workdir)
    assert status.returncode == 0 and "running on port" in status.stdout
    assert cli("dev-db", "url", cwd=workdir).stdout.strip() == url

    stopped = cli("dev-db", "stop", cwd=workdir)
    assert stopped.returncode == 0 and stopped.stdout.strip() == "stopped"
    assert cli("dev-db", "status", cwd=workdir).returncode == 3
    url_when_stopped = cli("dev-db", "url", cwd=workdir)
    assert url_when_stopped.returncode == 3 and url_when_stopped.stderr.startswith("error: ")

    again = cli("dev-db", "start", cwd=workdir)
    assert again.returncode == 0, again.stderr
    with psycopg.connect(to_libpq(again.stdout.strip()), autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('public.kept') IS NOT NULL").fetchone() == (True,)


@pytest.mark.skipif(os.geteuid() != 0, reason="root-only behaviour")
def test_as_root_the_server_runs_as_an_unprivileged_user(workdir: Path) -> None:
    started = cli("dev-db", "start", cwd=workdir)
    assert started.returncode == 0, started.stderr
    pid = int((workdir / ".reports-db" / "data" / "postmaster.pid").read_text().split()[0])
    owner = Path(f"/proc/{pid}").stat().st_uid
    assert owner != 0


def test_missing_postgres_install_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REPORTS_PG_BINDIR", str(tmp_path / "nothing-here"))
    monkeypatch.setattr(devdb.shutil, "which", lambda _name: None)
    monkeypatch.setattr(devdb.glob, "glob", lambda _pattern: [])
    with pytest.raises(ReportsError, match=r"no PostgreSQL server binaries found.*install"):
        devdb.find_bindir()


def test_free_port_is_bindable() -> None:
    port = devdb.free_port()
    assert 1024 < port < 65536
