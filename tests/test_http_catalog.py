"""reports-api catalog reloads: a report added in a new SQL file is served after `reports migrate` without
a restart or any Python change (NOTIFY reports_catalog), on SIGHUP; a failed reload keeps the last catalog."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_support import SECRET, api, bearer, json_rows, refresh, sql_as_caller

from reports_cli.devdb import free_port
from reports_core.db import connect
from reports_core.migrate import migrate
from reports_core.paths import sql_dir

NEW_REPORT = """-- Report won_by_owner: won deals per owner in a range (added by a test, no Python change).

CREATE OR REPLACE FUNCTION reports.won_by_owner(p_from date, p_to date, p_min_deals integer DEFAULT 1)
RETURNS TABLE (owner_id bigint, won_deals bigint, won_amount numeric)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_owner_ids bigint[];
BEGIN
    SELECT a.owner_ids INTO v_owner_ids FROM reports._authorize('won_by_owner') AS a;
    PERFORM reports._check_range(p_from, p_to);
    RETURN QUERY
    SELECT o.owner_id, sum(o.won_deals)::bigint, round(sum(o.won_amount), 2)
    FROM reports._scoped_deal_outcomes(v_owner_ids, p_from, p_to) AS o
    GROUP BY o.owner_id
    HAVING sum(o.won_deals) >= p_min_deals
    ORDER BY o.owner_id;
END
$$;

COMMENT ON FUNCTION reports.won_by_owner(date, date, integer) IS
'Won deals per owner in a range.
One row per owner with at least p_min_deals deals won in p_from..p_to.';

GRANT EXECUTE ON FUNCTION reports.won_by_owner(date, date, integer) TO reports_reader;
"""
PARAMS = {"p_from": "2025-01-01", "p_to": "2026-06-30", "p_min_deals": "2"}


def _eventually(check: Callable[[], bool], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _served(client: Any) -> bool:
    return "won_by_owner" in {r["name"] for r in client.get("/reports").json()["reports"]}


def test_a_report_added_by_a_new_sql_file_is_served_after_migrate_without_restart(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh(db_url)
    copy = tmp_path / "sql"
    shutil.copytree(sql_dir(), copy)
    (copy / "repeatable" / "60_reports" / "won_by_owner.sql").write_text(NEW_REPORT)
    with api(db_url) as client:
        assert client.app.state.service.listener.connected.wait(10)  # type: ignore[attr-defined]
        assert not _served(client)
        assert client.get("/reports/won_by_owner", params=PARAMS, headers=bearer()).status_code == 404
        monkeypatch.setenv("REPORTS_SQL_DIR", str(copy))
        migrate(db_url, progress=lambda _: None)  # sends NOTIFY reports_catalog
        assert _eventually(lambda: _served(client)), "the new report did not appear in /reports"
        document = client.get("/openapi.json").json()
        response = client.get("/reports/won_by_owner", params=PARAMS, headers=bearer(7, ["admin"]))
        ready = client.get("/ready")
    operation = document["paths"]["/reports/won_by_owner"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["p_min_deals"]["schema"]["default"] == 1 and not params["p_min_deals"]["required"]
    assert operation["summary"] == "Won deals per owner in a range."
    assert list(document["components"]["schemas"]["won_by_owner_row"]["properties"]) == [
        "owner_id",
        "won_deals",
        "won_amount",
    ]
    assert response.status_code == 200, response.text
    expected = sql_as_caller(
        db_url,
        "won_by_owner",
        {"p_from": PARAMS["p_from"], "p_to": PARAMS["p_to"], "p_min_deals": 2},
        7,
        ["admin"],
    )
    assert len(expected) > 0
    assert json_rows(response) == expected
    assert ready.status_code == 200, ready.text


def test_a_failed_reload_keeps_the_last_good_catalog(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with api(db_url) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        assert service.listener.connected.wait(10)  # its reload on connecting is done
        store = service.catalog
        version = store.current.version
        with connect(db_url, autocommit=True) as conn:
            conn.execute("ALTER FUNCTION reports.api_catalog() RENAME TO api_catalog_away")
            try:
                assert store.reload("test") is False
                error = store.last_error
                listed = client.get("/reports")
                called = client.get("/reports/sales_pipeline", headers=bearer())
            finally:
                conn.execute("ALTER FUNCTION reports.api_catalog_away() RENAME TO api_catalog")
    assert store.current.version == version
    assert "api_catalog" in (error or "")
    assert any("catalog reload (test) failed" in r.getMessage() for r in caplog.records)
    assert listed.status_code == 200 and len(listed.json()["reports"]) >= 11
    assert called.status_code == 200


def test_sighup_reloads_the_catalog_of_the_running_service(db_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "REPORTS_DATABASE_URL": db_url,
        "REPORTS_PORT": str(port),
        "REPORTS_JWT_SECRET": SECRET,
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", "from reports_cli.app import serve_api_main; serve_api_main()"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def names() -> set[str]:
        try:
            return {r["name"] for r in httpx.get(f"{base}/reports", timeout=2).json()["reports"]}
        except httpx.TransportError:
            return set()

    try:
        assert _eventually(lambda: "sales_pipeline" in names(), 30), "reports-api did not start"
        with connect(db_url, autocommit=True) as conn:  # no migrate: no NOTIFY
            conn.execute(NEW_REPORT)
        time.sleep(0.5)
        assert "won_by_owner" not in names()
        proc.send_signal(signal.SIGHUP)
        assert _eventually(lambda: "won_by_owner" in names(), 10)
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output
    assert "catalog loaded (SIGHUP)" in output
