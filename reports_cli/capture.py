"""Change capture and incremental refresh from the command line: thin clients of the SQL.

- :func:`install` / :func:`uninstall` apply ``sql/capture/install.sql`` (statement-level triggers),
  ``install_row_level.sql`` (``row_level=True``: for a logical replication subscriber) or
  ``uninstall.sql`` in one transaction: the same files a DBA reviews and runs with ``psql -f``
  (docs/capture.md). They need a role that may create triggers on the crm/audit tables (``GRANT
  TRIGGER``) and, to drop them or ``ENABLE ALWAYS`` them, the owner of those tables.
- :func:`status` returns ``reports.capture_status()``; :func:`format_status` prints it.
- :func:`verify` returns ``reports.verify(views)``: the buckets where a summary differs from a full
  recompute (none when they are equal).
- :func:`run_rebuild` runs ``reports.rebuild(views)`` like ``reports refresh`` runs a refresh: the
  refresh lock first (session level), then one REPEATABLE READ transaction (see
  :mod:`reports_core.refresh`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, LiteralString

import psycopg

from reports_core.db import connect
from reports_core.errors import ReportsError
from reports_core.paths import sql_dir
from reports_core.refresh import acquire_refresh_lock, release_refresh_lock

__all__ = ["format_status", "install", "run_rebuild", "status", "uninstall", "verify"]

INSTALL_FILES = {False: "install.sql", True: "install_row_level.sql"}
UNINSTALL_FILE = "uninstall.sql"

_STATUS = (
    "SELECT s.source_table, s.event, s.trigger_name, s.level, s.enabled, s.trigger_function"
    " FROM reports.capture_status() AS s"
)
_VERIFY = "SELECT v.view, v.bucket, v.missing_rows, v.extra_rows FROM reports.verify(%(views)s::text[]) AS v"
_REBUILD = (
    "SELECT r.view, r.status, r.rows, r.duration_ms, r.sqlstate, r.error"
    " FROM reports.rebuild(%(views)s::text[], false) AS r"
)
_PRIVILEGE_HINT = (
    "installing needs TRIGGER on the crm/audit tables (GRANT TRIGGER ON ... TO <role>, by their owner) and "
    "EXECUTE on the reports._capture_* functions; uninstalling and ENABLE ALWAYS need the owner of the "
    "tables or a superuser (see docs/capture.md)"
)

Progress = Callable[[str], None]


def install(url: str, *, row_level: bool = False, progress: Progress) -> list[dict[str, Any]]:
    """Install (or switch to) the statement-level or row-level capture; returns the new status."""
    _apply(url, INSTALL_FILES[row_level], progress)
    return status(url)


def uninstall(url: str, *, progress: Progress) -> list[dict[str, Any]]:
    """Drop every capture trigger; returns the new status (every trigger absent)."""
    _apply(url, UNINSTALL_FILE, progress)
    return status(url)


def status(url: str) -> list[dict[str, Any]]:
    """One row per source table and event: its capture trigger, level and enabled state (or None)."""
    with connect(url, autocommit=True, application_name="reports capture") as conn:
        return _fetch(conn, _STATUS, {})


def format_status(rows: Sequence[dict[str, Any]]) -> str:
    """The status as a table, and a last line naming the tables whose capture is incomplete."""
    columns = ("source_table", "event", "trigger_name", "level", "enabled")
    cells = [[str(row[c]) if row[c] is not None else "-" for c in columns] for row in rows]
    widths = [max([len(c), *(len(line[i]) for line in cells)]) for i, c in enumerate(columns)]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()
        for values in [list(columns), ["-" * w for w in widths], *cells]
    ]
    incomplete = sorted(
        {row["source_table"] for row in rows if row["trigger_name"] is None or row["enabled"] == "disabled"}
    )
    tables = sorted({row["source_table"] for row in rows})
    if not incomplete:
        lines.append(f"capture installed on all {len(tables)} source tables: summaries refresh incrementally")
    else:
        lines.append(
            f"capture incomplete on {', '.join(incomplete)}: the summaries reading them refresh in full"
        )
    return "\n".join(lines)


def verify(url: str, views: Sequence[str] | None) -> list[dict[str, Any]]:
    """The (view, bucket, missing_rows, extra_rows) where a summary differs from a full recompute."""
    with connect(url, autocommit=True, application_name="reports verify") as conn:
        return _fetch(conn, _VERIFY, {"views": list(views) if views else None})


def run_rebuild(
    url: str, views: Sequence[str] | None, wait: bool, progress: Progress
) -> list[dict[str, Any]]:
    """``reports.rebuild(views)`` under the refresh lock, in one REPEATABLE READ snapshot."""
    with connect(url, autocommit=True, application_name="reports rebuild") as conn:
        conn.add_notice_handler(_forward(progress))
        try:
            # Not acquired: another refresh runs, and the engine records skipped rows.
            acquired = acquire_refresh_lock(conn, wait=wait)
            try:
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                with conn.transaction():
                    return conn.execute(_REBUILD, {"views": list(views) if views else None}).fetchall()
            finally:
                if not conn.closed:
                    conn.isolation_level = None
                if acquired:
                    release_refresh_lock(conn)
        except psycopg.Error as exc:
            raise ReportsError(_one_line(exc)) from None


def _apply(url: str, name: str, progress: Progress) -> None:
    path = sql_dir() / "capture" / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportsError(f"cannot read {path}: {exc.strerror}") from None
    with connect(url, application_name="reports capture") as conn:
        conn.add_notice_handler(_forward(progress))
        try:
            conn.execute(text.encode("utf-8"), prepare=False)  # several statements: one simple query
            conn.commit()
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ReportsError(f"capture/{name}: {_one_line(exc)}; {_PRIVILEGE_HINT}") from None
        except psycopg.Error as exc:
            raise ReportsError(f"capture/{name}: {_one_line(exc)} (rolled back: nothing changed)") from None
    progress(f"applied sql/capture/{name}")


def _fetch(
    conn: psycopg.Connection[dict[str, Any]], query: LiteralString, params: dict[str, Any]
) -> list[dict[str, Any]]:
    try:
        return conn.execute(query, params).fetchall()
    except psycopg.Error as exc:
        raise ReportsError(_one_line(exc)) from None


def _forward(progress: Progress) -> Callable[[psycopg.errors.Diagnostic], None]:
    def forward(diag: psycopg.errors.Diagnostic) -> None:
        message = diag.message_primary or ""
        severity = (diag.severity_nonlocalized or diag.severity or "").upper()
        progress(message if severity in ("NOTICE", "INFO", "LOG", "") else f"{severity.lower()}: {message}")

    return forward


def _one_line(exc: psycopg.Error) -> str:
    diag = exc.diag
    message = diag.message_primary or str(exc).strip().splitlines()[0]
    if diag.sqlstate:
        message = f"{message} (SQLSTATE {diag.sqlstate})"
    return f"{message}; {diag.message_hint}" if diag.message_hint else message
