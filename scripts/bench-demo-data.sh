#!/usr/bin/env bash
# Time demo data generation (`reports demo-data`: reports_cli.demo.load_demo_data, i.e. the dev
# source contract, the generator and reports_demo.generate) at one scale on a throwaway database.
# docs/benchmarks.md, section "Demo data generation", records the figure at scale 1000.
#
# Usage: scripts/bench-demo-data.sh [SCALE [SEED]]      (defaults: 1000 = one million deals, 42)
#
# Where it runs:
#   - default: a throwaway cluster in a temporary directory with PostgreSQL's default settings
#     (fsync, full_page_writes and synchronous_commit on, although the dev and test clusters turn
#     them off), deleted at the end. BENCH_PG_OPTIONS adds server options to it, e.g.
#     BENCH_PG_OPTIONS="-c max_wal_size=4GB -c shared_buffers=1GB" (say so when quoting a figure).
#   - BENCH_SERVER_URL=postgresql://user@host:port/postgres: a throwaway database on that server
#     (the role needs CREATEDB), dropped at the end.
# Prints the generator's phases, the wall time, the row counts and the machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scale="${1:-1000}"
seed="${2:-42}"
if ! [[ "$scale" =~ ^[1-9][0-9]*$ && "$seed" =~ ^-?[0-9]+$ ]]; then
    echo "usage: scripts/bench-demo-data.sh [SCALE [SEED]]  (SCALE a positive integer)" >&2
    exit 2
fi

if [ -x .venv/bin/python ]; then
    python=(.venv/bin/python)
else
    python=(scripts/poetry run python)
fi

exec "${python[@]}" - "$scale" "$seed" <<'PY'
from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from psycopg import sql

from reports_core.db import connect
from reports_cli.devdb import Cluster
from reports_cli.demo import load_demo_data

scale, seed = int(sys.argv[1]), int(sys.argv[2])
end = date.today()


def with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, ""))


def machine() -> str:
    mem_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        "unknown CPU",
    )
    return f"nproc {os.cpu_count()}, {mem_kb / 1024 / 1024:.1f} GiB RAM, {model}"


server_url = os.environ.get("BENCH_SERVER_URL")
cluster = None
if not server_url:
    base = Path(tempfile.mkdtemp(prefix="reports-bench-"))
    cluster = Cluster(base, dbname="postgres")
    # the dev cluster turns these off; later options win, so PostgreSQL's defaults are back
    options = ["-c fsync=on", "-c full_page_writes=on", "-c synchronous_commit=on"]
    if os.environ.get("BENCH_PG_OPTIONS", "").strip():
        options.append(os.environ["BENCH_PG_OPTIONS"].strip())
    print(f"throwaway cluster in {base} (server options: {' '.join(options)})")
    cluster.start(extra_options=tuple(options))
    server_url = cluster.url("postgres", search_path=None)

dbname = f"reports_bench_{os.getpid()}"
try:
    with connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        info = conn.execute(
            "SELECT current_setting('server_version') AS version,"
            " current_setting('shared_buffers') AS shared_buffers,"
            " current_setting('max_wal_size') AS max_wal_size,"
            " current_setting('fsync') AS fsync,"
            " current_setting('synchronous_commit') AS synchronous_commit"
        ).fetchone()
    url = with_dbname(server_url, dbname)
    started = time.monotonic()
    counts = load_demo_data(url, scale=scale, seed=seed, end=end, progress=print)
    elapsed = time.monotonic() - started
    with connect(url) as conn:
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database())) AS s").fetchone()
    print()
    print(f"scale {scale} (seed {seed}, end {end}): {elapsed:.1f} s wall time")
    for table, n in counts.items():
        print(f"  {table:<24} {n:>12,}")
    print(f"  {'total rows':<24} {sum(counts.values()):>12,}   database size {size['s']}")
    print(f"machine: {machine()}")
    print(
        f"PostgreSQL {info['version']}: shared_buffers {info['shared_buffers']}, max_wal_size "
        f"{info['max_wal_size']}, fsync {info['fsync']}, synchronous_commit {info['synchronous_commit']}"
    )
finally:
    with connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
    if cluster is not None:
        cluster.destroy()
PY
