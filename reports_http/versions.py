"""The data version of every report, known in memory so that a cache hit or a 304 touches no database.

A report's data changes only when a summary it reads is refreshed with changed rows (its
``generation`` goes up, ``reports.api_catalog().summaries`` lists what it reads), when a report
function is redefined (``reports migrate``), when "today" moves on (reports such as
``payments_aging`` default to today in the reports time zone), or when what a caller may see
changes (``reports.api_access_version()``: access rules, the DB-role mapping, a user's team). So
the version of a report's data is the tuple (generations of its summaries, the access version, a
fingerprint of the function definitions of schema ``reports``, today in ``REPORTS_TIMEZONE``).

:class:`DataVersions` holds the generations and refresh times: loaded from
``reports.api_data_versions()`` at start-up and after every (re)connection of the LISTEN thread
(notifications sent while it was away are lost), updated at once by each ``reports_refreshed``
notification (``{"run_id":..., "views":[{"view":..., "generation":...}]}``), then re-read for
the refresh times; the access version likewise by each ``reports_access_changed`` notification
(``{"source":..., "version":...}``), which drops every cached answer. While the LISTEN connection
is down the versions cannot be trusted: :attr:`DataVersions.trusted` is False and the cache steps
aside.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

from reports_core.db import connect
from reports_core.errors import ReportsError

log = logging.getLogger("reports_http.versions")

CONNECT_TIMEOUT_S = 5
_VERSIONS = "SELECT summary, generation, refreshed_at FROM reports.api_data_versions()"
_ACCESS = "SELECT reports.api_access_version() AS version"
# Any CREATE OR REPLACE of a function of schema reports rewrites its pg_proc row (a new xmin).
_DEFINITIONS = """
SELECT pg_catalog.md5(
    coalesce(pg_catalog.string_agg(p.oid::text || ':' || p.xmin::text, ',' ORDER BY p.oid), '')
) AS fingerprint
FROM pg_catalog.pg_proc AS p
WHERE p.pronamespace = 'reports'::regnamespace
"""


@dataclass(frozen=True)
class SummaryVersion:
    generation: int
    refreshed_at: datetime | None


class Today:
    """Today's date in a time zone, recomputed only when the day ends (cheap to call per request)."""

    def __init__(self, timezone: str) -> None:
        self._zone = ZoneInfo(timezone)
        self._day = date.min
        self._until = 0.0  # time.time() at which _day ends

    def __call__(self) -> date:
        now = time.time()
        if now >= self._until:
            local = datetime.fromtimestamp(now, self._zone)
            self._day = local.date()
            midnight = datetime.combine(self._day + timedelta(days=1), datetime.min.time(), self._zone)
            self._until = midnight.timestamp()
        return self._day


class DataVersions:
    """Summary generations and refresh times of one process (thread-safe; reads are lock-free)."""

    def __init__(self, url: str, timezone: str) -> None:
        self._url = url
        self._summaries: Mapping[str, SummaryVersion] = {}
        self._definitions = ""
        self._access = 0
        self._loaded = False
        self._lock = threading.Lock()
        self._listeners: list[Callable[[frozenset[str]], None]] = []
        # version() per summaries tuple: (summaries mapping, definitions, access, today) it was made
        # from, and it
        self._versions: dict[
            tuple[str, ...], tuple[Mapping[str, SummaryVersion], str, int, date, str | None]
        ] = {}
        self.today = Today(timezone)
        self.listening: Callable[[], bool] = lambda: True

    # -- reading (hot path) ----------------------------------------------------------------
    @property
    def trusted(self) -> bool:
        """Loaded, and the LISTEN connection is up (so no refresh can go unnoticed)."""
        return self._loaded and self.listening()

    @property
    def summaries(self) -> Mapping[str, SummaryVersion]:
        return self._summaries

    def version(self, summaries: tuple[str, ...]) -> str | None:
        """The data version of a report reading ``summaries`` as text; None when unknown (not loaded, a
        summary not known, or a report that reads no summary: its data version cannot be told).
        Remembered per ``summaries`` until the generations, the definitions or the day change (both
        are replaced, never changed in place, so the memo compares them by identity)."""
        known, definitions, access, today = self._summaries, self._definitions, self._access, self.today()
        memo = self._versions.get(summaries)
        if (
            memo is not None
            and memo[0] is known
            and memo[1] is definitions
            and memo[2] == access
            and memo[3] == today
        ):
            return memo[4]
        try:
            generations = ",".join(str(known[name].generation) for name in summaries)
        except KeyError:
            generations = ""
        version = f"{generations};a{access};{definitions};{today.isoformat()}" if generations else None
        self._versions[summaries] = (known, definitions, access, today, version)
        return version

    def refreshed_at(self, summaries: Iterable[str]) -> datetime | None:
        """The oldest refresh time of ``summaries`` (None if one was never refreshed or is unknown)."""
        known = self._summaries
        times = [known[name].refreshed_at if name in known else None for name in summaries]
        if not times or any(t is None for t in times):
            return None
        return min(t for t in times if t is not None)

    # -- updating (LISTEN thread, start-up) ------------------------------------------------
    def on_change(self, callback: Callable[[frozenset[str]], None]) -> None:
        """Call ``callback(changed summary names)`` after a notification or a reload changed generations
        (an empty set: the definitions changed, every report is affected)."""
        self._listeners.append(callback)

    def reload(self, reason: str) -> bool:
        """Read every summary's version and the definitions fingerprint; False (logged) on failure."""
        try:
            with connect(
                self._url,
                autocommit=True,
                application_name="reports-api versions",
                connect_timeout=CONNECT_TIMEOUT_S,
            ) as conn:
                rows = conn.execute(_VERSIONS).fetchall()
                definitions = conn.execute(_DEFINITIONS).fetchone()
                access_row = conn.execute(_ACCESS).fetchone()
        except (ReportsError, psycopg.Error) as exc:
            log.error("data versions reload (%s) failed: %s", reason, " ".join(str(exc).split()))
            return False
        new = {r["summary"]: SummaryVersion(int(r["generation"]), r["refreshed_at"]) for r in rows}
        fingerprint = str(definitions["fingerprint"]) if definitions else ""
        access = int(access_row["version"]) if access_row else 0
        with self._lock:
            old, old_definitions, old_access = self._summaries, self._definitions, self._access
            self._summaries, self._definitions, self._access, self._loaded = new, fingerprint, access, True
        changed = frozenset(
            name for name, v in new.items() if name not in old or old[name].generation != v.generation
        ) | frozenset(set(old) - set(new))
        if old_definitions and old_definitions != fingerprint:
            log.info("report definitions changed (%s): every cached result is dropped", reason)
            self._notify(frozenset())
        elif old_definitions and old_access != access:
            log.info("access rules changed (%s): every cached result is dropped", reason)
            self._notify(frozenset())
        elif changed and old:
            self._notify(changed)
        log.debug("data versions loaded (%s): %d summaries", reason, len(new))
        return True

    def apply_notification(self, payload: str) -> frozenset[str]:
        """Take the generations of a ``reports_refreshed`` payload at once; then re-read the refresh times.
        Returns the summaries whose generation changed."""
        try:
            views = json.loads(payload)["views"]
            updates = {str(v["view"]): int(v["generation"]) for v in views}
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("unreadable reports_refreshed payload (%s): reloading every version", exc)
            self.reload("unreadable notification")
            return frozenset()
        now = datetime.now(UTC)
        with self._lock:
            summaries = dict(self._summaries)
            changed = frozenset(
                name
                for name, generation in updates.items()
                if name not in summaries or summaries[name].generation != generation
            )
            for name in changed:
                summaries[name] = SummaryVersion(updates[name], now)
            self._summaries = summaries
        if changed:
            self._notify(changed)
        self.reload("refresh notification")  # the exact refresh times (Last-Modified)
        return changed

    def apply_access_notification(self, payload: str) -> None:
        """Take the access version of a ``reports_access_changed`` payload; drop every cached answer."""
        try:
            access = int(json.loads(payload)["version"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("unreadable reports_access_changed payload (%s): reloading every version", exc)
            self.reload("unreadable notification")
            return
        with self._lock:
            # a notification older than the last reload never moves the version back
            changed, self._access = access > self._access, max(access, self._access)
        if changed:
            log.info("access rules changed (%s): every cached result is dropped", payload)
            self._notify(frozenset())

    def _notify(self, changed: frozenset[str]) -> None:
        for callback in self._listeners:
            callback(changed)
