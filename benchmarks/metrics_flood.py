"""Report latency while /metrics is scraped as hard as clients can: the scrape flood, measured.

Usage: .venv/bin/python benchmarks/metrics_flood.py [--scale 50] [--scrapers 16] [--duration 20]

On a throwaway cluster with demo data at ``--scale`` (benchmarks/_common.py), the change capture
installed and one refresh, every audit event is then moved by a second and left unrefreshed (about
256,000 pending changes at scale 50: ``reports.refresh_status()`` then reads them all). reports-api
(benchmarks/http_load.py's runner: one uvicorn worker, a pool of 4, no cache) serves one client that
calls ``revenue_by_period`` over a year in a closed loop for ``--duration`` seconds, in three phases:

- ``idle``: nothing else runs;
- ``/metrics flood``: ``--scrapers`` threads GET ``/metrics`` in closed loops (no token). The service
  reads the summaries' state at most once per ``REPORTS_METRICS_INTERVAL`` (5 s) on a connection of
  its own;
- ``refresh_status() flood``: the same number of threads call ``reports.refresh_status()`` in closed
  loops on connections of their own: the database work that every scrape did before the snapshot.
  Then each scrape also held a connection of the report pool while it ran, so reports queued behind
  it as well: this phase is a lower bound of the old cost.

Prints, per phase, the report's p50 and p99 and its ratio to idle, and how many scrapes or
``refresh_status()`` calls were served, as markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_database, load_average, machine, ms, percentile, server
from http_load import running_api

from reports_cli import capture
from reports_core.db import connect

REPORT = "/reports/revenue_by_period?p_from=2025-11-01&p_to=2026-10-31&p_grain=month"


def make_token(secret: str) -> str:
    import jwt

    return jwt.encode(
        {"sub": "1", "roles": ["admin"], "exp": int(time.time()) + 3600}, secret, algorithm="HS256"
    )


def closed_loop(call: Callable[[], None], stop: threading.Event, samples: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)


def phase(
    base_url: str, token: str, duration: int, scrapers: int, flood: Callable[[], Callable[[], None]] | None
) -> tuple[list[float], int]:
    """Report latencies for ``duration`` seconds with ``scrapers`` threads running ``flood()``'s call."""
    import httpx

    stop = threading.Event()
    flood_samples: list[float] = []
    threads = [
        threading.Thread(target=closed_loop, args=(flood(), stop, flood_samples), daemon=True)
        for _ in range(scrapers if flood else 0)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1)  # the flood at full speed before the report's figures count
    reports: list[float] = []
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:

        def report() -> None:
            answer = client.get(REPORT)
            if answer.status_code != 200:
                raise SystemExit(f"{REPORT}: HTTP {answer.status_code} {answer.text[:200]}")

        report()
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            started = time.perf_counter()
            report()
            reports.append(time.perf_counter() - started)
    stop.set()
    for thread in threads:
        thread.join(600)
    return reports, len(flood_samples)


def scrape(base_url: str) -> Callable[[], None]:
    import httpx

    client = httpx.Client(base_url=base_url, timeout=600)

    def call() -> None:
        if client.get("/metrics").status_code != 200:
            raise SystemExit("/metrics did not answer 200")

    return call


def status_call(url: str) -> Callable[[], None]:
    conn = connect(url, autocommit=True, application_name="bench refresh_status")

    def call() -> None:
        conn.execute("SELECT * FROM reports.refresh_status()").fetchall()

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=50)
    parser.add_argument("--scrapers", type=int, default=16)
    parser.add_argument("--duration", type=int, default=20)
    args = parser.parse_args()

    with bench_database(args.scale) as url:
        capture.install(url, row_level=False, progress=lambda _line: None)
        with connect(url, autocommit=True) as conn:
            conn.execute("SELECT * FROM reports.refresh_all()").fetchall()
            conn.execute("VACUUM ANALYZE")
            conn.execute("UPDATE audit.events SET occurred_at = occurred_at + interval '1 second'")
            pending = conn.execute("SELECT count(*) AS n FROM reports.change_log").fetchone()["n"]  # type: ignore[index]
            started = time.perf_counter()
            conn.execute("SELECT * FROM reports.refresh_status()").fetchall()
            status_s = time.perf_counter() - started
        print(f"{pending:,} pending changes; one refresh_status() takes {ms(status_s)} ms", file=sys.stderr)

        server_text = server(url)
        secret = secrets.token_hex(32)
        token = make_token(secret)
        rows = []
        with running_api(url, workers=1, pool_size=4, cache_ttl=0, secret=secret, token=token) as api:
            floods: list[tuple[str, Callable[[], Callable[[], None]] | None]] = [
                ("idle", None),
                ("/metrics flood", lambda: scrape(api.base_url)),
                ("refresh_status() flood", lambda: status_call(url)),
            ]
            for label, flood in floods:
                print(f"phase: {label}", file=sys.stderr)
                samples, flood_calls = phase(api.base_url, token, args.duration, args.scrapers, flood)
                rows.append((label, samples, flood_calls))

    idle_p50 = percentile(rows[0][1], 50)
    print(f"Machine: {machine()}; load average after the run: {load_average()}; {server_text}\n")
    print(
        f"Scale {args.scale}, {pending:,} pending changes (one `refresh_status()`: {ms(status_s)} ms), "
        f"{args.scrapers} flood threads, {args.duration} s per phase, `revenue_by_period` (month grain, "
        "one year, uncached) in a closed loop.\n"
    )
    print("| phase | report calls | p50 (ms) | p99 (ms) | p50 / idle | flood calls served |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, samples, flood_calls in rows:
        p50 = percentile(samples, 50)
        print(
            f"| {label} | {len(samples):,} | {ms(p50)} | {ms(percentile(samples, 99))} | "
            f"{p50 / idle_p50:.2f} | {flood_calls:,} |"
        )
    print(
        f"\nCommand: `.venv/bin/python benchmarks/metrics_flood.py --scale {args.scale} "
        f"--scrapers {args.scrapers} --duration {args.duration}`"
    )


if __name__ == "__main__":
    main()
