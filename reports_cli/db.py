"""Connections to the reports database and to the CRM sources."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from reports_cli.dburl import redact, to_libpq
from reports_cli.errors import ReportsError


def connect(
    url: str, *, autocommit: bool = False, application_name: str = "reports", **kwargs: Any
) -> psycopg.Connection[dict[str, Any]]:
    """Open a connection (rows as dicts) to ``url``, accepting the ``?search_path=`` form."""
    try:
        return psycopg.connect(
            to_libpq(url),
            autocommit=autocommit,
            row_factory=dict_row,
            application_name=application_name,
            **kwargs,
        )
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ReportsError(f"cannot connect to {redact(url)}: {reason}") from None
