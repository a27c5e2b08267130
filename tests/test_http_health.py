"""reports-api: /health, /ready, and the real process starting and stopping cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from reports_cli.devdb import free_port
from reports_core.db import connect
from reports_core.settings import Settings
from reports_http.app import create_app

JWT_SECRET = "a-test-secret-that-is-long-enough-for-hs256"  # REPORTS_AUTH=jwt (the default) needs a key


def client_for(url: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=url, jwt_secret=JWT_SECRET)))


def test_health_does_not_need_the_database() -> None:
    client = client_for("postgresql://nobody@127.0.0.1:1/none")
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_on_a_migrated_database(db_url: str) -> None:
    response = client_for(db_url).get("/ready")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


def test_not_ready_while_migrations_are_pending(contract_db_url: str) -> None:
    response = client_for(contract_db_url).get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert "not applied" in body["reason"] and "reports migrate" in body["reason"]


def test_not_ready_when_the_database_is_unreachable() -> None:
    port = free_port()
    response = client_for(f"postgresql://postgres@127.0.0.1:{port}/crm?search_path=reports").get("/ready")
    assert response.status_code == 503
    assert "cannot connect" in response.json()["reason"]
    assert "Traceback" not in response.text


def test_reports_api_process_serves_and_stops_on_ctrl_c(db_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "REPORTS_DATABASE_URL": db_url,
        "REPORTS_PORT": str(port),
        "REPORTS_JWT_SECRET": JWT_SECRET,
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", "from reports_cli.app import serve_api_main; serve_api_main()"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"reports-api did not start: {proc.stdout.read() if proc.stdout else ''}")
                time.sleep(0.2)
        assert health.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output
    assert "Traceback" not in output


def test_ready_under_exactly_the_grants_docs_permissions_gives_reports_api(db_url: str) -> None:
    role = f"api_probe_{uuid.uuid4().hex[:8]}"
    with connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE reports_api").format(sql.Identifier(role)))
    try:
        url = db_url.replace("postgresql://postgres@", f"postgresql://{role}@", 1)
        with connect(url, autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT count(*) FROM reports.schema_migrations")
            version = conn.execute("SELECT current_setting('server_version') AS v").fetchone()
        assert version is not None
        response = client_for(url).get("/ready")
        assert response.status_code == 200, response.text
        assert response.json()["server"] == f"PostgreSQL {version['v']}"
    finally:
        with connect(db_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
