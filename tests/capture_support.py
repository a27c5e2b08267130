"""Shared helpers of the change capture and incremental refresh tests.

``expected_differences`` is the independent check: every summary table against its compute function
over every day, both ways with ``EXCEPT ALL``, written here rather than through ``reports.verify``
(the clock columns of ``pipeline_open``, ``as_of`` and ``age_days_sum``, are compared separately by
the callers when their refresh times agree).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from reports_cli import capture

Conn = psycopg.Connection[dict[str, Any]]

SUMMARIES = (
    "deal_outcomes_daily",
    "payments_collected_daily",
    "payment_open_spans",
    "stage_funnel_daily",
    "audit_activity_daily",
    "clients_created_daily",
    "pipeline_open",
    # computed from the summaries above as stored: compared with a recompute from those tables, which
    # the entries above compare with the sources
    "deal_outcomes_by_day",
    "payments_collected_by_day",
    "stage_funnel_by_day",
    # the actor bitmaps: from audit_activity_daily, and from audit_actions_by_day
    "audit_actions_by_day",
    "audit_actors_by_day",
    # the totals in scope all of V0017, computed from the summaries above as stored
    "payment_open_spans_by_day",
    "payments_invoiced_by_day",
    "clients_created_by_day",
    "pipeline_open_by_stage",
    # the month totals of V0018, from audit_actions_by_day as stored
    "audit_actions_by_month",
)
CLOCK_COLUMNS = {
    "pipeline_open": {"as_of", "age_days_sum"},
    "pipeline_open_by_stage": {"as_of", "age_days_sum"},
}

LOG_COLUMNS = (
    "source_table, operation, deal_id, client_id, old_created_at, new_created_at, old_closed_at,"
    " new_closed_at, old_client_id, new_client_id, dependants, open_deal"
)


def quiet(_: str) -> None:
    pass


def install_capture(url: str, *, row_level: bool = False) -> None:
    capture.install(url, row_level=row_level, progress=quiet)


def uninstall_capture(url: str) -> None:
    capture.uninstall(url, progress=quiet)


def log_rows(conn: Conn) -> list[dict[str, Any]]:
    """The change log without id and captured_at, in id order."""
    return conn.execute("SELECT " + LOG_COLUMNS + " FROM reports.change_log ORDER BY id").fetchall()


def stored_columns(conn: Conn, table: str, *, with_clock: bool = True) -> list[str]:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
        [f"reports.{table}"],
    ).fetchall()
    skip = set() if with_clock else CLOCK_COLUMNS.get(table, set())
    return [r["attname"] for r in rows if r["attname"] not in skip]


def differences(
    conn: Conn, other: Callable[[str], sql.Composable], *, with_clock: bool = False
) -> dict[str, int]:
    """Per summary: rows in the table but not in ``other(summary)`` (a FROM item) plus rows the other way
    (EXCEPT ALL both ways, over the stored columns); summaries without a difference are left out."""
    out = {}
    for name in SUMMARIES:
        cols = sql.SQL(", ").join(map(sql.Identifier, stored_columns(conn, name, with_clock=with_clock)))
        query = sql.SQL(
            "SELECT (SELECT count(*) FROM (SELECT {cols} FROM reports.{table}"
            "   EXCEPT ALL SELECT {cols} FROM {other}) AS a)"
            " + (SELECT count(*) FROM (SELECT {cols} FROM {other}"
            "   EXCEPT ALL SELECT {cols} FROM reports.{table}) AS b) AS n"
        ).format(cols=cols, table=sql.Identifier(name), other=other(name))
        row = conn.execute(query).fetchone()
        assert row is not None
        if row["n"]:
            out[name] = row["n"]
    return out


def expected_differences(conn: Conn, *, with_clock: bool = False) -> dict[str, int]:
    """Per summary: rows in the table but not in a full recompute plus rows the other way (EXCEPT ALL)."""

    def recompute(name: str) -> sql.Composable:
        return sql.SQL("reports.{}('(,)'::daterange)").format(sql.Identifier(f"compute_{name}"))

    return differences(conn, recompute, with_clock=with_clock)


def verify_rows(conn: Conn) -> list[dict[str, Any]]:
    return conn.execute("SELECT * FROM reports.verify()").fetchall()


def refresh(conn: Conn) -> dict[str, dict[str, Any]]:
    rows = conn.execute("SELECT * FROM reports.refresh_views(NULL, true)").fetchall()
    assert {r["status"] for r in rows} == {"ok"}, rows
    return {r["view"]: r for r in rows}


def last_run(conn: Conn) -> dict[str, dict[str, Any]]:
    """The refresh_log rows of the latest run, by view."""
    return {
        r["view"]: r
        for r in conn.execute(
            "SELECT * FROM reports.refresh_log WHERE run_id = (SELECT run_id FROM reports.refresh_log"
            " ORDER BY id DESC LIMIT 1)"
        ).fetchall()
    }
