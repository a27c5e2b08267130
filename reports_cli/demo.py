"""Demo data for development and tests: the dev source contract plus generated rows.

Everything happens in PostgreSQL: ``sql/dev/source_contract.sql`` creates the dev copies
of the ``crm`` and ``audit`` tables, ``sql/dev/demo_data.sql`` installs the generator
(schema ``reports_demo``) and ``reports_demo.generate(scale, seed, end)`` fills the
tables. This module only applies the files, guards against overwriting data and relays
the generator's progress notices.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from reports_core.db import connect
from reports_core.errors import ReportsError
from reports_core.paths import sql_dir

# Rows per unit of scale; must equal reports_demo.scale_unit() (tests/test_demo_data.py checks it).
SCALE_UNIT: dict[str, int] = {
    "crm.teams": 2,
    "crm.users": 20,
    "crm.clients": 300,
    "crm.deals": 1000,
    "crm.deal_stage_history": 3300,
    "crm.payments": 320,
    "audit.events": 5400,
}

SCALE_UNIT_HELP = (
    "One unit of scale = {deals:,} deals, {clients:,} clients, {users} users in {teams} teams, "
    "about {history:,} stage-history rows, {payments:,} payments and {events:,} audit events."
).format(
    deals=SCALE_UNIT["crm.deals"],
    clients=SCALE_UNIT["crm.clients"],
    users=SCALE_UNIT["crm.users"],
    teams=SCALE_UNIT["crm.teams"],
    history=SCALE_UNIT["crm.deal_stage_history"],
    payments=SCALE_UNIT["crm.payments"],
    events=SCALE_UNIT["audit.events"],
)

_NOTICE_PREFIX = "demo data: "


def contract_file() -> Path:
    return sql_dir() / "dev" / "source_contract.sql"


def generator_file() -> Path:
    return sql_dir() / "dev" / "demo_data.sql"


def load_demo_data(
    url: str,
    *,
    scale: int,
    seed: int = 42,
    end: date | None = None,
    replace: bool = False,
    if_empty: bool = False,
    progress: Callable[[str], None] = print,
) -> dict[str, int]:
    """Create the dev source contract in ``url`` and fill it with deterministic demo data.

    ``scale`` units of :data:`SCALE_UNIT` rows, pseudo-random values derived from ``seed``,
    about three years of history up to ``end`` (default: today). Refuses when the tables
    already hold data unless ``replace``; even then only schemas created by the dev
    contract (marker comment) are emptied. With ``if_empty``, data already present is kept
    as it is (``make run`` the second time). Returns the row count of every table.
    """
    if scale < 1:
        raise ReportsError(f"scale must be at least 1 (got {scale})")
    started = time.monotonic()
    with connect(url, autocommit=True) as conn:
        conn.add_notice_handler(lambda diag: _relay_notice(diag, progress))
        _apply(conn, contract_file(), "source contract", progress)
        _apply(conn, generator_file(), "generator (schema reports_demo)", progress)
        counts = _row_counts(conn)
        existing = {table: n for table, n in counts.items() if n and table != "crm.pipeline_stages"}
        if existing and if_empty:
            summary = ", ".join(f"{table} {n:,}" for table, n in existing.items())
            progress(f"{_NOTICE_PREFIX}kept the data already present ({summary})")
            return counts
        if existing and not replace:
            summary = ", ".join(f"{table} {n:,}" for table, n in existing.items())
            raise ReportsError(
                f"the source tables already hold data ({summary}); use --replace to delete and regenerate it"
            )
        try:
            with conn.transaction():
                if existing:
                    cleared = time.monotonic()
                    conn.execute("SELECT reports_demo.clear()")
                    progress(f"{_NOTICE_PREFIX}existing rows deleted in {time.monotonic() - cleared:.1f} s")
                rows = conn.execute(
                    "SELECT table_name, row_count"
                    " FROM reports_demo.generate(%s, %s, coalesce(%s::date, current_date))",
                    (scale, seed, end),
                ).fetchall()
        except psycopg.Error as exc:
            raise ReportsError(f"demo data generation failed: {_first_line(exc)}") from None
    result = {str(row["table_name"]): int(row["row_count"]) for row in rows}
    progress(
        f"{_NOTICE_PREFIX}{result.get('crm.deals', 0):,} deals at scale {scale}, seed {seed} "
        f"in {time.monotonic() - started:.1f} s"
    )
    return result


def _apply(conn: psycopg.Connection[Any], path: Path, what: str, progress: Callable[[str], None]) -> None:
    started = time.monotonic()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportsError(f"cannot read {path}: {exc.strerror}") from None
    try:
        conn.execute(text)
    except psycopg.Error as exc:
        raise ReportsError(f"cannot apply {path.name}: {_first_line(exc)}") from None
    progress(f"{_NOTICE_PREFIX}{what} applied in {time.monotonic() - started:.1f} s")


def _row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    rows = conn.execute("SELECT table_name, row_count FROM reports_demo.row_counts()").fetchall()
    return {str(row["table_name"]): int(row["row_count"]) for row in rows}


def _relay_notice(diag: psycopg.errors.Diagnostic, progress: Callable[[str], None]) -> None:
    message = diag.message_primary or ""
    if message.startswith(_NOTICE_PREFIX):
        progress(message)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
