"""reports-api when things go wrong: 504 on the statement timeout, 500 without details for a broken report,
503 with Retry-After while the database is down, and recovery without a restart when it is back."""

from __future__ import annotations

import time
from typing import Any

import pytest
from http_support import P_FROM, P_TO, api, bearer, refresh

from reports_core.db import connect

RANGE = {"p_from": P_FROM, "p_to": P_TO}
EXTRA_REPORTS = """
CREATE FUNCTION reports.test_sleepy(p_seconds numeric DEFAULT 5)
RETURNS TABLE (slept boolean)
LANGUAGE sql VOLATILE SET search_path = reports, pg_temp
AS $$ SELECT true FROM pg_catalog.pg_sleep(p_seconds) $$;
CREATE FUNCTION reports.test_writer()
RETURNS TABLE (n bigint)
LANGUAGE sql VOLATILE SET search_path = reports, pg_temp
AS $$ INSERT INTO reports.settings (key, value) VALUES ('test_secret_detail', 'x') RETURNING 1::bigint $$;
GRANT EXECUTE ON FUNCTION reports.test_sleepy(numeric), reports.test_writer() TO reports_reader;
"""


def _add_extra_reports(client: Any, db_url: str) -> None:
    with connect(db_url, autocommit=True) as conn:
        conn.execute(EXTRA_REPORTS)
    assert client.app.state.service.catalog.reload("test")


def test_statement_timeout_is_504_and_the_pool_stays_usable(db_url: str) -> None:
    with api(db_url, statement_timeout="300ms") as client:
        _add_extra_reports(client, db_url)
        started = time.monotonic()
        response = client.get("/reports/test_sleepy", params={"p_seconds": 3}, headers=bearer())
        elapsed = time.monotonic() - started
        quick = client.get("/reports/test_sleepy", params={"p_seconds": 0}, headers=bearer())
    assert response.status_code == 504, response.text
    assert response.json()["code"] == "57014"
    assert "statement timeout" in response.json()["message"]
    assert elapsed < 2.5
    assert quick.status_code == 200 and quick.json()["data"] == [{"slept": True}]


def test_an_unexpected_database_error_is_500_with_a_request_id_and_no_details(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with api(db_url) as client:
        _add_extra_reports(client, db_url)
        response = client.get("/reports/test_writer", headers=bearer())
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "25006"  # read_only_sql_transaction: the call ran READ ONLY
    assert body["message"].startswith("internal error")
    assert body["request_id"]
    assert "INSERT" not in response.text and "Traceback" not in response.text
    assert any(body["request_id"] in r.getMessage() and "INSERT" in r.getMessage() for r in caplog.records)


def _wait_for(client: Any, path: str, params: dict[str, Any], seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        response = client.get(path, params=params, headers=bearer())
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.3)


def test_503_while_the_database_is_down_and_recovery_after_it_restarts(db_url: str, pg_server: Any) -> None:
    refresh(db_url)
    with api(db_url, pool_timeout="1s") as client:
        before = client.get("/reports/stage_funnel", params=RANGE, headers=bearer())
        assert before.status_code == 200
        pg_server.cluster.stop()
        try:
            down = client.get("/reports/stage_funnel", params=RANGE, headers=bearer())
            again = client.get("/reports/stage_funnel", params=RANGE, headers=bearer())
            csv = client.get("/reports/stage_funnel", params={**RANGE, "format": "csv"}, headers=bearer())
            ready = client.get("/ready")
            catalog = client.get("/reports")
        finally:
            pg_server.restart()
        after = _wait_for(client, "/reports/stage_funnel", RANGE, 20)
    for response in (down, again, csv):
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert response.json()["code"] == "08006"
        assert "Traceback" not in response.text
    assert ready.status_code == 503
    assert catalog.status_code == 200  # the last good catalog is kept
    assert after.status_code == 200, after.text
    assert after.json()["data"] == before.json()["data"]
