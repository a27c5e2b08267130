"""Benchmark: full refresh against the defining queries, report latency against the sources.

Usage: .venv/bin/python benchmarks/report_latency.py [--scale 1000] [--runs 200] [--direct-runs 5]

On a throwaway cluster (benchmarks/_common.py; BENCH_DATABASE_URL reuses a loaded database):

1. Full refresh: ``reports.refresh_all()`` into empty summaries (the first build) and again over
   full ones with nothing changed (every summary recomputed and diffed, nothing written), against
   running each summary's defining query once, ``SELECT count(*) FROM reports.compute_<s>('(,)')``
   (with jit off, as the refresh runs them); three rounds, medians, same run.
2. Latency of every report function over a one-year range (payments_aging as of its last day,
   sales_pipeline without a range), each ``--runs`` times after 5 warm-up calls, as a superuser and
   as a manager (``reports.set_caller(id, '{manager}')``, scope own; the manager with the most
   deals), next to the same figure computed directly from the crm/audit tables
   (benchmarks/direct_queries.py, ``--direct-runs`` times after one warm-up), with the speedup of
   the medians. Before timing, each pair is checked to return the same rows.

Prints markdown tables for docs/benchmarks.md with the machine and server settings.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_database, load_average, machine, median, ms, percentile, server, timed
from direct_queries import REPORTS, Report
from psycopg import sql

from reports_core.db import connect

P_FROM = date(2025, 11, 1)
P_TO = date(2026, 10, 31)
ROUNDS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--direct-runs", type=int, default=5)
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with bench_database(args.scale) as url:
        print(server(url))
        with connect(url, autocommit=True) as conn:
            refresh_figures(conn)
            print(f"load average after the refresh: {load_average()}")
            manager = busiest_manager(conn)
            tz = reports_timezone(conn)
            print(
                f"\nreports over {P_FROM}..{P_TO}; manager: user {manager['id']} ({manager['deals']} deals)"
            )
            for label, owner in (("superuser", None), (f"manager {manager['id']}", manager["id"])):
                params = {"p_from": P_FROM, "p_to": P_TO, "tz": tz, "owner": owner}
                latency_table(conn, label, params, args.runs, args.direct_runs)
            print(f"\nload average at the end: {load_average()}")


def refresh_figures(conn: Any) -> None:
    names = [r["name"] for r in conn.execute("SELECT name FROM reports.summaries ORDER BY position")]
    empty, unchanged, defining = [], [], []
    per_summary: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(ROUNDS):
        for name in names:
            conn.execute(sql.SQL("TRUNCATE reports.{}").format(sql.Identifier(name)))
        conn.execute(
            "UPDATE reports.summaries SET refreshed_at = NULL, rows = NULL, needs_full_refresh = TRUE"
        )
        empty.append(timed(lambda: _refresh_all(conn)))
        unchanged.append(timed(lambda: _refresh_all(conn)))
        conn.execute("SET jit = off")
        total = 0.0
        for name in names:
            query = sql.SQL("SELECT count(*) FROM reports.{}('(,)')").format(
                sql.Identifier(f"compute_{name}")
            )
            took = timed(lambda q=query: conn.execute(q).fetchone())
            per_summary[name].append(took)
            total += took
        conn.execute("RESET jit")
        defining.append(total)
    rows = conn.execute("SELECT name, rows FROM reports.summaries ORDER BY position").fetchall()
    print(
        f"\nfull refresh ({ROUNDS} rounds, medians; summary rows: "
        + ", ".join(f"{r['name']} {r['rows']:,}" for r in rows)
        + ")"
    )
    print("| what | time | ratio to the defining queries |")
    print("| --- | --- | --- |")
    base = median(defining)
    print(f"| every defining query once (`count(*)` of `compute_<s>('(,)')`) | {base:.2f} s | 1.00 |")
    print(f"| `refresh_all()` into empty summaries | {median(empty):.2f} s | {median(empty) / base:.2f} |")
    print(
        f"| `refresh_all()` over unchanged summaries | {median(unchanged):.2f} s | "
        f"{median(unchanged) / base:.2f} |"
    )
    print(
        "defining query per summary: " + ", ".join(f"{n} {median(t):.2f} s" for n, t in per_summary.items())
    )


def busiest_manager(conn: Any) -> dict[str, Any]:
    """The manager with the most deals (id, deals): the scope-own caller of the latency figures."""
    manager = conn.execute(
        "SELECT d.owner_id AS id, count(*) AS deals FROM crm.deals AS d"
        " JOIN crm.users AS u ON u.id = d.owner_id AND u.role = 'manager'"
        " GROUP BY d.owner_id ORDER BY count(*) DESC, d.owner_id LIMIT 1"
    ).fetchone()
    if manager is None:
        raise SystemExit("no manager owns a deal in this database")
    return manager


def reports_timezone(conn: Any) -> str:
    row = conn.execute("SELECT value FROM reports.settings WHERE key = 'timezone'").fetchone()
    if row is None:
        raise SystemExit("reports.settings has no timezone: run the migrations first")
    return str(row["value"])


def _refresh_all(conn: Any) -> None:
    statuses = {r["status"] for r in conn.execute("SELECT status FROM reports.refresh_all()")}
    assert statuses == {"ok"}, statuses


def latency_table(conn: Any, label: str, params: dict[str, Any], runs: int, direct_runs: int) -> None:
    print(f"\n{label}: latency in ms (report: {runs} calls after 5 warm-up; direct: {direct_runs} after 1)")
    print("| report | rows | report p50 | report p99 | direct p50 | direct max | speedup (p50) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for report in REPORTS:
        rows = _check_same(conn, report, params)
        calls = _samples(lambda r=report: _timed_call(conn, r, params), runs, warmup=5)
        direct = _samples(
            lambda r=report: timed(lambda: conn.execute(r.direct, params).fetchall()), direct_runs, warmup=1
        )
        print(
            f"| {report.name} | {rows} | {ms(median(calls))} | {ms(percentile(calls, 99))} | "
            f"{ms(median(direct))} | {ms(max(direct))} | {_ratio(median(direct) / median(calls))} |"
        )


def _ratio(value: float) -> str:
    return f"{value:,.0f}x" if value >= 10 else f"{value:.2g}x"


def _timed_call(conn: Any, report: Report, params: dict[str, Any]) -> float:
    """Seconds of the report statement alone (for a manager: inside the set_caller transaction)."""
    if params["owner"] is None:
        return timed(lambda: conn.execute(report.call, params).fetchall())
    with conn.transaction():
        conn.execute("SELECT reports.set_caller(%s, '{manager}')", [params["owner"]])
        return timed(lambda: conn.execute(report.call, params).fetchall())


def _call(conn: Any, report: Report, params: dict[str, Any]) -> list[dict[str, Any]]:
    if params["owner"] is None:
        return conn.execute(report.call, params).fetchall()
    with conn.transaction():
        conn.execute("SELECT reports.set_caller(%s, '{manager}')", [params["owner"]])
        return conn.execute(report.call, params).fetchall()


def _check_same(conn: Any, report: Report, params: dict[str, Any]) -> int:
    def strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k not in report.ignore} for row in rows]

    got = strip(_call(conn, report, params))
    expected = strip(conn.execute(report.direct, params).fetchall())
    if got != expected:
        raise SystemExit(
            f"{report.name}: the report and the direct query differ; fix direct_queries.py first"
        )
    return len(got)


def _samples(sample: Callable[[], float], runs: int, *, warmup: int) -> list[float]:
    for _ in range(warmup):
        sample()
    return [sample() for _ in range(runs)]


if __name__ == "__main__":
    main()
