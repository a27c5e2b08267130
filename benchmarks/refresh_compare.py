"""Full refreshes of two source trees in the same run: the SQL of each applied in turn, rounds alternated.

Usage: .venv/bin/python benchmarks/refresh_compare.py --compare PATH [--scale 1000] [--rounds 2]

``PATH`` is a checkout of another commit (``git worktree add /tmp/before HEAD~1``) with the same
versioned migrations as this tree: the trees differ in repeatable files only (functions, views),
which ``reports migrate`` re-applies when they change, so switching trees is one migration each way.
Each round, for each tree: its SQL is migrated in, every summary is emptied and marked never
refreshed, then ``reports.refresh_all()`` is timed into the empty summaries (a first build) and again
over them unchanged (every day recomputed and diffed, nothing written). The defining queries are
timed once (``SELECT count(*) FROM reports.compute_<s>('(,)')`` with jit off, as the refresh runs
them); medians per tree, ratios to the defining queries. The database is left with this tree's SQL.

On a throwaway cluster (benchmarks/_common.py; BENCH_DATABASE_URL reuses a loaded database).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_database, load_average, machine, median, timed
from psycopg import sql

from reports_core.db import connect
from reports_core.errors import ReportsError
from reports_core.migrate import migrate

ROOT = Path(__file__).resolve().parent.parent


def use_tree(url: str, tree: Path) -> None:
    """Migrate ``tree``'s SQL into the database (its changed repeatable files)."""
    os.environ["REPORTS_SQL_DIR"] = str(tree / "sql")
    try:
        migrate(url, progress=lambda _line: None)
    except ReportsError as error:
        raise SystemExit(f"migrating {tree}/sql failed: {error}") from None
    finally:
        del os.environ["REPORTS_SQL_DIR"]


def refresh_all(conn: Any) -> None:
    statuses = {r["status"] for r in conn.execute("SELECT status FROM reports.refresh_all()")}
    if statuses != {"ok"}:
        raise SystemExit(f"refresh_all() ended with {sorted(statuses)}")


def empty_summaries(conn: Any, names: list[str]) -> None:
    for name in names:
        conn.execute(sql.SQL("TRUNCATE reports.{}").format(sql.Identifier(name)))
    conn.execute("UPDATE reports.summaries SET refreshed_at = NULL, rows = NULL, needs_full_refresh = TRUE")
    conn.execute("CHECKPOINT")  # each first build starts with no dirty buffers of the last one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, required=True, help="the other source tree")
    parser.add_argument("--scale", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    trees = {"this tree": ROOT, "compared": args.compare.resolve()}
    for tree in trees.values():
        if not (tree / "sql" / "versioned").is_dir():
            raise SystemExit(f"{tree} is not a source tree of reports (no sql/versioned)")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    print(f"machine: {machine()}")
    with bench_database(args.scale) as url, connect(url, autocommit=True) as conn:
        names = [r["name"] for r in conn.execute("SELECT name FROM reports.summaries ORDER BY position")]
        conn.execute("SET jit = off")
        queries = [
            sql.SQL("SELECT count(*) FROM reports.{}('(,)')").format(sql.Identifier(f"compute_{name}"))
            for name in names
        ]
        defining = sum(timed(lambda q=query: conn.execute(q).fetchone()) for query in queries)
        conn.execute("RESET jit")
        print(f"every defining query once: {defining:.1f} s", flush=True)
        times: dict[str, dict[str, list[float]]] = {label: {"empty": [], "unchanged": []} for label in trees}
        try:
            for round_no in range(1, args.rounds + 1):
                for label, tree in trees.items():
                    use_tree(url, tree)
                    empty_summaries(conn, names)
                    for phase in ("empty", "unchanged"):
                        took = timed(lambda: refresh_all(conn))
                        times[label][phase].append(took)
                        print(f"round {round_no}, {label}, refresh_all() {phase}: {took:.1f} s", flush=True)
        finally:
            use_tree(url, ROOT)
        print(f"\nload average at the end: {load_average()}\n")
        print("| tree | refresh_all() into empty summaries | ratio | over unchanged summaries | ratio |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for label, phases in times.items():
            empty, unchanged = median(phases["empty"]), median(phases["unchanged"])
            print(
                f"| {label} | {empty:.1f} s ({', '.join(f'{t:.1f}' for t in phases['empty'])}) |"
                f" {empty / defining:.2f} | {unchanged:.1f} s"
                f" ({', '.join(f'{t:.1f}' for t in phases['unchanged'])}) | {unchanged / defining:.2f} |"
            )


if __name__ == "__main__":
    main()
