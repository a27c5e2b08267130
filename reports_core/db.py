"""Connections to the reports database and to the CRM sources."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import pq
from psycopg.rows import dict_row

from reports_core.dburl import redact, to_libpq
from reports_core.errors import ReportsError


def connect(
    url: str, *, autocommit: bool = False, application_name: str = "reports", **kwargs: Any
) -> psycopg.Connection[dict[str, Any]]:
    """Open a connection (rows as dicts) to ``url``, accepting the ``?search_path=`` form."""
    try:
        return psycopg.connect(
            to_libpq(url),
            autocommit=autocommit,
            row_factory=dict_row,
            application_name=application_name,
            **kwargs,
        )
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ReportsError(f"cannot connect to {redact(url)}: {reason}") from None


#: Run by the migration runners and reports-api before anything else (``psql -f`` runs it too).
SERVER_VERSION_CHECK = "bootstrap/server_version.sql"


def server_version(conn: psycopg.Connection[Any]) -> str:
    """The server's version as an operator reads it, e.g. ``PostgreSQL 18.6``."""
    return f"PostgreSQL {conn.info.parameter_status('server_version') or conn.info.server_version}"


def require_supported_server(conn: psycopg.Connection[Any]) -> str:
    """:func:`server_version`, or :class:`ReportsError` (one line) when the server is older than supported.

    The rule is ``sql/bootstrap/server_version.sql``, the same file ``scripts/migrate-local.sh`` runs.
    """
    from reports_core.paths import sql_dir

    check = sql_dir() / SERVER_VERSION_CHECK
    if not check.is_file():
        raise ReportsError(f"{check} is missing")
    began = not conn.autocommit and conn.info.transaction_status == pq.TransactionStatus.IDLE
    try:
        conn.execute(check.read_text())  # type: ignore[arg-type]
    except psycopg.errors.FeatureNotSupported as exc:
        raise ReportsError(exc.diag.message_primary or str(exc)) from None
    except psycopg.Error as exc:
        reason = (exc.diag.message_primary or str(exc) or type(exc).__name__).strip().splitlines()[0]
        raise ReportsError(f"cannot check the server version: {reason}") from None
    finally:
        if began and not conn.closed:
            conn.rollback()  # only the transaction the check itself opened
    return server_version(conn)
