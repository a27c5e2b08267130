"""Run ``reports-api`` under uvicorn."""

from __future__ import annotations

import copy
import logging.config
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from reports_core.db import connect, require_supported_server
from reports_core.dburl import to_libpq
from reports_core.errors import ReportsError
from reports_core.settings import Settings
from reports_http.app import create_app
from reports_http.context import install_log_record_factory

_WITH_REQUEST_ID = "%(levelprefix)s [%(request_id)s] "


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the service's own loggers (and the pool's warnings) on the same handler;
    every line shows the id of the request it was written for (``-`` outside requests)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["fmt"] = formatter["fmt"].replace("%(levelprefix)s ", _WITH_REQUEST_ID, 1)
    for service_logger in ("reports_http", "reports_core"):
        config["loggers"][service_logger] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config["loggers"]["psycopg"] = {"handlers": ["default"], "level": "WARNING", "propagate": False}
    return config


def refuse_unsupported_server(settings: Settings) -> None:
    """Stop at start-up, with one line, on a PostgreSQL older than supported. A database that cannot be
    reached yet does not stop the start: ``/ready`` says so until it can."""
    url = settings.require_database_url()
    to_libpq(url)  # a malformed URL stops the start here (ConfigError), not as "cannot connect"
    try:
        conn = connect(url, autocommit=True, connect_timeout=5)
    except ReportsError:
        return
    with conn:
        require_supported_server(conn)


def serve(settings: Settings) -> None:
    refuse_unsupported_server(settings)
    config = log_config()
    install_log_record_factory()  # before any record is made: the formats use %(request_id)s
    logging.config.dictConfig(config)  # before create_app: its start-up checks log (insecure-dev warning)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", log_config=config)
