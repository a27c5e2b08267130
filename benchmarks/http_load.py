"""Load benchmark: reports-api over HTTP next to the same function called directly with pgbench.

Usage: .venv/bin/python benchmarks/http_load.py [--scale 1000] [--db-duration 60] [--duration 10]
       [--clients 1,8,32] [--workers 2] [--pool-size 32] [--modes uncached,cached,304] [--rss-rows 1000000]

On a throwaway cluster with demo data at ``--scale`` (benchmarks/_common.py; BENCH_DATABASE_URL reuses
a loaded database), after ``reports.refresh_all()`` and ``VACUUM ANALYZE``, for ``dashboard`` and
``revenue_by_period`` over one year (2025-11-01..2026-10-31), and for a trivial exposed function
(``reports.bench_rows(p_rows => 1)``, one generated row: the service's own overhead), with 1, 8 and
32 concurrent clients, each client sending its next request as soon as the last one is answered:

- direct: pgbench (``-n -M prepared -c N -j min(N, 2) -l``, custom script) in two shapes: the bare call
  ``SELECT * FROM reports.<fn>(...)``, and ``direct-txn``: the transaction the service sends, in one
  round trip (``\\startpipeline``: ``BEGIN READ ONLY``, the statement timeout and
  ``reports.set_caller``, the call, ``COMMIT``);
- HTTP: reports-api under ``uvicorn --workers <workers>`` (pool of ``--pool-size`` connections per
  worker; JWT auth; access log off): ``uncached`` (``REPORTS_CACHE_TTL=0``), ``cached`` (TTL one hour,
  warm) and ``304`` (``If-None-Match`` with the current ETag).

HTTP load: ``wrk`` (a Lua script sets the headers) for the fast points; for a report whose uncached
call takes more than 50 ms (hundreds of milliseconds to seconds), a closed-loop Python client (one thread and
keep-alive connection per client, like pgbench's clients) runs ``--db-duration`` seconds and lets the
requests in flight finish, as pgbench does (wrk drops them, which undercounts when a request takes a
sizeable part of the run). Before the points of a report, as many requests at once as the service has
pooled connections (every session runs it once, as pgbench's sessions do before their own figures
count). Between points the script waits until the database is idle again.
Requests per second and p50/p99 latency (pgbench: its per-transaction log; wrk: its histogram).

Then the peak memory of the service (``VmHWM`` of its worker processes) while streaming a
``--rss-rows``-row CSV of ``reports.bench_rows``. The function is created for the run and dropped
at the end. Load generators, service and database share the machine's CPUs. Prints markdown for
docs/benchmarks.md with the machine, the server settings and the commands. The service runs from
:func:`app_factory` (``uvicorn --factory``): ``reports-api`` itself runs a single uvicorn process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_database, load_average, machine, percentile, server

from reports_cli.devdb import free_port
from reports_core.db import connect
from reports_core.dburl import to_libpq

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
P_FROM, P_TO = "2025-11-01", "2026-10-31"
#: name -> (query string of the HTTP call, SQL arguments of the direct call)
CALLS: dict[str, tuple[str, str]] = {
    "dashboard": (f"p_from={P_FROM}&p_to={P_TO}", f"'{P_FROM}', '{P_TO}'"),
    "revenue_by_period": (f"p_from={P_FROM}&p_to={P_TO}", f"'{P_FROM}', '{P_TO}'"),
    "bench_rows": ("p_rows=1", "p_rows => 1"),
}
#: The reports of the issue: every mode; uncached calls measured with the closed-loop client (slow calls).
REPORTS = frozenset({"dashboard", "revenue_by_period"})
MODES = ("uncached", "cached", "304")
WARMUP_S = 2
#: wrk's warm-up opens at least this many connections, so that every worker has answered (and cached).
WARMUP_CONNECTIONS = 16
CACHE_TTL_S = 3600
READY_TIMEOUT_S = 60
REVALIDATED_IN_A_ROW = 8
#: an uncached call slower than this (warm) is measured with the closed-loop client, else with wrk
SLOW_CALL_S = 0.05
IDLE_TIMEOUT_S = 600

BENCH_FUNCTION = """
CREATE OR REPLACE FUNCTION reports.bench_rows(p_rows integer DEFAULT 1000000)
RETURNS TABLE (n bigint, label text, amount numeric, day date)
LANGUAGE sql STABLE
SET search_path = reports, pg_temp
AS $$
    SELECT g, 'row ' || g, round(g / 7.0, 2), DATE '2026-01-01' + (g % 365)::integer
    FROM pg_catalog.generate_series(1, p_rows::bigint) AS g
$$;
COMMENT ON FUNCTION reports.bench_rows(integer) IS 'Benchmark only: p_rows generated rows.

Temporary: created and dropped by benchmarks/http_load.py.';
GRANT EXECUTE ON FUNCTION reports.bench_rows(integer) TO reports_reader;
"""
DROP_BENCH_FUNCTION = "DROP FUNCTION IF EXISTS reports.bench_rows(integer)"
ACTIVE_QUERIES = """
SELECT count(*) AS n FROM pg_catalog.pg_stat_activity
WHERE backend_type = 'client backend' AND state <> 'idle' AND pid <> pg_catalog.pg_backend_pid()
"""

WRK_LUA = """
wrk.headers["Authorization"] = "Bearer %(token)s"
%(extra)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, "
    .. "\\"socket_errors\\": %%d, \\"http_errors\\": %%d, \\"bytes\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, summary.bytes))
end
"""


def app_factory() -> Any:
    """The app for ``uvicorn --factory``: ``create_app`` with the settings of the environment."""
    from reports_core.settings import Settings
    from reports_http.app import create_app

    return create_app(Settings())


def serve(port: int, workers: int) -> None:
    """``uvicorn --workers`` with the listening socket made here, as ``IPPROTO_TCP``.

    uvicorn's own ``--workers`` path binds the socket with ``proto`` 0, so asyncio does not set
    ``TCP_NODELAY`` on the accepted connections, and every keep-alive response after the first waits
    about 40 ms for the client's delayed ACK (uvicorn issue 3149, open in 0.54).
    """
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "http_load:app_factory",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()


def uvicorn_stack() -> str:
    """The HTTP parser and event loop uvicorn picks (``auto``: httptools and uvloop when importable)."""
    import importlib.util

    import uvicorn

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"{uvicorn.__version__} ({http}, {loop})"


@dataclass(frozen=True)
class Point:
    """One measurement: throughput, latency (ms), failed requests or transactions, and the tool."""

    rps: float
    p50_ms: float
    p99_ms: float
    count: int
    errors: int
    tool: str


def wait_idle(url: str) -> None:
    """Until no query runs in the database (the requests of the previous point have finished)."""
    deadline = time.monotonic() + IDLE_TIMEOUT_S
    with connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(ACTIVE_QUERIES).fetchone()
            if row is not None and row["n"] == 0:
                return
            time.sleep(0.5)
    raise SystemExit("the database did not become idle")


# -- the direct calls: pgbench --------------------------------------------------------------------------


def pgbench_scripts(report: str, user_id: int) -> dict[str, str]:
    """The two direct shapes: the bare call, and the service's transaction in one round trip."""
    call = f"SELECT * FROM reports.{report}({CALLS[report][1]});\n"
    return {
        "direct": call,
        "direct-txn": (
            "\\startpipeline\n"
            "BEGIN READ ONLY;\n"
            "SELECT pg_catalog.set_config('statement_timeout', '600000', true), "
            f"reports.set_caller({user_id}, '{{admin}}');\n"
            f"{call}"
            "COMMIT;\n"
            "\\endpipeline\n"
        ),
    }


def run_pgbench(
    url: str, report: str, shape: str, script: str, clients: int, duration: int, workdir: Path
) -> tuple[Point, str]:
    """pgbench with ``script``; tps and p50/p99 latency from its per-transaction log; and the command."""
    script_file = workdir / f"{report}-{shape}.sql"
    script_file.write_text(script)
    for old in workdir.glob("pgbench_log*"):
        old.unlink()
    threads = min(clients, 2)
    base = ["pgbench", "-n", "-M", "prepared", "-f", str(script_file), "-c", str(clients), "-j", str(threads)]
    if report not in REPORTS:
        subprocess.run([*base, "-T", str(WARMUP_S), to_libpq(url)], check=True, capture_output=True)
    command = [*base, "-T", str(duration), "-l", "--log-prefix", str(workdir / "pgbench_log"), to_libpq(url)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    failed = re.search(r"number of failed transactions: ([0-9]+)", out)
    assert match, out
    latencies = [
        int(line.split()[2]) / 1000
        for log in workdir.glob("pgbench_log*")
        for line in log.read_text().splitlines()
    ]
    point = Point(
        float(match.group(1)),
        percentile(latencies, 50),
        percentile(latencies, 99),
        len(latencies),
        int(failed.group(1)) if failed else 0,
        "pgbench",
    )
    shown = [*base[:5], script_file.name, *base[6:], "-T", str(duration), "-l", "$URL"]
    return point, " ".join(shown)


# -- the service ----------------------------------------------------------------------------------------


@dataclass
class Api:
    process: subprocess.Popen[bytes]
    base_url: str
    command: str

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the supervisor)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children] or [self.process.pid]


@contextmanager
def running_api(
    url: str, *, workers: int, pool_size: int, cache_ttl: int, secret: str, token: str
) -> Iterator[Api]:
    """reports-api under ``uvicorn --workers`` on a free port; stopped (SIGTERM, then SIGKILL) at the end."""
    port = free_port()
    settings = {
        "REPORTS_AUTH": "jwt",
        "REPORTS_POOL_SIZE": str(pool_size),
        "REPORTS_POOL_TIMEOUT": "600s",
        "REPORTS_STATEMENT_TIMEOUT": "600s",
        "REPORTS_CACHE_TTL": str(cache_ttl),
    }
    command = [sys.executable, str(Path(__file__).resolve()), "serve", str(port), str(workers)]
    env = {
        **os.environ,
        **settings,
        "REPORTS_DATABASE_URL": url,
        "REPORTS_JWT_SECRET": secret,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    process = subprocess.Popen(command, env=env, cwd=str(ROOT), start_new_session=True)
    shown = " ".join(f"{k}={v}" for k, v in settings.items())
    api = Api(
        process, f"http://127.0.0.1:{port}", f"{shown} python benchmarks/http_load.py serve $PORT {workers}"
    )
    try:
        wait_ready(api, token)
        yield api
    finally:
        stop(process)


def wait_ready(api: Api, token: str) -> None:
    """Until the catalog is loaded (``/ready`` also wants no pending migration: not the point here)."""
    import httpx

    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if api.process.poll() is not None:
            raise SystemExit(f"reports-api exited with {api.process.returncode}")
        try:
            answer = httpx.get(
                f"{api.base_url}/reports", headers={"Authorization": f"Bearer {token}"}, timeout=2
            )
            if answer.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("reports-api was not ready in time")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def make_token(secret: str, user_id: int) -> str:
    import jwt

    claims = {"sub": str(user_id), "roles": ["admin"], "exp": int(time.time()) + 12 * 3600}
    return jwt.encode(claims, secret, algorithm="HS256")


def report_path(report: str) -> str:
    return f"/reports/{report}?{CALLS[report][0]}"


def check_answer(api: Api, report: str, token: str, *, revalidate: bool) -> tuple[dict[str, str], int]:
    """One request as the load will send it: 200 (and 304 with its ETag); the headers and body size of
    the 200."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    first = httpx.get(api.base_url + report_path(report), headers=headers, timeout=600)
    assert first.status_code == 200, first.text
    if revalidate:
        # Until both workers answer 304 (each needs its LISTEN connection up to trust its data versions,
        # else it passes every request on, uncached): 8 in a row, each on a new connection.
        etag = first.headers.get("etag")
        assert etag, f"no ETag on {report}"
        deadline, in_a_row = time.monotonic() + READY_TIMEOUT_S, 0
        while in_a_row < REVALIDATED_IN_A_ROW:
            assert time.monotonic() < deadline, f"{report}: no steady 304 answers"
            again = httpx.get(
                api.base_url + report_path(report), headers={**headers, "If-None-Match": etag}, timeout=600
            )
            in_a_row = in_a_row + 1 if again.status_code == 304 else 0
    return dict(first.headers), len(first.content)


def fastest_call_s(api: Api, report: str, token: str, calls: int = 5) -> float:
    """The fastest of ``calls`` uncached calls on one keep-alive connection: what decides between wrk
    and the closed-loop client (a new client per call, as ``check_answer`` makes, costs tens of
    milliseconds by itself on a slow machine)."""
    import httpx

    best = float("inf")
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
        for _ in range(calls):
            started = time.monotonic()
            response = client.get(api.base_url + report_path(report))
            best = min(best, time.monotonic() - started)
            assert response.status_code == 200, response.text
    return best


def warm_pool(api: Api, report: str, token: str, connections: int) -> None:
    """``connections`` requests at once, so that every pooled connection of every worker has run the report.

    The pools are FIFO (psycopg_pool) and full from the start (min_size = max_size), so requests take
    their connections in turn, and the first call on each new database session pays for compiling the
    PL/pgSQL functions and planning their queries (about 100 ms for ``dashboard`` here): without this,
    a point of a few dozen slow requests measures cold sessions, where pgbench's clients keep theirs.
    """
    import httpx

    def one() -> None:
        answer = httpx.get(
            api.base_url + report_path(report), headers={"Authorization": f"Bearer {token}"}, timeout=600
        )
        assert answer.status_code == 200, answer.text

    threads = [threading.Thread(target=one) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_wrk(
    api: Api,
    report: str,
    token: str,
    clients: int,
    duration: int,
    workdir: Path,
    etag: str | None = None,
    body_size: int = 0,
    settle: Callable[[], None] = lambda: None,
) -> tuple[Point, str]:
    """wrk against the report; the point and the command. With ``etag``: every answer must be a 304
    (checked by size: wrk counts 200 and 304 alike), i.e. shorter than the ``body_size`` of a 200.
    ``settle`` runs between the warm-up and the measurement (the warm-up's misses must finish first)."""
    extra = f'wrk.headers["If-None-Match"] = {json.dumps(etag)}' if etag else ""
    lua = workdir / "headers.lua"
    lua.write_text(WRK_LUA % {"token": token, "extra": extra})
    threads = min(clients, 2)
    url = api.base_url + report_path(report)
    base = ["wrk", "-t", str(threads), "-c", str(clients), "-s", str(lua), "--latency", "--timeout", "60s"]
    warmup = ["wrk", "-t", "2", "-c", str(max(clients, WARMUP_CONNECTIONS)), *base[5:], "-d", f"{WARMUP_S}s"]
    subprocess.run([*warmup, url], check=True, capture_output=True)
    settle()
    command = [*base, "-d", f"{duration}s", url]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    match = re.search(r"^RESULT (\{.*\})$", out, re.MULTILINE)
    assert match, out
    result = json.loads(match.group(1))
    if etag:
        per_request = result["bytes"] / max(result["requests"], 1)
        assert per_request < body_size, f"{per_request:.0f} bytes per answer: not all 304 ({body_size})"
    point = Point(
        result["requests"] / (result["duration_us"] / 1e6),
        result["p50_us"] / 1000,
        result["p99_us"] / 1000,
        result["requests"],
        result["socket_errors"] + result["http_errors"],
        "wrk",
    )
    headers = "Authorization" + (", If-None-Match" if etag else "")
    shown = f"wrk -t {threads} -c {clients} -d {duration}s -s headers.lua --latency --timeout 60s"
    shown += f" '$API{report_path(report)}'"
    return point, f"{shown}  # headers.lua sets {headers}"


def run_closed_loop(api: Api, report: str, token: str, clients: int, duration: int) -> tuple[Point, str]:
    """``clients`` threads, each with its own keep-alive connection, sending requests back to back for
    ``duration`` seconds; requests in flight at the end are waited for and counted (as pgbench does)."""
    import httpx

    url = api.base_url + report_path(report)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + duration

    def client() -> None:
        nonlocal errors
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=600) as http:
            while time.monotonic() < deadline:
                sent = time.perf_counter()
                response = http.get(url)
                elapsed = time.perf_counter() - sent
                with lock:
                    latencies.append(elapsed * 1000)
                    errors += response.status_code != 200

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    point = Point(
        len(latencies) / wall,
        percentile(latencies, 50),
        percentile(latencies, 99),
        len(latencies),
        errors,
        "closed loop",
    )
    shown = f"closed-loop client: {clients} threads x keep-alive GET '$API{report_path(report)}'"
    return point, f"{shown} for {duration} s"


# -- memory while streaming a large CSV --------------------------------------------------------------------


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


def csv_memory(api: Api, token: str, rows: int) -> dict[str, Any]:
    """Stream ``rows`` rows of reports.bench_rows as CSV; peak memory of the workers before and after."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(4):  # both workers answer at least once before the baseline
        small = httpx.get(
            f"{api.base_url}/reports/bench_rows?p_rows=10&format=csv", headers=headers, timeout=30
        )
        assert small.status_code == 200, small.text
    pids = api.worker_pids()
    before = {pid: vm_hwm_kb(pid) for pid in pids}
    started = time.monotonic()
    lines = size = 0
    path = f"/reports/bench_rows?p_rows={rows}&format=csv"
    with httpx.stream("GET", api.base_url + path, headers=headers, timeout=600) as response:
        assert response.status_code == 200, response.read()
        for chunk in response.iter_bytes():
            lines += chunk.count(b"\n")
            size += len(chunk)
    elapsed = time.monotonic() - started
    after = {pid: vm_hwm_kb(pid) for pid in pids}
    assert lines == rows + 1, f"{lines} lines for {rows} rows"
    return {
        "before_kb": before,
        "after_kb": after,
        "seconds": elapsed,
        "bytes": size,
        "rows": rows,
        "path": path,
    }


# -- the run ----------------------------------------------------------------------------------------------

Results = dict[tuple[str, str, int], Point]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1000)
    parser.add_argument("--db-duration", type=int, default=60, help="seconds per point of the two reports")
    parser.add_argument("--duration", type=int, default=10, help="seconds per point of the fast ones")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=32, help="connections per worker")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--reports", default=",".join(CALLS))
    parser.add_argument("--rss-rows", type=int, default=1_000_000, help="0: skip the memory measurement")
    args = parser.parse_args()
    for tool in ("wrk", "pgbench"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install wrk postgresql-contrib)")

    print(f"machine: {machine()}", flush=True)
    print(f"uvicorn {uvicorn_stack()}, {args.workers} workers", flush=True)
    secret = secrets.token_urlsafe(32)
    workdir = Path(tempfile.mkdtemp(prefix="reports-http-bench-"))
    with bench_database(args.scale) as url:
        print(server(url), flush=True)
        with connect(url, autocommit=True) as conn:
            started = time.monotonic()
            conn.execute("SELECT * FROM reports.refresh_all()").fetchall()
            conn.execute("VACUUM ANALYZE")
            print(f"refresh_all and VACUUM ANALYZE: {time.monotonic() - started:.1f} s", flush=True)
            conn.execute(BENCH_FUNCTION)
            user = conn.execute("SELECT min(id) AS id FROM crm.users").fetchone()
            assert user is not None
        token = make_token(secret, user["id"])
        results: Results = {}
        commands: list[str] = []
        memory = None
        try:
            measure(url, args, secret, token, user["id"], workdir, results, commands)
            if args.rss_rows:
                with running_api(
                    url,
                    workers=args.workers,
                    pool_size=args.pool_size,
                    cache_ttl=60,
                    secret=secret,
                    token=token,
                ) as api:
                    memory = csv_memory(api, token, args.rss_rows)
        finally:
            with connect(url, autocommit=True) as conn:
                conn.execute(DROP_BENCH_FUNCTION)
            shutil.rmtree(workdir, ignore_errors=True)
            print_results(results, commands, memory)
            print(f"\nload average at the end: {load_average()}")


def measure(
    url: str,
    args: argparse.Namespace,
    secret: str,
    token: str,
    user_id: int,
    workdir: Path,
    results: Results,
    commands: list[str],
) -> None:
    """Every point, into ``results`` (and the commands used, into ``commands``)."""
    clients = [int(c) for c in args.clients.split(",")]
    modes = [m for m in args.modes.split(",") if m]
    reports = [r for r in args.reports.split(",") if r]

    def record(key: tuple[str, str, int], point: Point, command: str) -> None:
        results[key] = point
        if command not in commands:
            commands.append(command)
        print(
            f"  {key[0]:<18} {key[1]:<10} {key[2]:>3} clients: {point.rps:>9,.1f} req/s  "
            f"p50 {point.p50_ms:.2f} ms  p99 {point.p99_ms:.2f} ms  n {point.count}  errors {point.errors}  "
            f"({point.tool}; load {load_average()})",
            flush=True,
        )
        wait_idle(url)

    def service(cache_ttl: int) -> Any:
        return running_api(
            url,
            workers=args.workers,
            pool_size=args.pool_size,
            cache_ttl=cache_ttl,
            secret=secret,
            token=token,
        )

    # Uncached HTTP right after the direct calls of the same report and clients (same conditions).
    if "uncached" in modes:
        with service(0) as api:
            commands.append(api.command)
            for report in reports:
                check_answer(api, report, token, revalidate=False)  # and warms the database's caches
                for _ in range(2):  # the workers share the requests unevenly: twice, to reach every session
                    warm_pool(api, report, token, args.workers * args.pool_size)
                slow = fastest_call_s(api, report, token) > SLOW_CALL_S
                duration = args.db_duration if report in REPORTS else args.duration
                for n in clients:
                    for shape, script in pgbench_scripts(report, user_id).items():
                        record(
                            (report, shape, n), *run_pgbench(url, report, shape, script, n, duration, workdir)
                        )
                    if slow:
                        point, command = run_closed_loop(api, report, token, n, duration)
                    else:
                        point, command = run_wrk(api, report, token, n, duration, workdir)
                    record((report, "uncached", n), point, command)
    cached = [m for m in modes if m in ("cached", "304")]
    if cached:
        with service(CACHE_TTL_S) as api:
            commands.append(api.command)
            for report in [r for r in reports if r in REPORTS]:  # bench_rows reads no summary: no ETag
                headers, size = check_answer(api, report, token, revalidate="304" in cached)
                for mode in cached:
                    etag = headers.get("etag") if mode == "304" else None
                    for n in clients:
                        point, command = run_wrk(
                            api, report, token, n, args.duration, workdir, etag, size, lambda: wait_idle(url)
                        )
                        record((report, mode, n), point, command)


def print_results(results: Results, commands: list[str], memory: dict[str, Any] | None) -> None:
    shapes = ["direct", "direct-txn", "uncached", "cached", "304"]
    reports = list(dict.fromkeys(key[0] for key in results))
    clients = sorted({key[2] for key in results})
    print("\n| report | how | clients | req/s | p50 ms | p99 ms | requests | errors | load tool |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for report in reports:
        for shape in shapes:
            for n in clients:
                if p := results.get((report, shape, n)):
                    print(
                        f"| {report} | {shape} | {n} | {p.rps:,.1f} | {p.p50_ms:.2f} | {p.p99_ms:.2f} | "
                        f"{p.count:,} | {p.errors} | {p.tool} |"
                    )
    print("\n| report | clients | uncached / direct | uncached / direct-txn | p50 added to direct (ms) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for report in reports:
        for n in clients:
            direct, txn = results.get((report, "direct", n)), results.get((report, "direct-txn", n))
            http = results.get((report, "uncached", n))
            if http and direct and txn:
                print(
                    f"| {report} | {n} | {http.rps / direct.rps:.2f} | {http.rps / txn.rps:.2f} | "
                    f"{http.p50_ms - direct.p50_ms:+.2f} |"
                )
    if memory:
        print(f"\nStreaming `GET {memory['path']}`:")
        for pid, kb in memory["after_kb"].items():
            before = memory["before_kb"][pid] / 1024
            print(f"- worker {pid}: VmHWM {before:.0f} MiB before, {kb / 1024:.0f} MiB after")
        rows, seconds = memory["rows"], memory["seconds"]
        print(
            f"- {rows:,} rows, {memory['bytes'] / 1024 / 1024:.0f} MiB of CSV in {seconds:.1f} s "
            f"({rows / seconds:,.0f} rows/s)"
        )
    print("\nCommands:\n")
    for command in commands:
        print(f"    {command}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
