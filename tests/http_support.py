"""Helpers of the HTTP API tests (tests/test_http_*.py): tokens, a started app, the SQL reference call."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import jwt
import psycopg
from fastapi.testclient import TestClient
from psycopg import sql

from reports_core.db import connect
from reports_core.settings import Settings
from reports_http.app import create_app

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
AUDIENCE = "reports-api"
P_FROM, P_TO = "2025-07-01", "2026-06-30"

# Every report of the issue with valid parameters (query-string values), by SQL parameter name.
CALLS: dict[str, dict[str, str]] = {
    "sales_pipeline": {},
    "revenue_by_period": {"p_from": P_FROM, "p_to": P_TO, "p_grain": "quarter"},
    "manager_leaderboard": {"p_from": P_FROM, "p_to": P_TO, "p_limit": "1000"},
    "stage_funnel": {"p_from": P_FROM, "p_to": P_TO},
    "payments_aging": {"p_as_of": P_TO},
    "collections_summary": {"p_from": P_FROM, "p_to": P_TO},
    "client_cohorts": {"p_from": P_FROM, "p_to": P_TO, "p_grain": "month"},
    "top_clients": {"p_from": P_FROM, "p_to": P_TO, "p_limit": "1000"},
    "activity_by_period": {"p_from": P_FROM, "p_to": P_TO, "p_grain": "month"},
    "activity_by_action": {"p_from": P_FROM, "p_to": P_TO},
    "dashboard": {"p_from": P_FROM, "p_to": P_TO},
}


def token(
    sub: str | int = "1",
    roles: Sequence[str] | str | None = ("admin",),
    *,
    expires_in: int = 300,
    key: Any = SECRET,
    algorithm: str = "HS256",
    **claims: Any,
) -> str:
    payload = {"sub": str(sub), "exp": int(time.time()) + expires_in, **claims}
    if roles is not None:
        payload["roles"] = list(roles) if not isinstance(roles, str) else roles
    return jwt.encode(payload, key, algorithm=algorithm)


def bearer(sub: str | int = "1", roles: Sequence[str] = ("admin",), **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub, roles, **kwargs)}"}


def settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "jwt_secret": SECRET,
        "pool_size": 2,
        "pool_timeout": "2s",
        **overrides,
    }
    return Settings(**values)


@contextmanager
def api(db_url: str, **overrides: Any) -> Iterator[TestClient]:
    """A started app (lifespan run: pool, catalog, LISTEN thread) and its test client."""
    with TestClient(create_app(settings(db_url, **overrides)), raise_server_exceptions=False) as client:
        yield client


def refresh(db_url: str) -> None:
    with connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT * FROM reports.refresh_all()").fetchall()


def sql_as_caller(
    db_url: str, report: str, params: Mapping[str, Any], user_id: int, roles: Sequence[str]
) -> list[dict[str, Any]]:
    """The report called in SQL by the same caller (set_caller in the same transaction)."""
    args = sql.SQL(", ").join(sql.SQL("{} => %s").format(sql.Identifier(name)) for name in params)
    query = sql.SQL("SELECT * FROM reports.{}({})").format(sql.Identifier(report), args)
    with connect(db_url) as conn, conn.transaction():
        conn.execute("SELECT reports.set_caller(%s, %s)", [user_id, list(roles)])
        return conn.execute(query, list(params.values())).fetchall()


def typed_params(params: Mapping[str, str]) -> dict[str, Any]:
    """Query-string values as SQL values for :func:`sql_as_caller` (dates, integers, text)."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name in ("p_from", "p_to", "p_as_of"):
            out[name] = date.fromisoformat(value)
        elif value.isdigit():
            out[name] = int(value)
        else:
            out[name] = value
    return out


def json_rows(response: httpx.Response) -> list[dict[str, Any]]:
    """The ``data`` rows of a JSON answer with values typed as psycopg loads them (by ``meta.columns``)."""
    body = json.loads(response.text, parse_float=Decimal)
    kinds = {c["name"]: c["type"] for c in body["meta"]["columns"]}
    return [{name: _typed(kinds[name], value) for name, value in row.items()} for row in body["data"]]


def _typed(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "date":
        return date.fromisoformat(value)
    if kind.startswith("timestamp"):
        return datetime.fromisoformat(value)
    if kind == "numeric":
        return Decimal(value) if isinstance(value, str) else Decimal(str(value))
    return value


def first_user(db_url: str, *, with_team: bool = True) -> int:
    with psycopg.connect(db_url.split("?")[0]) as conn:
        condition = "WHERE team_id IS NOT NULL" if with_team else ""
        row = conn.execute(f"SELECT id FROM crm.users {condition} ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    return int(row[0])
