"""Benchmark: incremental refresh against a full one, writer overhead, real-time cost.

Usage: .venv/bin/python benchmarks/incremental_refresh.py [--scale 1000] [--skip-pgbench] [--skip-realtime]
       [--full-runs 2]

On a throwaway cluster (benchmarks/_common.py; BENCH_DATABASE_URL reuses a loaded database), with
the change capture installed (sql/capture/install.sql, as `reports capture install` does):

1. Refresh, all in the same run: a full rebuild (``reports.rebuild()``) next to the incremental
   refresh as ``reports scheduler`` runs it on its long-lived session (session lock, then one
   REPEATABLE READ transaction, see reports_core/refresh.py; for 1 row also as a one-off
   ``reports refresh`` runs it, on a new session) after
   - 1 row: one won deal's amount changed (5 times, different deals);
   - 1,000 rows in one day: 1,000 new won deals created and closed on one day (3 times);
   - 1% of the deals spread over a year: the amount of 1% of all deals, picked at random among
     those created in the last year, changed in one statement (2 times).
   Medians; each with the pending changes it found and the time of the writing statement.
2. Real-time reports: a report call with ``SET reports.realtime = on`` against off, while the
   1,000-rows-in-one-day change is pending (30 calls each after 3 warm-up, medians).
3. Writer overhead (pgbench, ``-M prepared``, no vacuum): single-row INSERT and UPDATE of
   crm.deals, 1 client, a fixed number of transactions, latency average; and a 50/50 mix with 4
   clients for 20 s, throughput; without the capture triggers, with them (as installed: no NOTIFY,
   ``reports.capture_notify`` is off by default), and with them and ``reports.capture_notify = on``
   (a NOTIFY per writing transaction, for the scheduler's early refresh), alternated twice
   (medians), with the server's synchronous_commit and again with it off (which leaves only the
   CPU cost, so the triggers' share is larger). ``--only-pgbench`` runs this part alone.

Prints markdown tables for docs/benchmarks.md with the machine and server settings.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_database, load_average, machine, median, ms, server, timed

from reports_cli.pgserver import find_server
from reports_core.db import connect
from reports_core.refresh import acquire_refresh_lock, refresh_in_snapshot, release_refresh_lock, run_refresh

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "sql" / "capture" / "install.sql"
UNINSTALL = ROOT / "sql" / "capture" / "uninstall.sql"
PGBENCH_DIR = Path(__file__).resolve().parent / "pgbench"
YEAR_START = "2025-11-26"
DEAL_COLUMNS = "(client_id, owner_id, stage, status, amount, created_at, updated_at, closed_at)"
REALTIME_REPORTS = (
    ("revenue_by_period", "SELECT * FROM reports.revenue_by_period('2025-11-01', '2026-10-31')"),
    ("dashboard", "SELECT * FROM reports.dashboard('2025-11-01', '2026-10-31')"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1000)
    parser.add_argument("--skip-pgbench", action="store_true")
    parser.add_argument("--only-pgbench", action="store_true")
    parser.add_argument("--pgbench-transactions", type=int, default=5000)
    parser.add_argument("--mix-seconds", type=int, default=20)
    parser.add_argument("--full-runs", type=int, default=2, help="full rebuilds timed (median)")
    parser.add_argument("--skip-realtime", action="store_true")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with bench_database(args.scale) as url:
        print(server(url))
        with connect(url, autocommit=True) as conn:
            if not args.only_pgbench:
                conn.execute(INSTALL.read_text())  # type: ignore[arg-type]
                first = timed(lambda: _refresh(url))
                print(
                    f"first refresh after installing the capture (full): {first:.1f} s; load {load_average()}"
                )
                refresh_table(conn, url, args.full_runs)
                if not args.skip_realtime:
                    realtime_table(conn, url)
            if not args.skip_pgbench:
                pgbench_tables(conn, url, args.pgbench_transactions, args.mix_seconds)
        print(f"\nload average at the end: {load_average()}")


# -- refresh ---------------------------------------------------------------------------------
def _refresh(url: str) -> list[dict[str, Any]]:
    rows = run_refresh(url, None, True, lambda _line: None)
    bad = [r for r in rows if r["status"] != "ok"]
    assert not bad, bad
    return rows


def _pending(conn: Any) -> int:
    row = conn.execute(
        "SELECT coalesce(sum(pending), 0)::bigint AS n FROM reports.pending_changes()"
    ).fetchone()
    return int(row["n"])


def _modes(conn: Any) -> str:
    rows = conn.execute(
        "SELECT l.mode, count(*) AS n FROM reports.refresh_log AS l"
        " WHERE l.run_id = (SELECT run_id FROM reports.refresh_log ORDER BY id DESC LIMIT 1) GROUP BY l.mode"
    ).fetchall()
    return ", ".join(f"{r['n']} {r['mode']}" for r in rows)


def _warm_refresh(conn: Any) -> None:
    """What ``reports scheduler`` does on its long-lived session: session lock, one REPEATABLE READ
    transaction calling reports.refresh_views, unlock."""
    acquire_refresh_lock(conn, wait=True)
    try:
        rows = refresh_in_snapshot(conn, None)
    finally:
        release_refresh_lock(conn)
    bad = [r for r in rows if r["status"] != "ok"]
    assert not bad, bad


def _measure_change(
    conn: Any, url: str, change: Callable[[], None], warm: Any = None
) -> tuple[float, int, float, str]:
    """(seconds of the writing statement, pending changes, seconds of the incremental refresh, modes).
    The refresh: on the long-lived session ``warm`` as the scheduler runs it, else as ``reports refresh``
    runs it (a new session: its first calls compile the PL/pgSQL functions and plan their queries)."""
    write = timed(change)
    pending = _pending(conn)
    took = timed(lambda: _refresh(url) if warm is None else _warm_refresh(warm))
    assert _pending(conn) == 0
    print(f"  {took * 1000:,.1f} ms; per summary (ms): {_per_view(conn)}", flush=True)
    return write, pending, took, _modes(conn)


def _per_view(conn: Any) -> str:
    """Duration of each summary's refresh in the latest run (reports.refresh_log), slowest first."""
    rows = conn.execute(
        "SELECT l.view, l.duration_ms FROM reports.refresh_log AS l"
        " WHERE l.run_id = (SELECT run_id FROM reports.refresh_log ORDER BY id DESC LIMIT 1)"
        " ORDER BY l.duration_ms DESC"
    ).fetchall()
    return ", ".join(f"{r['view']} {float(r['duration_ms']):.1f}" for r in rows)


def refresh_table(conn: Any, url: str, full_runs: int) -> None:
    full = [
        timed(lambda: conn.execute("SELECT * FROM reports.rebuild()").fetchall()) for _ in range(full_runs)
    ]
    full_s = median(full)
    conn.execute("SELECT setseed(0.42)")
    won = [
        r["id"]
        for r in conn.execute(
            "SELECT id FROM crm.deals WHERE status = 'won' AND deleted_at IS NULL ORDER BY random() LIMIT 5"
        )
    ]
    days = [
        r["day"]
        for r in conn.execute(
            "SELECT d::date AS day"
            " FROM generate_series(date '2026-03-02', date '2026-03-04', interval '1 day') AS d"
        )
    ]
    total = conn.execute("SELECT count(*) AS n FROM crm.deals").fetchone()["n"]
    one_percent = total // 100
    warm = connect(url, autocommit=True, application_name="reports scheduler (benchmark)")
    _warm_refresh(warm)  # nothing pending: compiles and plans once, as a running scheduler has

    def amount_of(deal: int) -> Callable[[], None]:
        return lambda: conn.execute("UPDATE crm.deals SET amount = amount + 1 WHERE id = %s", [deal])

    cases: list[tuple[str, list[tuple[float, int, float, str]]]] = []
    cases.append(
        (
            "1 row (a won deal's amount), scheduler's session",
            [_measure_change(conn, url, amount_of(i), warm) for i in won],
        )
    )
    cases.append(
        (
            "1 row (a won deal's amount), `reports refresh` (new session)",
            [_measure_change(conn, url, amount_of(i)) for i in won[:3]],
        )
    )
    # 1,000 clients (and their owners), one new won deal each, all created and closed on one day
    insert_day = (
        f"INSERT INTO crm.deals {DEAL_COLUMNS}"
        " SELECT c.id, c.owner_id, 'won', 'won', 1000 + c.n,"
        " %(day)s::date + time '09:00' + c.n * interval '30 s', now(),"
        " %(day)s::date + time '10:00' + c.n * interval '30 s'"
        " FROM (SELECT id, owner_id, row_number() OVER (ORDER BY id) AS n FROM crm.clients"
        "   WHERE deleted_at IS NULL AND owner_id IS NOT NULL ORDER BY id OFFSET %(offset)s LIMIT 1000) AS c"
    )
    cases.append(
        (
            "1,000 rows in one day (new won deals)",
            [
                _measure_change(
                    conn, url, lambda d=d, k=k: conn.execute(insert_day, {"day": d, "offset": k * 1000}), warm
                )
                for k, d in enumerate(days)
            ],
        )
    )
    spread = (
        "UPDATE crm.deals SET amount = amount + 1 WHERE id IN ("
        " SELECT id FROM crm.deals WHERE created_at >= %(since)s ORDER BY random() LIMIT %(n)s)"
    )
    cases.append(
        (
            f"1% of the deals ({one_percent:,}) spread over a year",
            [
                _measure_change(
                    conn, url, lambda: conn.execute(spread, {"since": YEAR_START, "n": one_percent}), warm
                )
                for _ in range(2)
            ],
        )
    )

    print(
        f"\nrefresh: full rebuild {full_s:.2f} s "
        f"(median of {len(full)}: {', '.join(f'{s:.2f}' for s in full)})"
    )
    print("| change | write | pending changes | incremental refresh | share of a full rebuild | views |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| full rebuild, same run | - | - | {full_s * 1000:,.0f} ms | 100% | all |")
    for label, samples in cases:
        write = median([s[0] for s in samples])
        pending = int(median([float(s[1]) for s in samples]))
        took = median([s[2] for s in samples])
        print(
            f"| {label} | {ms(write)} ms | {pending:,} | {ms(took)} ms "
            f"(runs: {', '.join(ms(s[2]) for s in samples)}) | {100 * took / full_s:.2f}% "
            f"| {samples[-1][3]} |"
        )
    warm.close()
    print(f"load average: {load_average()}")


# -- real-time --------------------------------------------------------------------------------
def realtime_table(conn: Any, url: str) -> None:
    conn.execute(
        f"INSERT INTO crm.deals {DEAL_COLUMNS}"
        " SELECT c.id, c.owner_id, 'won', 'won', 500, date '2026-06-15' + time '09:00', now(),"
        " date '2026-06-15' + time '11:00' FROM crm.clients AS c"
        " WHERE c.deleted_at IS NULL AND c.owner_id IS NOT NULL ORDER BY c.id LIMIT 1000"
    )
    pending = _pending(conn)
    print(f"\nreal-time option, with {pending:,} pending changes (1,000 new won deals on 2026-06-15):")
    print("| report (one-year range) | realtime off p50 | realtime on p50 | cost |")
    print("| --- | --- | --- | --- |")
    for name, call in REALTIME_REPORTS:
        medians = {}
        for setting in ("off", "on"):
            conn.execute(f"SET reports.realtime = {setting}")
            for _ in range(3):
                conn.execute(call).fetchall()
            medians[setting] = median([timed(lambda c=call: conn.execute(c).fetchall()) for _ in range(30)])
        conn.execute("RESET reports.realtime")
        print(
            f"| {name} | {ms(medians['off'])} ms | {ms(medians['on'])} ms | "
            f"+{ms(medians['on'] - medians['off'])} ms ({medians['on'] / medians['off']:.2f}x) |"
        )
    _refresh(url)


# -- writers --------------------------------------------------------------------------------
def _pgbench(
    url: str, args: list[str], defines: dict[str, int], sync_commit: bool, notify: bool
) -> dict[str, float]:
    parts = urlsplit(url)
    env_options = [] if sync_commit else ["-c", "synchronous_commit=off"]
    env_options += ["-c", f"reports.capture_notify={'on' if notify else 'off'}"]
    cmd = [
        str(find_server().bindir / "pgbench"),
        "-n",
        "-M",
        "prepared",
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
        *[f"-D{k}={v}" for k, v in defines.items()],
        *args,
        parts.path.lstrip("/"),
    ]
    env = {"PATH": "/usr/bin:/bin", "PGOPTIONS": " ".join(env_options)}
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    tps = re.search(r"tps = ([\d.]+)", out)
    assert latency and tps, out
    return {"latency_ms": float(latency.group(1)), "tps": float(tps.group(1))}


def pgbench_tables(conn: Any, url: str, transactions: int, seconds: int) -> None:
    counts = conn.execute(
        "SELECT (SELECT max(id) FROM crm.clients) AS max_client, (SELECT max(id) FROM crm.users) AS max_user,"
        " (SELECT max(id) FROM crm.deals) AS max_deal"
    ).fetchone()
    defines = {k: int(v) for k, v in counts.items()}
    insert = str(PGBENCH_DIR / "insert_deal.sql")
    update = str(PGBENCH_DIR / "update_deal.sql")
    single = {
        "INSERT": ["-c", "1", "-t", str(transactions), "-f", insert],
        "UPDATE": ["-c", "1", "-t", str(transactions), "-f", update],
    }
    mixed = ["-c", "4", "-j", "2", "-T", str(seconds), "-f", f"{insert}@1", "-f", f"{update}@1"]
    for sync_commit in (True, False):
        # (captured, notify): without capture; with capture as installed (no NOTIFY, the default);
        # with capture and reports.capture_notify = on
        configs = ((False, False), (True, False), (True, True))
        results: dict[tuple[str, bool, bool], list[float]] = {}
        for _round in range(2):
            for captured, notify in configs:
                conn.execute((INSTALL if captured else UNINSTALL).read_text())
                for name, args in single.items():
                    got = _pgbench(url, args, defines, sync_commit, notify)
                    results.setdefault((name, captured, notify), []).append(got["latency_ms"])
                got = _pgbench(url, mixed, defines, sync_commit, notify)
                results.setdefault(("mix", captured, notify), []).append(got["tps"])
        label = "on (server default)" if sync_commit else "off"
        print(f"\nwriters, synchronous_commit {label}; load {load_average()}")
        print(
            "| pgbench (crm.deals, -M prepared) | without capture | with capture (default) | ratio "
            "| with capture, `reports.capture_notify = on` | ratio |"
        )
        print("| --- | --- | --- | --- | --- | --- |")
        for name in ("INSERT", "UPDATE"):
            base, on, quiet = (median(results[(name, *c)]) for c in configs)
            print(
                f"| single-row {name}, 1 client, {transactions:,} transactions: latency average "
                f"| {base:.3f} ms | {on:.3f} ms | {on / base:.2f}x slower "
                f"| {quiet:.3f} ms | {quiet / base:.2f}x slower |"
            )
        base, on, quiet = (median(results[("mix", *c)]) for c in configs)
        print(
            f"| 50/50 INSERT/UPDATE, 4 clients, {seconds} s: throughput | {base:,.0f} tps | {on:,.0f} tps "
            f"| {100 * on / base:.0f}% | {quiet:,.0f} tps | {100 * quiet / base:.0f}% |"
        )
    conn.execute(INSTALL.read_text())
    _refresh(url)


if __name__ == "__main__":
    main()
