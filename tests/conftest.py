"""Test fixtures: one throwaway PostgreSQL per test session, a fresh database per test.

The server is the one :func:`reports_cli.pgserver.find_server` picks (``REPORTS_PG_SERVER``,
``REPORTS_PG_BINDIR``); its version is printed in the header and at the end of the run, and its
``bin/`` comes first on ``PATH`` so that tests run its own ``psql``. It is started with
:class:`reports_cli.devdb.Cluster` (root-safe: as root it
runs as the ``postgres`` OS user, since pytest-postgresql's own process fixture
calls ``pg_ctl`` as the current user) and handed to pytest-postgresql's ``noproc``
fixtures. Those build template databases once per session and clone a fresh
database from them for every test:

- ``reports_test_tmpl``: source contract + demo data (scale 1, seed 42, fixed end
  date) + every reports migration -> fixtures ``db_url`` / ``db``;
- ``contract_test_tmpl``: source contract + demo data only -> ``contract_db_url``;
- ``empty_db_url``: a brand-new empty database.
"""

from __future__ import annotations

import atexit
import os
import signal
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pytest_postgresql import factories

from reports_cli.devdb import SUPERUSER, Cluster
from reports_cli.pgserver import ServerBinaries, find_server
from reports_core.db import connect

DEMO_SCALE = 1
DEMO_SEED = 42
DEMO_END = date(2026, 10, 31)
SERVER_OPTIONS = ("-c max_connections=200",)


SERVER: ServerBinaries = find_server()
os.environ["PATH"] = f"{SERVER.bindir}{os.pathsep}{os.environ.get('PATH', '')}"


def pytest_report_header() -> str:
    return f"server: {SERVER.describe()}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(f"these tests ran on {SERVER.describe()}")


@dataclass
class PgServer:
    """The session's server, shaped like the executor ``postgresql_noproc(depends_on=...)`` expects."""

    cluster: Cluster
    host: str
    port: int
    user: str = SUPERUSER
    password: str | None = None
    options: str = ""
    maintenance_dbname: str = "postgres"
    template_dbname: str | None = None

    def url(self, dbname: str, *, search_path: str | None = "reports") -> str:
        return self.cluster.url(dbname, search_path=search_path)

    def create_database(self, name: str, template: str | None = None) -> str:
        with psycopg.connect(self.url("postgres", search_path=None), autocommit=True) as conn:
            query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            conn.execute(query)
        return self.url(name)

    def restart(self) -> None:
        """Start the (stopped) server again on the same port, so every fixture URL stays valid."""
        port = self.port
        self.cluster.start(extra_options=SERVER_OPTIONS)
        assert self.cluster.port() == port, f"restarted on port {self.cluster.port()}, not {port}"

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url("postgres", search_path=None), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _interrupt_on_sigterm() -> None:
    """Let a SIGTERM (CI timeout, kill) end the session like Ctrl-C, so the server is stopped."""

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    _interrupt_on_sigterm()
    base = Path(tempfile.mkdtemp(prefix="reports-pytest-"))
    cluster = Cluster(base, dbname="postgres", server=SERVER)
    atexit.register(cluster.destroy)
    cluster.start(extra_options=SERVER_OPTIONS)
    port = cluster.port()
    assert port is not None
    try:
        yield PgServer(cluster=cluster, host="127.0.0.1", port=port)
    finally:
        cluster.destroy()


def _url_from(kwargs: dict[str, Any]) -> str:
    return f"postgresql://{kwargs['user']}@{kwargs['host']}:{kwargs['port']}/{kwargs['dbname']}"


def load_contract_and_demo(**kwargs: Any) -> None:
    """Template loader: the dev source contract and deterministic demo data."""
    from reports_cli.demo import load_demo_data

    load_demo_data(_url_from(kwargs), scale=DEMO_SCALE, seed=DEMO_SEED, end=DEMO_END, progress=lambda _: None)


def load_reports(**kwargs: Any) -> None:
    """Template loader: contract, demo data and every reports migration."""
    from reports_core.migrate import migrate

    load_contract_and_demo(**kwargs)
    migrate(_url_from(kwargs) + "?search_path=reports", progress=lambda _: None)


reports_proc = factories.postgresql_noproc(dbname="reports_test", load=[load_reports], depends_on="pg_server")
reports_conn = factories.postgresql("reports_proc")
contract_proc = factories.postgresql_noproc(
    dbname="contract_test", load=[load_contract_and_demo], depends_on="pg_server"
)
contract_conn = factories.postgresql("contract_proc")


@pytest.fixture
def db_url(reports_conn: psycopg.Connection, pg_server: PgServer) -> str:
    """URL (``?search_path=reports`` form) of this test's own migrated database with demo data."""
    return pg_server.url(reports_conn.info.dbname)


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """Autocommit connection (dict rows) to this test's migrated database."""
    with connect(db_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def contract_db_url(contract_conn: psycopg.Connection, pg_server: PgServer) -> str:
    """URL of this test's own database with the source contract and demo data, no migrations."""
    return pg_server.url(contract_conn.info.dbname)


@pytest.fixture
def empty_db_url(pg_server: PgServer) -> Iterator[str]:
    """URL of a brand-new empty database, dropped after the test."""
    name = f"empty_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name)
    try:
        yield url
    finally:
        pg_server.drop_database(name)
