"""The in-process cache of report responses and their ETags.

**Key.** A response is cached under :func:`cache_key`: the report, every parameter as the call
uses it (defaults applied, so ``p_grain`` omitted and ``p_grain=month`` share an entry; values
as parsed, written with ``repr``, which keeps types apart), the format, ``limit``/``offset``,
and the caller scope: user id and sorted application roles. Those two are exactly what the
request gives ``reports.set_caller`` and so everything the database knows about the caller:
the roles choose the access rule (``all``, ``team``, ``own``) and the user id picks the team or
the owner within it. Two managers (same roles, other ids) see other rows, and one user whose
roles changed may see other rows, so neither may share an entry; the service's own database
role is the same for every request and is not part of the key.

**Validity.** An entry is served while its ``version`` (see :mod:`reports_http.versions`) is
the current data version of its report and for at most ``REPORTS_CACHE_TTL`` seconds; a
refresh notification drops the entries of the refreshed summaries at once
(:meth:`ResultCache.invalidate`). Bounds: ``REPORTS_CACHE_MAX_ENTRIES`` entries (least recently
used first out), ``REPORTS_CACHE_MAX_BYTES`` per body (larger responses, e.g. big CSV/XLSX
streams, are never cached) and ``REPORTS_CACHE_MAX_TOTAL_BYTES`` in all.

**ETag.** :func:`etag` hashes (data version, key): weak (``W/``), since two bodies of one
version may differ in ``meta.refreshed_at`` when a refresh found nothing to change.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Header = tuple[bytes, bytes]
Headers = list[Header]


def call_key(report: str, params: Mapping[str, Any], fmt: str, limit: int | None, offset: int) -> str:
    """What is asked, whoever asks: report, parameters as used, format and page."""
    return f"{report}\x1f{fmt}\x1f{limit}\x1f{offset}\x1f{tuple(params.values())!r}"


def cache_key(call: str, user_id: int, roles: Iterable[str]) -> str:
    """The text key of a report response: :func:`call_key` and the caller scope (module docstring)."""
    return f"{user_id}\x1f{','.join(sorted(set(roles)))}\x1f{call}"


def etag(key: str, version: str) -> str:
    digest = hashlib.blake2b(f"{version}\x1e{key}".encode(), digest_size=16).hexdigest()
    return f'W/"{digest}"'


def if_none_match(header: str, current: str) -> bool:
    """True when an ``If-None-Match`` value matches ``current`` (weak comparison, RFC 9110 13.1.2)."""
    if header.strip() == "*":
        return True
    opaque = current.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


@dataclass(frozen=True, slots=True)
class CachedResponse:
    status: int
    headers: Headers  # as the report route sent them, with content-length
    body: bytes
    version: str
    summaries: tuple[str, ...]
    expires: float  # time.monotonic()


class ResultCache:
    """LRU of :class:`CachedResponse` by key; thread-safe (the LISTEN thread invalidates)."""

    def __init__(self, *, ttl_s: int, max_entries: int, max_entry_bytes: int, max_total_bytes: int) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_entry_bytes = max_entry_bytes
        self.max_total_bytes = max_total_bytes
        self._entries: OrderedDict[str, CachedResponse] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.invalidated = 0  # entries dropped by invalidations, in all

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0 and self.max_entries > 0 and self.max_entry_bytes > 0

    @property
    def size(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def get(self, key: str, version: str) -> CachedResponse | None:
        """The entry of ``key`` if it is of ``version`` and has not expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.version != version or entry.expires <= time.monotonic():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def put(
        self, key: str, version: str, summaries: Sequence[str], status: int, headers: Headers, body: bytes
    ) -> bool:
        """Store a response (False when it is too large or caching is off)."""
        if not self.enabled or len(body) > self.max_entry_bytes or len(body) > self.max_total_bytes:
            return False
        entry = CachedResponse(
            status, headers, body, version, tuple(summaries), time.monotonic() + self.ttl_s
        )
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self._bytes += len(body)
            while len(self._entries) > self.max_entries or self._bytes > self.max_total_bytes:
                self._drop(next(iter(self._entries)))
        return True

    def invalidate(self, summaries: frozenset[str]) -> int:
        """Drop the entries of reports reading any of ``summaries`` (empty: every entry); how many."""
        with self._lock:
            doomed = [
                key
                for key, entry in self._entries.items()
                if not summaries or not summaries.isdisjoint(entry.summaries)
            ]
            for key in doomed:
                self._drop(key)
            self.invalidated += len(doomed)
        return len(doomed)

    def clear(self) -> None:
        self.invalidate(frozenset())

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(entry.body)
