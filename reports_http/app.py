"""The FastAPI application of ``reports-api``."""

from __future__ import annotations

from fastapi import FastAPI

from reports_cli.settings import Settings
from reports_http import health


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="reports",
        summary="Read-only CRM reports: every exposed SQL function of schema reports as an endpoint.",
        version="0.1.0",
    )
    app.include_router(health.router)
    app.add_api_route(
        "/ready",
        health.ready_endpoint(settings),
        methods=["GET"],
        tags=["operations"],
        summary="The database is reachable and no migration is pending (503 with the reason otherwise).",
    )
    return app
