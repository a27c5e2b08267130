"""The incremental refresh after a 1-row change, for two source trees in the same run, rounds alternated.

Usage: .venv/bin/python benchmarks/one_row_compare.py --compare PATH [--rounds 3] [--changes 5]

``PATH`` is a checkout of another commit with the same versioned migrations as this tree
(``git worktree add /tmp/before HEAD~1``; see benchmarks/refresh_compare.py). Needs a database with the
change capture installed and the summaries built (``BENCH_DATABASE_URL``, for example the one that
benchmarks/incremental_refresh.py leaves). Each round, for each tree: its SQL is migrated in, then
``--changes`` times one won deal's amount is changed and the incremental refresh timed, as
``reports scheduler`` runs it on its long-lived session (opened after the migration, one refresh with
nothing pending first), and as a one-off ``reports refresh`` runs it on a new session; every refresh must
find nothing else pending and refresh every summary incrementally. The tree that goes first alternates
from round to round. Prints the medians per tree and the ratio of this tree to the other. The database is
left with this tree's SQL.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_average, machine, median, server, timed
from incremental_refresh import _modes, _pending, _refresh, _warm_refresh
from refresh_compare import use_tree

from reports_core.db import connect

ROOT = Path(__file__).resolve().parent.parent


def one_round(url: str, deals: list[int]) -> tuple[list[float], list[float]]:
    """(scheduler's session, new session) refresh times in seconds, one change of each deal per kind."""
    warm_times: list[float] = []
    new_times: list[float] = []
    with (
        connect(url, autocommit=True) as conn,
        connect(url, autocommit=True, application_name="reports scheduler (benchmark)") as warm,
    ):
        _warm_refresh(warm)  # compiles and plans once, as a running scheduler has
        for deal in deals:
            kinds = ((warm_times, lambda: _warm_refresh(warm)), (new_times, lambda: _refresh(url)))
            for times, refresh in kinds:
                conn.execute("UPDATE crm.deals SET amount = amount + 1 WHERE id = %s", [deal])
                times.append(timed(refresh))
                pending, modes = _pending(conn), _modes(conn)
                if pending or not re.fullmatch(r"\d+ incremental", modes):  # e.g. "17 incremental"
                    raise SystemExit(f"deal {deal}: {pending} changes still pending, modes {modes!r}")
    return warm_times, new_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, required=True, help="checkout of the other tree")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--changes", type=int, default=5, help="1-row changes per tree and round")
    args = parser.parse_args()
    other = args.compare.resolve()
    if not (other / "sql").is_dir():
        raise SystemExit(f"--compare {other}: no sql/ directory there")
    if args.rounds < 1 or args.changes < 1:
        raise SystemExit("--rounds and --changes must be at least 1")

    url = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if not url:
        raise SystemExit("set BENCH_DATABASE_URL: a database with the capture installed and summaries built")
    print(f"machine: {machine()}")
    print(server(url))
    trees = {"this tree": ROOT, "compared": other}
    results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in trees}
    try:
        with connect(url, autocommit=True) as conn:
            incomplete = conn.execute(
                "SELECT count(*) AS n FROM reports.refresh_status() WHERE mode <> 'incremental'"
            ).fetchone()["n"]
            if incomplete:
                raise SystemExit(f"{incomplete} summaries not in mode incremental: install the capture first")
            conn.execute("SELECT setseed(0.42)")
            deals = [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM crm.deals WHERE status = 'won' AND deleted_at IS NULL"
                    " ORDER BY random() LIMIT %s",
                    [args.changes],
                )
            ]
        if len(deals) < args.changes:
            raise SystemExit(f"only {len(deals)} won deals found, --changes {args.changes}")
        for round_no in range(1, args.rounds + 1):
            # alternate which tree goes first, so that neither always finds the caches warmed by the other
            order = list(trees.items()) if round_no % 2 else list(reversed(trees.items()))
            for name, tree in order:
                use_tree(url, tree)
                warm_times, new_times = one_round(url, deals)
                results[name][0].extend(warm_times)
                results[name][1].extend(new_times)
                print(
                    f"round {round_no}, {name}: scheduler's session {median(warm_times) * 1000:.1f} ms,"
                    f" new session {median(new_times) * 1000:.1f} ms (medians); load {load_average()}",
                    flush=True,
                )
    finally:
        use_tree(url, ROOT)

    def cell(times: list[float]) -> str:
        return f"{median(times) * 1000:.1f} ms"

    print("\n| tree | 1 row, scheduler's session | 1 row, new session (`reports refresh`) |")
    print("| --- | ---: | ---: |")
    for name in trees:
        print(f"| {name} | {cell(results[name][0])} | {cell(results[name][1])} |")
    ratio = [median(results["this tree"][k]) / median(results["compared"][k]) for k in (0, 1)]
    print(f"| this tree / compared | {ratio[0]:.2f} | {ratio[1]:.2f} |")
    print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    main()
