"""``GET /metrics``: the service in Prometheus text format.

Per process (each worker has its own registry):

- ``reports_http_requests_total`` and ``reports_http_request_duration_seconds`` (histogram), by
  ``route`` (``/reports/{name}``, ``/reports``, ``/refresh``, ... or ``other``), ``report`` (the
  report of a call, empty otherwise) and ``status``;
- ``reports_http_cache_requests_total`` by ``report`` and ``result``: ``hit`` (served from
  memory), ``not_modified`` (304) or ``miss`` (run on the database); report calls the cache
  cannot answer (invalid, unauthenticated, LISTEN connection down) are not counted;
  ``reports_http_cache_entries``, ``reports_http_cache_bytes``,
  ``reports_http_cache_invalidated_entries_total`` (dropped by refresh notifications);
- ``reports_http_pool_*``: the connection pool (``psycopg_pool`` ``get_stats()``);
- per summary (``view``), read from ``reports.refresh_status()`` at most once per
  ``REPORTS_METRICS_INTERVAL``, on a connection of its own (:mod:`reports_http.status_snapshot`):
  ``reports_view_age_seconds`` (since the start of its last successful refresh; absent if never),
  ``reports_view_last_success_timestamp_seconds``, ``reports_view_generation``,
  ``reports_view_rows``, ``reports_view_needs_full_refresh``, ``reports_view_info{mode,
  last_status}`` and, when the refresh engine reports them, ``reports_view_pending_changes``,
  ``reports_view_oldest_pending_age_seconds`` and ``reports_view_last_duration_seconds``.
  ``refresh_status()`` is granted to ``reports_api`` (and ``reports_refresher``); on a database
  where the service's role may not call it, the age, refresh time and generation come from
  ``reports.api_data_versions()`` instead.
  ``reports_view_status_up`` is 0 when neither could be read (database down);
- ``process_*``: memory, CPU and file descriptors of the process.

With ``REPORTS_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>`` (401
otherwise).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from reports_http.cache import ResultCache

log = logging.getLogger("reports_http.metrics")

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# get_stats() key -> (metric name, help, counter?, scale)
_POOL_STATS: dict[str, tuple[str, str, bool, float]] = {
    "pool_min": ("pool_min_connections", "Smallest size of the pool", False, 1),
    "pool_max": ("pool_max_connections", "Largest size of the pool", False, 1),
    "pool_size": ("pool_connections", "Connections in the pool (in use or idle)", False, 1),
    "pool_available": ("pool_idle_connections", "Idle connections in the pool", False, 1),
    "requests_waiting": ("pool_requests_waiting", "Requests waiting for a connection now", False, 1),
    "requests_num": ("pool_requests", "Connection requests", True, 1),
    "requests_queued": ("pool_requests_queued", "Connection requests that had to wait", True, 1),
    "requests_wait_ms": ("pool_request_wait_seconds", "Time spent waiting for a connection", True, 1e-3),
    "requests_errors": ("pool_request_errors", "Connection requests that failed (timeout)", True, 1),
    "usage_ms": ("pool_usage_seconds", "Time connections were lent out", True, 1e-3),
    "returns_bad": ("pool_returns_bad", "Connections returned in a bad state", True, 1),
    "connections_num": ("pool_connection_attempts", "Connection attempts to the server", True, 1),
    "connections_ms": ("pool_connecting_seconds", "Time spent connecting to the server", True, 1e-3),
    "connections_errors": ("pool_connection_errors", "Failed connection attempts", True, 1),
    "connections_lost": ("pool_connections_lost", "Connections found broken and discarded", True, 1),
}


class Metrics:
    """The request and cache metrics of one process, and its registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        labels = ["route", "report", "status"]
        self._requests = Counter(
            "reports_http_requests", "HTTP requests answered", labels, registry=self.registry
        )
        self._latency = Histogram(
            "reports_http_request_duration_seconds",
            "Time from the request to the last byte of the answer",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._cache = Counter(
            "reports_http_cache_requests",
            "Report calls by cache result: hit (from memory), not_modified (304), miss (run)",
            ["report", "result"],
            registry=self.registry,
        )
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._cache_children: dict[tuple[str, str], Any] = {}

    def observe_request(self, route: str, report: str, status: int, seconds: float) -> None:
        key = (route, report, status)
        children = self._request_children.get(key)
        if children is None:
            values = (route, report, str(status))
            children = (self._requests.labels(*values), self._latency.labels(*values))
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def cache_result(self, report: str, result: str) -> None:
        child = self._cache_children.get((report, result))
        if child is None:
            child = self._cache_children[(report, result)] = self._cache.labels(report, result)
        child.inc()

    def exposition(self) -> bytes:
        """The text format of every metric (collectors that read the database run here: call it in a
        worker thread)."""
        return generate_latest(self.registry)


class ServiceCollector(Collector):
    """Pool, cache and per-summary metrics, read at scrape time."""

    def __init__(
        self,
        pool_stats: Callable[[], Mapping[str, int] | None],
        cache: ResultCache,
        view_rows: Callable[[], list[dict[str, Any]] | None],
    ) -> None:
        self._pool_stats = pool_stats
        self._cache = cache
        self._view_rows = view_rows

    def collect(self) -> Iterator[Metric]:
        yield from self._pool()
        yield GaugeMetricFamily(
            "reports_http_cache_entries", "Responses in the cache", value=self._cache.size
        )
        yield GaugeMetricFamily(
            "reports_http_cache_bytes", "Bytes of the cached bodies", value=self._cache.bytes
        )
        yield CounterMetricFamily(
            "reports_http_cache_invalidated_entries",
            "Cached responses dropped because a refresh changed their data",
            value=self._cache.invalidated,
        )
        yield from view_metrics(self._view_rows())

    def _pool(self) -> Iterator[Metric]:
        stats = self._pool_stats() or {}
        for key, (name, text, is_counter, scale) in _POOL_STATS.items():
            value = stats.get(key, 0) * scale
            family = CounterMetricFamily if is_counter else GaugeMetricFamily
            yield family(f"reports_http_{name}", text, value=value)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Decimal | int | float):
        return float(value)
    return None


def view_metrics(rows: list[dict[str, Any]] | None) -> Iterator[Metric]:
    """The per-summary families of the rows of ``refresh_status()`` (or of the fallback query)."""
    yield GaugeMetricFamily(
        "reports_view_status_up",
        "1 when the state of the summaries could be read",
        value=int(rows is not None),
    )
    if not rows:
        return
    now = datetime.now(UTC)
    families: dict[str, GaugeMetricFamily] = {}

    def add(name: str, text: str, view: str, value: float | None, **labels: str) -> None:
        if value is None:
            return
        if name not in families:
            families[name] = GaugeMetricFamily(name, text, labels=["view", *labels])
        families[name].add_metric([view, *labels.values()], value)

    for row in rows:
        view = str(row["view"])
        last = row.get("last_success_at")
        age = _seconds(row["age"]) if "age" in row else (now - last).total_seconds() if last else None
        add("reports_view_age_seconds", "Seconds since the start of its last successful refresh", view, age)
        add(
            "reports_view_last_success_timestamp_seconds",
            "Start of its last successful refresh",
            view,
            _seconds(last),
        )
        add(
            "reports_view_generation",
            "Bumped by every refresh that changed its rows",
            view,
            _seconds(row.get("generation")),
        )
        add("reports_view_rows", "Rows after its last successful refresh", view, _seconds(row.get("rows")))
        if "needs_full_refresh" in row:
            add(
                "reports_view_needs_full_refresh",
                "1 until its next refresh rebuilds every day",
                view,
                float(bool(row["needs_full_refresh"])),
            )
        if "mode" in row:
            add(
                "reports_view_info",
                "Refresh mode and status of the latest run",
                view,
                1.0,
                mode=str(row.get("mode") or ""),
                last_status=str(row.get("last_status") or ""),
            )
        if "pending_changes" in row:
            add(
                "reports_view_pending_changes",
                "Captured source changes not refreshed yet",
                view,
                _seconds(row["pending_changes"]) or 0.0,
            )
        if "oldest_pending_at" in row:
            oldest = row["oldest_pending_at"]
            add(
                "reports_view_oldest_pending_age_seconds",
                "Age of its oldest pending change",
                view,
                (now - oldest).total_seconds() if oldest else 0.0,
            )
        if "last_duration_ms" in row:
            duration = _seconds(row["last_duration_ms"])
            add(
                "reports_view_last_duration_seconds",
                "Duration of its latest refresh run",
                view,
                duration / 1000 if duration is not None else None,
            )
    yield from families.values()


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests, latency, cache, pool, data age per summary.",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics_endpoint(request: Request) -> Response:
    service = request.app.state.service
    token = service.settings.metrics_token
    if token is not None:
        scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.get_secret_value().encode()
        ):
            return Response(
                "/metrics needs Authorization: Bearer <REPORTS_METRICS_TOKEN>\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    metrics: Metrics = service.metrics
    body = await run_in_threadpool(metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
