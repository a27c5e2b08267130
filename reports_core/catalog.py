"""The catalog of exposed report functions: what ``reports.api_catalog()`` says, as Python objects.

The SQL function decides what is exposed (docs/permissions.md: EXECUTE granted to
``reports_reader``) and describes each function; this module only reads it. A
:class:`CatalogStore` holds the current catalog and reloads it (at start-up, on ``NOTIFY
reports_catalog`` from ``reports migrate``, on SIGHUP); a reload that fails keeps the last good
catalog and logs why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from reports_core.db import connect
from reports_core.errors import ReportsError
from reports_core.formats import Column

log = logging.getLogger("reports_core.catalog")

Conn = psycopg.Connection[dict[str, Any]]
#: Query-string names of the HTTP layer (paging, format): a report with a parameter so named is not exposed.
RESERVED = frozenset({"limit", "offset", "format"})
#: Seconds between two attempts to load a catalog that could never be loaded (database down).
LOAD_RETRY_S = 2.0
CONNECT_TIMEOUT_S = 5


@dataclass(frozen=True)
class Parameter:
    """An input parameter of a report function (its query-string name is ``name`` verbatim)."""

    name: str
    type: str  # format_type(): date, integer, bigint, numeric, text, boolean, ...
    has_default: bool
    default: Any  # the default as a JSON value when it is a constant, else None
    default_expression: str | None  # the default as SQL prints it (None without a default)
    position: int

    @property
    def required(self) -> bool:
        return not self.has_default


@dataclass(frozen=True)
class Report:
    """An exposed report function: ``GET /reports/<name>``."""

    name: str
    comment: str
    parameters: tuple[Parameter, ...]
    columns: tuple[Column, ...]
    summaries: tuple[str, ...]  # the summary tables it reads (their generations version its data)

    @property
    def summary(self) -> str:
        """The first line of the comment."""
        return self.comment.strip().split("\n", 1)[0]

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": f"/reports/{self.name}",
            "summary": self.summary,
            "description": self.comment,
            "parameters": [
                {
                    "name": p.name,
                    "type": p.type,
                    "required": p.required,
                    "default": p.default,
                    "default_expression": p.default_expression,
                }
                for p in self.parameters
            ],
            "columns": [{"name": c.name, "type": c.type} for c in self.columns],
            "summaries": list(self.summaries),
        }


@dataclass(frozen=True)
class Catalog:
    reports: Mapping[str, Report]  # by name, in name order
    version: str  # sha256 of what reports.api_catalog() returned: changes with any contract change
    loaded_at: datetime

    def get(self, name: str) -> Report | None:
        return self.reports.get(name)


def _report(row: Mapping[str, Any]) -> Report:
    parameters = tuple(
        Parameter(
            name=p["name"],
            type=p["type"],
            has_default=bool(p["has_default"]),
            default=p["default"],
            default_expression=p["default_expression"],
            position=int(p["position"]),
        )
        for p in row["parameters"]
    )
    columns = tuple(Column(c["name"], c["type"]) for c in row["columns"])
    return Report(row["name"], row["comment"] or "", parameters, columns, tuple(row["summaries"]))


def read_catalog(conn: Conn) -> Catalog:
    """The catalog from ``reports.api_catalog()``; functions with a ``problem`` are logged and skipped."""
    rows = conn.execute(
        "SELECT name, comment, parameters, columns, summaries, problem FROM reports.api_catalog()"
    ).fetchall()
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()
    reports: dict[str, Report] = {}
    for row in rows:
        reserved = sorted(RESERVED & {p["name"] for p in row["parameters"]})
        problem = row["problem"] or (
            f"parameter {reserved[0]} has a name reserved by the API" if reserved else None
        )
        if problem:
            log.warning("report function reports.%s is not exposed: %s", row["name"], problem)
            continue
        reports[row["name"]] = _report(row)
    return Catalog(dict(sorted(reports.items())), digest, datetime.now(UTC))


class CatalogStore:
    """The current catalog of one process; thread-safe; reloads keep the last good catalog."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()
        self._last_attempt = float("-inf")
        self._callbacks: list[Callable[[Catalog], None]] = []
        self.last_error: str | None = None

    @property
    def current(self) -> Catalog | None:
        """The last good catalog (None until one could be loaded)."""
        return self._catalog

    def on_change(self, callback: Callable[[Catalog], None]) -> None:
        """Call ``callback(new_catalog)`` after every reload that changed the catalog."""
        self._callbacks.append(callback)

    def get(self) -> Catalog | None:
        """The current catalog, loading it first when none was ever loaded (at most every few seconds)."""
        if self._catalog is None and time.monotonic() - self._last_attempt >= LOAD_RETRY_S:
            self.reload("first use")
        return self._catalog

    def reload(self, reason: str) -> bool:
        """Read the catalog again; on failure keep the previous one and log why. True when it loaded."""
        with self._lock:
            self._last_attempt = time.monotonic()
            try:
                with connect(
                    self._url,
                    autocommit=True,
                    application_name="reports-api catalog",
                    connect_timeout=CONNECT_TIMEOUT_S,
                ) as conn:
                    new = read_catalog(conn)
            except (ReportsError, psycopg.Error) as exc:
                self.last_error = " ".join(str(exc).split()) or type(exc).__name__
                kept = f"kept the catalog of {self._catalog.loaded_at:%H:%M:%S}" if self._catalog else "none"
                log.error("catalog reload (%s) failed (%s): %s", reason, kept, self.last_error)
                return False
            old, self._catalog, self.last_error = self._catalog, new, None
        if old is None or old.version != new.version:
            added = sorted(set(new.reports) - set(old.reports if old else ()))
            removed = sorted(set(old.reports if old else ()) - set(new.reports))
            log.info(
                "catalog loaded (%s): %d reports%s%s",
                reason,
                len(new.reports),
                f"; added {', '.join(added)}" if old and added else "",
                f"; removed {', '.join(removed)}" if removed else "",
            )
            for callback in self._callbacks:
                callback(new)
        return True
