"""The state of the summaries for ``/metrics``: read at most once per ``REPORTS_METRICS_INTERVAL``,
on a connection of its own, so that scrapes never take a connection from the report pool and a
flood of them costs the database one ``refresh_status()`` per interval.

A scrape that finds the snapshot older than the interval reads it again; scrapes that arrive while
one is reading get the previous snapshot at once instead of waiting (the very first scrape waits).
A failed read is remembered as "unreadable" (``reports_view_status_up`` 0) for the interval too,
and the connection is opened again on the next read.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg

from reports_core.db import connect
from reports_core.errors import ReportsError

log = logging.getLogger("reports_http.status_snapshot")

_STATUS = "SELECT * FROM reports.refresh_status()"
_VERSIONS = (
    "SELECT summary AS view, generation, refreshed_at AS last_success_at FROM reports.api_data_versions()"
)
#: Seconds a read may take (connect timeout and statement timeout).
READ_TIMEOUT_S = 2.0

Rows = list[dict[str, Any]]


class StatusSnapshot:
    def __init__(self, url: str, interval_s: float) -> None:
        self._url = url
        self._interval_s = interval_s
        self._rows: Rows | None = None
        self._read_at = float("-inf")
        self._reading = threading.Lock()
        self._conn: psycopg.Connection[dict[str, Any]] | None = None
        #: Reads made so far (one query each), for the tests and the logs.
        self.reads = 0

    def rows(self) -> Rows | None:
        """``refresh_status()`` rows (else the ``api_data_versions()`` fallback); None when unreadable."""
        if time.monotonic() - self._read_at < self._interval_s:
            return self._rows
        first = self._read_at == float("-inf")
        if not self._reading.acquire(blocking=first):
            return self._rows  # another scrape is reading: serve the previous snapshot
        try:
            if time.monotonic() - self._read_at >= self._interval_s:
                self._rows = self._read()
                self._read_at = time.monotonic()
            return self._rows
        finally:
            self._reading.release()

    def _read(self) -> Rows | None:
        self.reads += 1
        try:
            if self._conn is None or self._conn.closed:
                self._conn = connect(
                    self._url,
                    autocommit=True,
                    application_name="reports-api metrics",
                    connect_timeout=max(1, int(READ_TIMEOUT_S)),
                )
                self._conn.execute(
                    "SELECT pg_catalog.set_config('statement_timeout', %s, false)",
                    [str(int(READ_TIMEOUT_S * 1000))],
                )
            try:
                return list(self._conn.execute(_STATUS).fetchall())
            except psycopg.errors.InsufficientPrivilege:
                return list(self._conn.execute(_VERSIONS).fetchall())
        except (psycopg.Error, ReportsError) as exc:
            log.warning(
                "metrics: the state of the summaries could not be read: %s", " ".join(str(exc).split())
            )
            self.close()
            return None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
