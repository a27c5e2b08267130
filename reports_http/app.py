"""The FastAPI application of ``reports-api``.

Layers, outermost first: :class:`reports_http.observe.ObserveLayer` (request id, Server-Timing,
request metrics) and :class:`reports_http.fastpath.ReportCacheLayer` (cached and 304 answers of
report calls), both plain ASGI in front of everything FastAPI adds (:class:`ReportsApi`), then
FastAPI's middlewares and the error handlers of :mod:`reports_http.errors`, then the routes
(:mod:`reports_http.routes`, :mod:`reports_http.health`, :mod:`reports_http.refresh_api`,
:mod:`reports_http.metrics`).
``/openapi.json`` is rebuilt from the catalog whenever it changes (:mod:`reports_http.openapi`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.telemetry import TelemetryConfig
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp

from reports_core.settings import Settings
from reports_http import context, errors, health, metrics, openapi, refresh_api, routes
from reports_http.fastpath import ReportCacheLayer
from reports_http.observe import ObserveLayer
from reports_http.service import Service

log = logging.getLogger("reports_http.app")

TITLE = "reports"
SUMMARY = "Read-only CRM reports: every exposed SQL function of schema reports as an endpoint."
VERSION = "0.1.0"
#: FastAPI's native OpenTelemetry hooks, all off: the service reports through its own request ids,
#: ``Server-Timing`` and Prometheus ``/metrics`` (:mod:`reports_http.observe`), and FastAPI would
#: otherwise look for configured OpenTelemetry providers on every request, which cost about a fifth
#: of the CPU of a cached answer (docs/benchmarks.md, "The service's own CPU per request").
TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


class ReportsApi(FastAPI):
    """FastAPI with the service's own ASGI layers outside all of FastAPI's (the hot path of cached
    and 304 answers skips FastAPI's middlewares, routing and validation)."""

    def build_middleware_stack(self) -> ASGIApp:
        service: Service = self.state.service
        inner = super().build_middleware_stack()
        return ObserveLayer(ReportCacheLayer(inner, service), service)  # type: ignore[arg-type]


def create_app(settings: Settings) -> FastAPI:
    """The application; :class:`ConfigError` for unusable identity settings (``REPORTS_AUTH``)."""
    context.install_log_record_factory()
    service = Service.create(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(service.start)
        hangup = _on_sighup(lambda: service.reload_catalog_in_background("SIGHUP"))
        try:
            yield
        finally:
            hangup()
            await run_in_threadpool(service.stop)

    app = ReportsApi(
        title=TITLE, summary=SUMMARY, version=VERSION, lifespan=lifespan, telemetry=TELEMETRY_OFF
    )
    app.state.service = service
    errors.install(app)
    app.include_router(health.router)
    app.add_api_route(
        "/ready",
        health.ready_endpoint(settings, service.catalog_readiness),
        methods=["GET"],
        tags=["operations"],
        summary="The database is reachable, no migration is pending and the report catalog is loaded "
        "(503 with the reason otherwise).",
        responses={
            200: {"description": 'Ready: `{"status": "ready", "reason": ..., "server": "PostgreSQL 18.6"}`.'},
            503: {
                "description": 'Not ready: `{"status": "not ready", "reason": ..., "server": ...}` says '
                "why (server: null when the database cannot be reached or its version is refused)."
            },
        },
    )
    app.include_router(routes.router)
    app.include_router(refresh_api.router)
    app.include_router(metrics.router)
    app.openapi = _openapi(app, service)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI, service: Service) -> Callable[[], dict[str, Any]]:
    """``app.openapi``: FastAPI's document of the fixed routes plus the catalog's reports, per catalog."""
    built: dict[str | None, dict[str, Any]] = {}

    def document() -> dict[str, Any]:
        catalog = service.catalog.current  # never blocks the event loop (loading happens elsewhere)
        key = catalog.version if catalog else None
        if key not in built:
            base = get_openapi(title=TITLE, version=VERSION, summary=SUMMARY, routes=app.routes)
            built.clear()
            built[key] = openapi.with_reports(
                base, catalog, max_rows=service.settings.max_rows, auth=service.settings.auth
            )
        return built[key]

    return document


def _on_sighup(handler: Callable[[], None]) -> Callable[[], None]:
    """Call ``handler`` on SIGHUP (main thread only: not under a test client); returns the undo."""
    try:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, handler)
    except (RuntimeError, ValueError, NotImplementedError) as exc:
        log.debug("no SIGHUP handler: %s", exc)
        return lambda: None

    def undo() -> None:
        with suppress(RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGHUP)

    return undo
