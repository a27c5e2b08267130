"""Run ``reports-api`` under uvicorn."""

from __future__ import annotations

import uvicorn

from reports_cli.settings import Settings
from reports_http.app import create_app


def serve(settings: Settings) -> None:
    settings.require_database_url()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
