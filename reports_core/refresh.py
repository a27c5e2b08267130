"""``reports refresh`` / ``reports-refresh-views``: a thin client of ``reports.refresh_views``.

All decisions live in SQL (``sql/repeatable/40_refresh/``); this module only calls the engine
and prints what it says. Two functions:

- :func:`run_refresh` ``(url, views, wait, progress) -> list[dict]`` runs
  ``SELECT * FROM reports.refresh_views(views, false)`` (``views=None``: every summary) in one
  REPEATABLE READ transaction, forwards the server's NOTICE and WARNING messages to ``progress``
  as they arrive (one line per finished view, plus warnings about failures and time zone
  rebuilds), and returns the rows: ``view``, ``status`` (``ok``, ``failed``, ``skipped``),
  ``rows``, ``duration_ms``, ``sqlstate``, ``error``. A failed view does not raise (the engine
  logs it and keeps its old contents): the caller decides, e.g. exit non-zero when any row is
  ``failed``. ``wait=False`` gives ``skipped`` rows when another refresh is running;
  ``wait=True`` waits. An unknown view name or an unreachable database raises
  :class:`ReportsError` (one line).
- :func:`format_summary_table` ``(rows) -> str``: those rows as an aligned text table.

The lock comes before the snapshot. An incremental refresh reads the change log, the sources and
the summaries in one REPEATABLE READ snapshot, and that snapshot is taken by the transaction's
first statement. If the refresh lock were taken inside that transaction (as
``refresh_views(views, true)`` does), a refresh waiting for it would work on a snapshot older than
the refresh it waited for. So the lock is taken first, at session level and outside any
transaction (:func:`acquire_refresh_lock`: the same key as ``reports._refresh_lock_key()``, which
a session holding it may take again, so the engine's own transaction-level lock is granted at
once), then the REPEATABLE READ transaction runs the refresh (:func:`refresh_in_snapshot`), then
the lock is released (:func:`release_refresh_lock`). ``reports_cli.scheduler`` uses the same three
steps. The session lock needs a real session: a pooler in transaction mode would break it.
Under the lock the start is recorded in a committed statement of its own, so that a refresh killed
before it commits still shows (``reports.record_refresh_start``), and the refresh transaction runs
under the statement_timeout of ``reports.refresh_limits()`` (docs/architecture.md, "Refresh").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import psycopg

from reports_core.db import connect
from reports_core.errors import ReportsError

__all__ = [
    "REFRESH_LOCK_KEY",
    "acquire_refresh_lock",
    "format_summary_table",
    "refresh_in_snapshot",
    "release_refresh_lock",
    "run_refresh",
]

#: The key of ``reports._refresh_lock_key()`` (which only the SQL engine may call): the ASCII bytes
#: of ``refresh`` read as a big-endian integer. tests/test_scheduler.py checks that they agree.
REFRESH_LOCK_KEY = int.from_bytes(b"refresh", "big")

_REFRESH = (
    "SELECT r.view, r.status, r.rows, r.duration_ms, r.sqlstate, r.error "
    "FROM reports.refresh_views(%(views)s::text[], false) AS r"
)
# A committed record of the start, so that a refresh killed before it commits is still seen.
_RECORD_START = "SELECT reports.record_refresh_start(%(views)s::text[])"
_RECORD_END = "SELECT reports.record_refresh_end()"
# The refresh statement's time limit (a function cannot bound the statement that calls it).
_TIME_LIMIT = "SELECT reports.apply_refresh_statement_timeout()"
_LOCK = "SELECT pg_catalog.pg_advisory_lock(%s)"
_TRY_LOCK = "SELECT pg_catalog.pg_try_advisory_lock(%s) AS acquired"
_UNLOCK = "SELECT pg_catalog.pg_advisory_unlock(%s) AS released"
_COLUMNS = ("view", "status", "rows", "duration_ms", "error")
_RIGHT_ALIGNED = {"rows", "duration_ms"}


def run_refresh(
    url: str, views: Sequence[str] | None, wait: bool, progress: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Refresh ``views`` (None: all) through ``reports.refresh_views``; see the module docstring."""

    def forward(diag: psycopg.errors.Diagnostic) -> None:
        message = diag.message_primary or ""
        severity = (diag.severity_nonlocalized or diag.severity or "").upper()
        progress(message if severity in ("NOTICE", "INFO", "LOG", "") else f"{severity.lower()}: {message}")

    with connect(url, autocommit=True, application_name="reports refresh") as conn:
        conn.add_notice_handler(forward)
        try:
            if not acquire_refresh_lock(conn, wait=wait):
                # Another refresh runs: the engine finds its lock taken and records skipped rows.
                return refresh_in_snapshot(conn, views, locked=False)
            try:
                return refresh_in_snapshot(conn, views)
            finally:
                release_refresh_lock(conn)
        except psycopg.Error as exc:
            raise ReportsError(_one_line(exc)) from None


def acquire_refresh_lock(conn: psycopg.Connection[Any], *, wait: bool) -> bool:
    """Take the refresh lock at session level (``conn`` in autocommit, outside a transaction).

    ``wait=True`` blocks until it is free (subject to ``lock_timeout``) and returns True;
    ``wait=False`` returns at once whether it was free.
    """
    if wait:
        conn.execute(_LOCK, [REFRESH_LOCK_KEY])
        return True
    row = conn.execute(_TRY_LOCK, [REFRESH_LOCK_KEY]).fetchone()
    return bool(row and _first(row))


def release_refresh_lock(conn: psycopg.Connection[Any]) -> None:
    """Release the session-level refresh lock taken by :func:`acquire_refresh_lock`.

    A connection that broke has already lost it (the server releases a session's locks when it
    ends), so a closed connection is left alone.
    """
    if not conn.closed and not conn.broken:
        conn.execute(_UNLOCK, [REFRESH_LOCK_KEY])


def refresh_in_snapshot(
    conn: psycopg.Connection[Any],
    views: Sequence[str] | None,
    *,
    needed: Callable[[psycopg.Connection[Any]], bool] | None = None,
    locked: bool = True,
) -> list[dict[str, Any]]:
    """Run ``reports.refresh_views(views, false)`` in one REPEATABLE READ transaction and commit.

    With the refresh lock held (``locked``), the start is first recorded in a committed statement
    (``reports.record_refresh_start``). The transaction runs under ``reports.refresh_limits()``'s
    statement_timeout. ``needed`` (optional) runs first in the same transaction, so under the same
    snapshot and lock: when it returns False nothing is refreshed and the result is ``[]``.
    """
    views_param = {"views": list(views) if views else None}
    if locked:
        conn.execute(_RECORD_START, views_param)
    previous = conn.isolation_level
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        with conn.transaction():
            conn.execute(_TIME_LIMIT)
            if needed is not None and not needed(conn):
                conn.execute(_RECORD_END)
                return []
            return conn.execute(_REFRESH, views_param).fetchall()
    finally:
        if not conn.closed:
            conn.isolation_level = previous


def format_summary_table(rows: Sequence[dict[str, Any]]) -> str:
    """The refresh result rows as a text table: view, status, rows, duration_ms, error."""
    cells = [[_cell(row.get(column)) for column in _COLUMNS] for row in rows]
    widths = [max([len(column), *(len(line[i]) for line in cells)]) for i, column in enumerate(_COLUMNS)]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(width) if column in _RIGHT_ALIGNED else value.ljust(width)
            for column, value, width in zip(_COLUMNS, values, widths, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(_COLUMNS), rule, *(line(values) for values in cells)])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.1f}"
    return str(value)


def _first(row: Any) -> Any:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def _one_line(exc: psycopg.Error) -> str:
    diag = exc.diag
    message = diag.message_primary or str(exc).strip().splitlines()[0]
    if diag.sqlstate:
        message = f"{message} (SQLSTATE {diag.sqlstate})"
    return f"{message}; {diag.message_hint}" if diag.message_hint else message
