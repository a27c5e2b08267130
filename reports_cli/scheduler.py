"""``reports refresh --every 5m`` / ``reports scheduler``: refresh on a schedule and after large changes.

A :class:`Scheduler` loops until :meth:`Scheduler.stop` (the CLI calls it on SIGINT/SIGTERM):

- **Schedule.** Due times are the multiples of the interval since the Unix epoch, in the database
  server's clock (``--every 5m``: :00, :05, :10 ...), so every instance agrees on them. A due time
  T is *done* when every refreshed view's last successful refresh started at or after T
  (``reports.refresh_status().last_success_at``, whoever ran it: another instance, ``reports
  refresh``, pg_cron). When the latest due time is not done, the instance refreshes at once, so
  a scheduler started late, or after an outage, catches up with one run (due times that passed
  during one run are covered by the next run, never run one by one).
- **Never two at once, never a due time lost.** An instance first takes the refresh lock
  (:func:`reports_core.refresh.acquire_refresh_lock`, the key of the SQL engine's lock) at session
  level, polling so that it can stop; then, in one REPEATABLE READ transaction whose snapshot is
  taken after the lock was granted, it checks again whether the due time is done (another instance
  may have refreshed while it waited) and only if not calls ``reports.refresh_views``; it commits,
  then releases the lock. A refresh killed midway (backend terminated, server restart) rolls back
  whole: the due time stays not done, and the next instance to get the lock, or this one after
  reconnecting, refreshes. An instance never overlaps itself (one loop), and a refresh longer than
  the interval delays the next one instead of stacking.
- **Threshold.** The instance reads ``reports.pending_changes()`` every ``min_interval`` (at
  least every second), and sooner on a notification on ``reports_changes`` (sent by the change
  capture triggers when ``reports.capture_notify`` is on (off by default); at most one read a second, however
  many arrive). When a view's pending count reaches ``threshold`` and the last refresh started at
  least ``min_interval`` ago, it refreshes without waiting for the schedule (under the lock it
  checks the count again). Off when ``threshold`` is 0 or the database has no
  ``pending_changes()``.
- **Outages.** A lost connection or a transient error (SQLSTATE classes 08, 40, 53, 55, 57, 58)
  is one log line, then a reconnect with exponential backoff (1 s doubling up to 30 s). Any
  other database error (unknown view, permission denied, missing migrations) stops the scheduler
  with a :class:`ReportsError`.

A view that fails to refresh is logged and counts as attempted by this instance for that due time
(it is retried at the next one; another instance waiting for the same due time retries it once).
One line is logged per run, per due time found done by another instance, and per outage.
"""

from __future__ import annotations

import contextlib
import math
import re
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from reports_core.db import connect
from reports_core.errors import ReportsError
from reports_core.refresh import (
    acquire_refresh_lock,
    refresh_in_snapshot,
    release_refresh_lock,
)

__all__ = ["Schedule", "Scheduler", "parse_interval", "run_until_signalled", "timestamped"]

Conn = psycopg.Connection[dict[str, Any]]

#: SQLSTATE classes worth a reconnect and a retry: connection, rollback (serialization, deadlock),
#: resources, lock not available, operator intervention (shutdown, terminated), system error.
TRANSIENT_CLASSES = frozenset({"08", "40", "53", "55", "57", "58"})
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
#: how often a waiting instance retries the refresh lock, and the longest sleep between checks
LOCK_POLL_S = 0.1
WAIT_SLICE_S = 0.5
#: the fewest seconds between two reads of reports.pending_changes() (notifications come in storms)
PENDING_CHECK_S = 1.0

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$")
_INTERVAL_UNIT_S = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}

_DB_NOW = "SELECT extract(EPOCH FROM pg_catalog.clock_timestamp())::float8 AS now"
_HAS_PENDING = "SELECT pg_catalog.to_regprocedure('reports.pending_changes()') IS NOT NULL AS present"
# A due time is done when every view asked for (all: NULL) last succeeded in a refresh started at or
# after it; a view never refreshed (NULL) is not done.
_DONE_SINCE = (
    "SELECT coalesce(bool_and(coalesce(s.last_success_at >= pg_catalog.to_timestamp(%(since)s), false)),"
    " false) AS done"
    " FROM reports.refresh_status() AS s WHERE %(views)s::text[] IS NULL OR s.view = ANY(%(views)s::text[])"
)
_LAST_START = (
    "SELECT extract(EPOCH FROM max(s.last_success_at))::float8 AS started FROM reports.refresh_status() AS s"
)
_MOST_PENDING = (
    "SELECT p.view, p.pending FROM reports.pending_changes() AS p"
    " WHERE %(views)s::text[] IS NULL OR p.view = ANY(%(views)s::text[])"
    " ORDER BY p.pending DESC, p.view LIMIT 1"
)


def parse_interval(value: str) -> float:
    """Seconds in ``5m``, ``300s``, ``2min``, ``1h``, ``1.5s``, ``500ms`` (a bare number is seconds)."""
    match = _INTERVAL.match(value)
    if not match:
        raise ReportsError(f"the interval must look like 5m, 30s, 2min, 1h or 500ms (got {value!r})")
    seconds = float(match.group(1)) * _INTERVAL_UNIT_S[match.group(2)]
    if seconds < 0.1:
        raise ReportsError(f"the interval must be at least 100ms (got {value!r})")
    return seconds


@dataclass(frozen=True)
class Schedule:
    """What a scheduler does: refresh ``views`` (None: all) every ``every_s`` seconds, and early
    when a view has ``threshold`` pending changes (0: never), at most once per ``min_interval_s``."""

    every_s: float
    threshold: int = 10_000
    min_interval_s: float = 30.0
    views: tuple[str, ...] | None = None

    def describe(self) -> str:
        views = ", ".join(self.views) if self.views else "every view"
        early = "no threshold refresh"
        if self.threshold > 0:
            early = (
                f"early at {self.threshold:,} pending changes of a view, "
                f"at most every {_seconds(self.min_interval_s)}"
            )
        return f"refresh {views} every {_seconds(self.every_s)}; {early}"


class _Stopped(Exception):
    """Raised inside the loop when stop() was called."""


class Scheduler:
    """Refreshes on a schedule and after large changes until :meth:`stop`; see the module docstring."""

    def __init__(self, url: str, schedule: Schedule, log: Callable[[str], None]) -> None:
        self.url = url
        self.schedule = schedule
        self.log = log
        self._stop = threading.Event()
        self._work: Conn | None = None
        self._listen: Conn | None = None
        self._refreshing = threading.Lock()  # held while a refresh statement runs on _work
        self._pending_available = False
        self._offset_s = 0.0  # database clock minus local clock
        self._last_slot = -math.inf  # latest due time this instance saw done or attempted
        self._last_run_start = -math.inf  # database clock, this instance's last refresh
        self._changes_seen = True  # check the pending changes once after every (re)connect
        self._next_pending_check = 0.0  # local monotonic clock: not before (notification storms)
        self._next_poll = 0.0  # local monotonic clock: without a notification, check again then
        self._poll_s = max(PENDING_CHECK_S, schedule.min_interval_s)
        self.runs = 0  # refreshes this instance ran (for tests and the exit line)

    # -- public ------------------------------------------------------------------
    def run(self) -> None:
        """Loop until stop(). Raises ReportsError on a non-transient database error."""
        self.log(f"scheduler started: {self.schedule.describe()}")
        backoff = BACKOFF_FIRST_S
        outage = False
        try:
            while not self._stop.is_set():
                try:
                    self._ensure_connected()
                    if outage:
                        self.log("database reachable again")
                        outage = False
                    self._tick()
                    backoff = BACKOFF_FIRST_S
                except _Stopped:
                    break
                except ReportsError as exc:  # connect() failed: the server is down or refuses
                    self._disconnect()
                    outage = True
                    self.log(f"database unavailable: {exc}; retrying in {_seconds(backoff)}")
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
                except psycopg.Error as exc:
                    self._disconnect()
                    if self._stop.is_set():
                        break
                    sqlstate = exc.sqlstate or ""
                    if sqlstate and sqlstate[:2] not in TRANSIENT_CLASSES:
                        raise ReportsError(f"scheduler stopped: {_one_line(exc)}") from None
                    outage = True
                    self.log(f"database error: {_one_line(exc)}; reconnecting in {_seconds(backoff)}")
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
        finally:
            self._disconnect()
            self.log(f"scheduler stopped after {self.runs} refresh(es)")

    def stop(self) -> None:
        """Ask the loop to end; a refresh running now is cancelled (it rolls back whole)."""
        self._stop.set()
        work = self._work
        if work is not None and self._refreshing.locked():
            with contextlib.suppress(psycopg.Error):  # the connection is gone: nothing runs any more
                work.cancel_safe(timeout=5.0)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- connections ---------------------------------------------------------------
    def _ensure_connected(self) -> None:
        if self._work is None or self._work.closed or self._work.broken:
            self._disconnect()
            self._work = connect(self.url, autocommit=True, application_name="reports scheduler")
            present = self._work.execute(_HAS_PENDING).fetchone()
            self._pending_available = bool(present and present["present"]) and self.schedule.threshold > 0
            if self._pending_available:
                self._listen = connect(self.url, autocommit=True, application_name="reports scheduler listen")
                self._listen.execute("LISTEN reports_changes")
                self._changes_seen = True

    def _disconnect(self) -> None:
        for conn in (self._work, self._listen):
            if conn is not None and not conn.closed:
                with contextlib.suppress(psycopg.Error):
                    conn.close()
        self._work = None
        self._listen = None

    def _conn(self) -> Conn:
        if self._work is None:
            raise psycopg.OperationalError("not connected")
        return self._work

    # -- one step of the loop ---------------------------------------------------------
    def _tick(self) -> None:
        now = self._db_now()
        every = self.schedule.every_s
        slot = math.floor(now / every) * every
        if slot > self._last_slot:
            self._refresh_for_slot(slot)
            self._last_slot = slot
            return
        trigger = self._threshold_trigger(now)
        if trigger is not None:
            self._refresh_for_threshold(*trigger)
            return
        self._wait_until(slot + every)

    def _db_now(self) -> float:
        row = self._conn().execute(_DB_NOW).fetchone()
        assert row is not None
        now = float(row["now"])
        self._offset_s = now - time.time()
        return now

    def _refresh_for_slot(self, slot: float) -> None:
        views = list(self.schedule.views) if self.schedule.views else None

        def not_done(conn: psycopg.Connection[Any]) -> bool:
            row = conn.execute(_DONE_SINCE, {"since": slot, "views": views}).fetchone()
            return not (row and row["done"])

        label = f"due {_clock(slot)}"
        if not self._refresh(label, not_done):
            self.log(f"{label}: already refreshed (by another instance or refresh)")

    def _threshold_trigger(self, now: float) -> tuple[str, int] | None:
        """(view, pending) when a threshold refresh should start now, else None."""
        if not self._pending_available or not self._pending_check_due():
            return None
        self._changes_seen = False
        self._next_pending_check = time.monotonic() + PENDING_CHECK_S
        self._next_poll = time.monotonic() + self._poll_s
        most = self._most_pending()
        if most is None or most[1] < self.schedule.threshold:
            return None
        row = self._conn().execute(_LAST_START).fetchone()
        last_start = max(self._last_run_start, float(row["started"]) if row and row["started"] else -math.inf)
        allowed_at = last_start + self.schedule.min_interval_s
        if now < allowed_at:
            # rate-limited: look again when allowed, even if no further notification comes
            self._changes_seen = True
            self._next_pending_check = time.monotonic() + (allowed_at - now)
            return None
        return most

    def _pending_check_due(self) -> bool:
        """Time to read the pending changes: after a notification (at most once per PENDING_CHECK_S),
        or every poll interval without one (reports.capture_notify is off by default)."""
        now = time.monotonic()
        return now >= self._next_pending_check and (self._changes_seen or now >= self._next_poll)

    def _most_pending(self, conn: psycopg.Connection[Any] | None = None) -> tuple[str, int] | None:
        views = list(self.schedule.views) if self.schedule.views else None
        row = (conn or self._conn()).execute(_MOST_PENDING, {"views": views}).fetchone()
        return (str(row["view"]), int(row["pending"])) if row else None

    def _refresh_for_threshold(self, view: str, pending: int) -> None:
        def still_over(conn: psycopg.Connection[Any]) -> bool:
            most = self._most_pending(conn)
            return most is not None and most[1] >= self.schedule.threshold

        label = f"threshold: {view} had {pending:,} pending changes"
        if not self._refresh(label, still_over):
            self.log(f"{label}: already refreshed by another instance")

    def _refresh(self, label: str, needed: Callable[[psycopg.Connection[Any]], bool]) -> bool:
        """Under the refresh lock, refresh when ``needed``; False when it was not needed."""
        conn = self._conn()
        while not acquire_refresh_lock(conn, wait=False):
            if self._stop.wait(LOCK_POLL_S):
                raise _Stopped
        try:
            started = time.monotonic()
            try:
                with self._refreshing:
                    if self._stop.is_set():
                        raise _Stopped
                    start_db = time.time() + self._offset_s
                    rows = refresh_in_snapshot(conn, self.schedule.views, needed=needed)
            except psycopg.errors.QueryCanceled:
                if self._stop.is_set():
                    self.log(f"{label}: refresh cancelled by stop, rolled back (the next run catches up)")
                    raise _Stopped from None
                raise
            if not rows:
                return False
            self.runs += 1
            self._last_run_start = start_db
            self.log(_run_line(label, rows, time.monotonic() - started))
            return True
        finally:
            if not conn.closed and not conn.broken:
                release_refresh_lock(conn)

    def _wait_until(self, db_deadline: float) -> None:
        """Sleep until ``db_deadline`` (database clock), a notification worth a look, or stop()."""
        deadline = db_deadline - self._offset_s
        while not self._stop.is_set():
            remaining = deadline - time.time()
            if remaining <= 0:
                return
            if self._pending_available and self._pending_check_due():
                return
            slice_s = min(WAIT_SLICE_S, remaining)
            if self._listen is None:
                self._stop.wait(slice_s)
                continue
            for _notify in self._listen.notifies(timeout=slice_s):
                self._changes_seen = True
                if self._pending_check_due():
                    return


def timestamped(write: Callable[[str], None]) -> Callable[[str], None]:
    """``write`` with each line prefixed by the UTC time, e.g. ``2026-11-26T12:05:00Z due ...``."""

    def log(line: str) -> None:
        write(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {line}")

    return log


def run_until_signalled(scheduler: Scheduler) -> None:
    """Run ``scheduler`` in a worker thread until SIGINT or SIGTERM, then stop it and return.

    Call from the main thread (signal handlers live there). The main thread only waits, so a
    signal is handled at once, whatever the worker is blocked in; the worker's error is re-raised.
    """
    errors: list[BaseException] = []

    def work() -> None:
        try:
            scheduler.run()
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)

    def on_signal(signum: int, _frame: object) -> None:
        if not scheduler.stopping:
            scheduler.log(f"{signal.Signals(signum).name} received: stopping")
        scheduler.stop()

    worker = threading.Thread(target=work, name="reports-scheduler", daemon=True)
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        worker.start()
        while worker.is_alive():
            worker.join(WAIT_SLICE_S)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if errors:
        raise errors[0]


def _run_line(label: str, rows: Sequence[dict[str, Any]], elapsed_s: float) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    line = f"{label}: refreshed in {elapsed_s * 1000:,.0f} ms ({summary})"
    failed = [row for row in rows if row["status"] == "failed"]
    if failed:
        first = failed[0]
        line += f"; failed: {', '.join(r['view'] for r in failed)} ({first['sqlstate']}: {first['error']})"
    return line


def _clock(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="milliseconds" if epoch % 1 else "seconds").replace("+00:00", "Z")


def _seconds(value: float) -> str:
    if value >= 3600 and value % 3600 == 0:
        return f"{value / 3600:g}h"
    if value >= 60 and value % 60 == 0:
        return f"{value / 60:g}min"
    return f"{value:g}s"


def _one_line(exc: psycopg.Error) -> str:
    diag = exc.diag
    message = (diag.message_primary or str(exc) or type(exc).__name__).strip().splitlines()[0]
    return f"{message} (SQLSTATE {diag.sqlstate})" if diag.sqlstate else message
