"""``reports refresh`` / ``reports-refresh-views``: a thin client of ``reports.refresh_views``.

All decisions live in SQL (``sql/repeatable/40_refresh/``); this module only calls the engine
and prints what it says. Two functions:

- :func:`run_refresh` ``(url, views, wait, progress) -> list[dict]`` runs
  ``SELECT * FROM reports.refresh_views(views, wait)`` (``views=None``: every summary) in one
  autocommit call, forwards the server's NOTICE and WARNING messages to ``progress`` as they
  arrive (one line per finished view, plus warnings about failures and time zone rebuilds), and
  returns the rows: ``view``, ``status`` (``ok``, ``failed``, ``skipped``), ``rows``,
  ``duration_ms``, ``sqlstate``, ``error``. A failed view does not raise (the engine logs it and
  keeps its old contents): the caller decides, e.g. exit non-zero when any row is ``failed``.
  ``wait=False`` gives ``skipped`` rows when another refresh is running; ``wait=True`` waits.
  An unknown view name or an unreachable database raises :class:`ReportsError` (one line).
- :func:`format_summary_table` ``(rows) -> str``: those rows as an aligned text table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import psycopg

from reports_cli.db import connect
from reports_cli.errors import ReportsError

__all__ = ["format_summary_table", "run_refresh"]

_REFRESH = (
    "SELECT r.view, r.status, r.rows, r.duration_ms, r.sqlstate, r.error "
    "FROM reports.refresh_views(%(views)s::text[], %(wait)s) AS r"
)
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
            return conn.execute(_REFRESH, {"views": list(views) if views else None, "wait": wait}).fetchall()
        except psycopg.Error as exc:
            raise ReportsError(_one_line(exc)) from None


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


def _one_line(exc: psycopg.Error) -> str:
    diag = exc.diag
    message = diag.message_primary or str(exc).strip().splitlines()[0]
    if diag.sqlstate:
        message = f"{message} (SQLSTATE {diag.sqlstate})"
    return f"{message}; {diag.message_hint}" if diag.message_hint else message
