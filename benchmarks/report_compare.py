"""One report function of two source trees in the same run, rounds alternated: p50 and p99 per tree and scope.

Usage: .venv/bin/python benchmarks/report_compare.py --compare PATH --report NAME [--rounds 2] [--runs 50]

``PATH`` is a checkout of another commit (``git worktree add /tmp/before HEAD~1``). Only the report's own
file, ``sql/repeatable/60_reports/<report>.sql``, is taken from it: each round, for each tree, that file is
applied (one transaction), the report is checked to return the same rows as its direct query over the
sources (benchmarks/direct_queries.py), and it is called ``--runs`` times after 5 warm-up calls over the
one-year range of benchmarks/report_latency.py, as a superuser (scope all) and as the manager with the most
deals (scope own), timing the report statement alone. The tree that goes first alternates from round to
round. Needs ``BENCH_DATABASE_URL``: a database with the demo data, every migration of this tree and the
summaries built. The database is left with this tree's file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_average, machine, median, ms, percentile, server
from direct_queries import REPORTS
from report_latency import P_FROM, P_TO, _check_same, _samples, _timed_call, busiest_manager, reports_timezone

from reports_core.db import connect

ROOT = Path(__file__).resolve().parent.parent


def report_file(tree: Path, report: str) -> Path:
    return tree / "sql" / "repeatable" / "60_reports" / f"{report}.sql"


def apply(url: str, path: Path) -> None:
    with connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute(path.read_text())  # type: ignore[arg-type]  # a file of ours, no parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, required=True, help="checkout of the other tree")
    parser.add_argument("--report", required=True, choices=[r.name for r in REPORTS])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    if args.rounds < 1 or args.runs < 1:
        raise SystemExit("--rounds and --runs must be at least 1")
    trees = {"this tree": ROOT, "compared": args.compare.resolve()}
    for name, tree in trees.items():
        if not report_file(tree, args.report).is_file():
            raise SystemExit(f"{name}: no {report_file(tree, args.report)}")
    url = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if not url:
        raise SystemExit("set BENCH_DATABASE_URL: a database with the demo data and the summaries built")
    report = next(r for r in REPORTS if r.name == args.report)

    print(f"machine: {machine()}")
    print(server(url))
    with connect(url, autocommit=True) as conn:
        manager = busiest_manager(conn)
        tz = reports_timezone(conn)
    scopes = {"superuser": None, f"manager {manager['id']}": manager["id"]}
    print(f"{args.report} over {P_FROM}..{P_TO}, {args.runs} calls after 5 warm-up per tree, scope and round")
    samples: dict[tuple[str, str], list[float]] = {(t, s): [] for t in trees for s in scopes}
    try:
        for round_no in range(1, args.rounds + 1):
            order = list(trees.items()) if round_no % 2 else list(reversed(trees.items()))
            for name, tree in order:
                apply(url, report_file(tree, args.report))
                with connect(url, autocommit=True) as conn:
                    for label, owner in scopes.items():
                        params: dict[str, Any] = {
                            "p_from": P_FROM,
                            "p_to": P_TO,
                            "tz": tz,
                            "owner": owner,
                        }
                        _check_same(conn, report, params)
                        calls = _samples(lambda p=params: _timed_call(conn, report, p), args.runs, warmup=5)
                        samples[(name, label)].extend(calls)
                        print(
                            f"round {round_no}, {name}, {label}: p50 {ms(median(calls))} ms;"
                            f" load {load_average()}",
                            flush=True,
                        )
    finally:
        apply(url, report_file(ROOT, args.report))

    print("\n| tree | scope | p50 (ms) | p99 (ms) |")
    print("| --- | --- | ---: | ---: |")
    for (name, label), calls in samples.items():
        print(f"| {name} | {label} | {ms(median(calls))} | {ms(percentile(calls, 99))} |")
    for label in scopes:
        ratio = median(samples[("compared", label)]) / median(samples[("this tree", label)])
        print(f"{label}: compared / this tree (p50) = {ratio:.2f}")
    print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    main()
