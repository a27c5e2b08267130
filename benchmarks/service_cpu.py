"""The service's own CPU per request: the ASGI app called in-process, no HTTP server, no load tool.

Usage: .venv/bin/python benchmarks/service_cpu.py [--scale 1000] [--reports bench_rows,revenue_by_period]
       [--requests 2000] [--rounds 3] [--answer uncached|cached|304] [--db-wait-ms MS] [--compare PATH]

For each report (the calls of benchmarks/http_load.py: one year, JWT auth, caller role admin in the
token, 2 pooled connections), a fresh process creates the app, makes 200 warm-up calls, then
``--requests`` calls one after the other, answered as ``--answer`` says: ``uncached`` (cache off, the
default: every call runs the report), ``cached`` (a warm cache: every call a hit) or ``304`` (every
call with the current ETag in ``If-None-Match``), and prints the process CPU time per request (user + system:
the service's Python and libpq work; the database runs in its own processes) and the wall time per
request. Loaded-machine noise moves single figures by 10% or more, so ``--compare PATH`` measures a
second source tree (a checkout of another commit, e.g. ``git worktree add /tmp/before HEAD~1``) in the
same run, alternating the two trees round by round, and prints the medians of both and their ratio.

``--db-wait-ms MS`` makes the trivial ``bench_rows`` wait MS milliseconds in the database first
(``pg_sleep``) and measures only it: the same work for the service as without the wait, so the
difference is what waiting for a slower report costs the service (its process idle meanwhile).

On a throwaway cluster (benchmarks/_common.py; BENCH_DATABASE_URL reuses a loaded database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WARMUP = 200
JWT_SECRET = "benchmark-secret-" + "x" * 32


#: The status of every timed call, per kind of answer.
ANSWERS = {"uncached": 200, "cached": 200, "304": 304}


def bench_function(wait_ms: float) -> str:
    """The SQL of http_load's ``bench_rows``, waiting ``wait_ms`` in the database first when above 0."""
    import http_load

    if wait_ms <= 0:
        return http_load.BENCH_FUNCTION
    waiting = http_load.BENCH_FUNCTION.replace("LANGUAGE sql STABLE", "LANGUAGE sql VOLATILE", 1).replace(
        "    SELECT g,", f"    SELECT pg_catalog.pg_sleep({wait_ms / 1000!r});\n    SELECT g,", 1
    )
    if waiting.count("pg_sleep") != 1 or "VOLATILE" not in waiting:
        raise SystemExit("benchmarks/http_load.py's bench_rows changed: --db-wait-ms cannot add its wait")
    return waiting


def measure(report: str, url: str, requests: int, answer: str, wait_ms: float) -> dict[str, float]:
    """Runs in the worker process: CPU and wall time per request of ``report`` through the app."""
    sys.path.insert(0, str(HERE))
    import http_load

    from reports_core.db import connect

    with connect(url, autocommit=True) as conn:
        conn.execute(bench_function(wait_ms))
        user = conn.execute("SELECT min(id) AS id FROM crm.users").fetchone()
    assert user is not None and user["id"] is not None, "no user in crm.users"
    os.environ.update(
        {
            "REPORTS_DATABASE_URL": url,
            "REPORTS_AUTH": "jwt",
            "REPORTS_JWT_SECRET": JWT_SECRET,
            "REPORTS_POOL_SIZE": "2",
            "REPORTS_CACHE_TTL": "0" if answer == "uncached" else "3600",
        }
    )
    from reports_core.settings import Settings
    from reports_http.app import create_app

    app = create_app(Settings())
    path, query = http_load.report_path(report).split("?")
    token = http_load.make_token(JWT_SECRET, user["id"])
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"authorization", f"Bearer {token}".encode()), (b"host", b"bench")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 8087),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "app": app,
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    tags: list[bytes] = []
    timings: list[bytes] = []

    async def call(expected: int = 200) -> None:
        statuses: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
                tags[:] = [v for k, v in message["headers"] if k == b"etag"] or tags
                timings[:] = [v for k, v in message["headers"] if k == b"server-timing"]

        await app(dict(scope), receive, send)
        if statuses != [expected]:
            raise SystemExit(f"{report}: answered {statuses}, not {expected}")

    async def run() -> dict[str, float]:
        async with app.router.lifespan_context(app):
            for _ in range(WARMUP):
                await call()
            if answer == "304":
                if not tags:
                    raise SystemExit(f"{report}: no ETag to revalidate with")
                scope["headers"] = [*scope["headers"], (b"if-none-match", tags[0])]
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(requests):
                await call(ANSWERS[answer])
            timed = {
                "cpu_ms": (time.process_time() - cpu) / requests * 1000,
                "wall_ms": (time.perf_counter() - wall) / requests * 1000,
            }
            # A hit or a 304 waits for no database (Server-Timing db;dur=0.0); the calls are all alike, so
            # the last one tells whether they were answered from memory (a body above the cache's size
            # cap would not be).
            if answer != "uncached" and not (timings and timings[0].startswith(b"db;dur=0.0,")):
                raise SystemExit(f"{report}: the last call was not answered from memory ({timings})")
            return timed

    return asyncio.run(run())


def worker(tree: Path, report: str, url: str, requests: int, answer: str, wait_ms: float) -> dict[str, float]:
    """One measurement in a new process that imports the project from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    arguments = ["--worker", report, url, str(requests), answer, str(wait_ms)]
    done = subprocess.run(
        [sys.executable, str(HERE / "service_cpu.py"), *arguments],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"measuring {report} with {tree} failed: {reason}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 7 and sys.argv[1] == "--worker":
        report, url, requests, answer, wait_ms = sys.argv[2:]
        print(json.dumps(measure(report, url, int(requests), answer, float(wait_ms))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1000)
    parser.add_argument("--reports", default="bench_rows,revenue_by_period,dashboard")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--answer", choices=list(ANSWERS), default="uncached")
    parser.add_argument("--db-wait-ms", type=float, default=0.0, help="bench_rows waits so long (ms) first")
    parser.add_argument("--compare", type=Path, help="a second source tree, measured in the same run")
    args = parser.parse_args()
    if args.db_wait_ms < 0 or (args.db_wait_ms and args.reports != "bench_rows"):
        parser.error("--db-wait-ms must be at least 0 and goes with --reports bench_rows")
    trees = [("this tree", ROOT)] + ([("compared", args.compare.resolve())] if args.compare else [])
    for _, tree in trees:
        if not (tree / "reports_http" / "app.py").is_file():
            raise SystemExit(f"{tree} is not a source tree of reports (no reports_http/app.py)")

    sys.path.insert(0, str(HERE))
    from _common import bench_database, load_average, machine

    print(f"machine: {machine()}")
    waits = f", bench_rows waits {args.db_wait_ms:g} ms in the database" if args.db_wait_ms else ""
    print(f"answer: {args.answer}{waits}")
    with bench_database(args.scale) as url:
        rows = []
        for report in args.reports.split(","):
            samples: dict[str, list[dict[str, float]]] = {label: [] for label, _ in trees}
            for round_no in range(1, args.rounds + 1):
                for label, tree in trees:
                    figure = worker(tree, report, url, args.requests, args.answer, args.db_wait_ms)
                    samples[label].append(figure)
                    print(
                        f"{report} round {round_no} {label}: cpu {figure['cpu_ms']:.3f} ms,"
                        f" wall {figure['wall_ms']:.3f} ms per request",
                        flush=True,
                    )
            medians = {
                label: {k: statistics.median(s[k] for s in figures) for k in ("cpu_ms", "wall_ms")}
                for label, figures in samples.items()
            }
            rows.append((report, medians))
        print(f"\nload average at the end: {load_average()}\n")
        header = "| report | " + " | ".join(f"{label}: CPU ms / request (wall)" for label, _ in trees)
        print(header + (" | CPU this / compared |" if args.compare else " |"))
        print("| --- |" + " ---: |" * (len(trees) + (1 if args.compare else 0)))
        for report, medians in rows:
            cells = [f"{m['cpu_ms']:.3f} ({m['wall_ms']:.2f})" for m in medians.values()]
            if args.compare:
                cells.append(f"{medians['this tree']['cpu_ms'] / medians['compared']['cpu_ms']:.2f}")
            print(f"| {report} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
