"""Shared parts of the benchmark scripts: the throwaway database, the machine, timing.

Where a benchmark runs:

- default: a throwaway cluster in a temporary directory (``reports_cli.devdb.Cluster``) with
  PostgreSQL's defaults for durability (``fsync``, ``full_page_writes`` and ``synchronous_commit``
  on, which the dev and test clusters turn off) plus :data:`SERVER_OPTIONS`, and
  ``BENCH_PG_OPTIONS`` when set; demo data at the requested scale (seed 42) and every migration
  are loaded, and the cluster is deleted at the end.
- ``BENCH_DATABASE_URL=postgresql://...``: an existing database that already holds the demo data
  and the migrations (to repeat a measurement without generating again). The scripts change the
  summaries and the sources of that database: never point it at a real one.
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from reports_cli.devdb import Cluster
from reports_cli.pgserver import ServerBinaries
from reports_core.db import connect

#: server options of the throwaway cluster besides the durability defaults (say so next to a figure)
SERVER_OPTIONS = ("-c shared_buffers=2GB", "-c max_wal_size=4GB")
DEMO_END = date(2026, 11, 26)
SEED = 42


def machine() -> str:
    """nproc, memory, CPU model, date and load average of this machine, in one line."""
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    return (
        f"{datetime.now():%Y-%m-%d %H:%M}, nproc {os.cpu_count()}, {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"{model}, load average {load_average()}"
    )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def server(url: str) -> str:
    """The server version and the settings that matter for the figures, in one line."""
    names = ("shared_buffers", "work_mem", "max_wal_size", "fsync", "synchronous_commit", "jit")
    with connect(url, autocommit=True) as conn:
        version = conn.execute("SELECT current_setting('server_version') AS v").fetchone()
        values = {n: conn.execute("SELECT current_setting(%s) AS v", [n]).fetchone() for n in names}
    assert version is not None
    return f"PostgreSQL {version['v']}: " + ", ".join(f"{n} {v['v']}" for n, v in values.items() if v)


@contextmanager
def bench_database(
    scale: int, progress: Callable[[str], None] = print, *, server: ServerBinaries | None = None
) -> Iterator[str]:
    """URL (``?search_path=reports``) of a database with demo data at ``scale`` and every migration,
    on a throwaway cluster of ``server`` (default: the one ``reports dev-db server`` names)."""
    existing = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if existing and server is None:
        progress(f"using the existing database of BENCH_DATABASE_URL (scale assumed {scale})")
        yield existing
        return
    from reports_cli.demo import load_demo_data
    from reports_core.migrate import migrate

    base = Path(tempfile.mkdtemp(prefix="reports-bench-"))
    os.chmod(base, 0o755)  # noqa: S103 - the cluster runs as another OS user when this is root
    cluster = Cluster(base, dbname="crm", server=server)
    options = ["-c fsync=on", "-c full_page_writes=on", "-c synchronous_commit=on", *SERVER_OPTIONS]
    if os.environ.get("BENCH_PG_OPTIONS", "").strip():
        options.append(os.environ["BENCH_PG_OPTIONS"].strip())
    progress(f"throwaway cluster in {base} (server options: {' '.join(options)})")
    try:
        cluster.start(extra_options=tuple(options))
        url = cluster.url("crm")
        started = time.monotonic()
        load_demo_data(url, scale=scale, seed=SEED, end=DEMO_END, progress=lambda _line: None)
        migrate(url, progress=lambda _line: None)
        progress(f"demo data at scale {scale} and migrations loaded in {time.monotonic() - started:.0f} s")
        yield url
    finally:
        cluster.destroy()


def timed(fn: Callable[[], Any]) -> float:
    """Seconds ``fn()`` took."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def percentile(samples: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 1 else f"{value:.2f}"
