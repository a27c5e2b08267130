"""reports-api operations: ``/metrics`` in Prometheus format (requests, latency, cache, pool, data age per
summary), the request id in responses and log lines, and ``Server-Timing``."""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from http_support import P_FROM, P_TO, api, bearer, refresh
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql

from reports_core.db import connect
from reports_http.observe import new_request_id

FUNNEL = "/reports/stage_funnel"
RANGE = {"p_from": P_FROM, "p_to": P_TO}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def refreshed_views(db_url: str) -> dict[str, datetime]:
    with connect(db_url, autocommit=True) as conn:
        rows = conn.execute("SELECT name, refreshed_at FROM reports.summaries").fetchall()
    return {r["name"]: r["refreshed_at"] for r in rows}


@pytest.fixture
def url(db_url: str) -> str:
    refresh(db_url)
    return db_url


def test_metrics_count_requests_by_report_and_status(url: str) -> None:
    call = {"route": "/reports/{name}", "report": "stage_funnel"}
    with api(url) as client:
        before = scrape(client)
        client.get(FUNNEL, params=RANGE, headers=bearer())  # miss
        client.get(FUNNEL, params=RANGE, headers=bearer())  # hit
        client.get(FUNNEL, params={"p_from": "yesterday"}, headers=bearer())  # 400
        client.get("/reports/no_such_report", headers=bearer())  # 404
        after = scrape(client)
    assert value(after, "reports_http_requests_total", **call, status="200") == (
        value(before, "reports_http_requests_total", **call, status="200") + 2
    )
    assert value(after, "reports_http_requests_total", **call, status="400") == 1
    assert value(after, "reports_http_request_duration_seconds_count", **call, status="200") == 2
    assert value(after, "reports_http_request_duration_seconds_sum", **call, status="200") > 0
    assert value(after, "reports_http_request_duration_seconds_bucket", **call, status="200", le="+Inf") == 2
    assert value(after, "reports_http_requests_total", route="/reports/{name}", report="", status="404") == 1
    assert value(after, "reports_http_requests_total", route="/metrics", report="", status="200") >= 1
    assert value(after, "reports_http_cache_requests_total", report="stage_funnel", result="miss") == 1
    assert value(after, "reports_http_cache_requests_total", report="stage_funnel", result="hit") == 1
    assert value(after, "reports_http_cache_entries") == 1
    assert value(after, "reports_http_cache_bytes") > 0
    assert value(after, "reports_http_pool_connections") == 2  # REPORTS_POOL_SIZE of the test settings
    assert value(after, "reports_http_pool_requests_total") >= 1
    assert value(after, "process_resident_memory_bytes") > 0


def test_data_age_and_state_per_view(url: str) -> None:
    with api(url) as client:
        samples = scrape(client)
    now = datetime.now(UTC)
    views = refreshed_views(url)
    assert value(samples, "reports_view_status_up") == 1
    for view, refreshed_at in views.items():
        age = value(samples, "reports_view_age_seconds", view=view)
        assert abs(age - (now - refreshed_at).total_seconds()) < 5, view
        stamp = value(samples, "reports_view_last_success_timestamp_seconds", view=view)
        assert abs(stamp - refreshed_at.timestamp()) < 0.001
        assert value(samples, "reports_view_generation", view=view) >= 1
    info = [key for key in samples if key[0] == "reports_view_info"]
    assert {dict(labels)["view"] for _, labels in info} == set(views)
    assert all(dict(labels)["last_status"] == "ok" for _, labels in info)


@pytest.fixture
def api_role_url(url: str) -> Iterator[str]:
    """The database as a login role that is only a member of reports_api (as in production)."""
    role = f"api_{uuid.uuid4().hex[:10]}"
    with connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE reports_api").format(sql.Identifier(role)))
    try:
        yield re.sub(r"//[^@/]+@", f"//{role}@", url, count=1)
    finally:
        with connect(url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role])
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_a_plain_reports_api_role_sees_age_and_mode_but_cannot_refresh(api_role_url: str, url: str) -> None:
    with api(api_role_url) as client:
        report = client.get(FUNNEL, params=RANGE, headers=bearer())
        samples = scrape(client)
        job = client.post("/refresh", headers=bearer(roles=["refresher"]))
        deadline = time.monotonic() + 10
        while (state := client.get(job.headers["Location"], headers=bearer(roles=["refresher"])).json())[
            "status"
        ] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert report.status_code == 200 and "ETag" in report.headers
    assert value(samples, "reports_view_status_up") == 1
    for view in refreshed_views(url):
        assert value(samples, "reports_view_age_seconds", view=view) > 0
        assert value(samples, "reports_view_generation", view=view) >= 1
    # refresh_status() is granted to reports_api (90_grants/grants.sql): the mode is there too
    assert [key for key in samples if key[0] == "reports_view_info"]
    assert state["status"] == "failed" and "permission denied" in state["error"]


def test_request_ids_are_echoed_or_made_and_server_timing_is_sent(url: str) -> None:
    with api(url) as client:
        given = client.get(FUNNEL, params=RANGE, headers={**bearer(), "X-Request-Id": "gw-123.abc:9"})
        made = client.get(FUNNEL, params=RANGE, headers=bearer())
        unsafe = client.get("/health", headers={"X-Request-Id": "bad id\twith spaces"})
        revalidated = client.get(
            FUNNEL, params=RANGE, headers={**bearer(), "If-None-Match": made.headers["ETag"]}
        )
        missing = client.get("/reports/nope", headers=bearer())
    assert given.headers["X-Request-Id"] == "gw-123.abc:9"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-Id"])
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["X-Request-Id"])
    ids = {r.headers["X-Request-Id"] for r in (made, unsafe, revalidated, missing)}
    assert len(ids) == 4
    timing = r"db;dur=(\d+\.\d), total;dur=(\d+\.\d)"
    ran = re.fullmatch(timing, given.headers["Server-Timing"])
    assert ran and 0 < float(ran.group(1)) <= float(ran.group(2))
    for response in (made, revalidated):  # a hit and a 304: no database time
        match = re.fullmatch(timing, response.headers["Server-Timing"])
        assert match and float(match.group(1)) == 0
    assert revalidated.status_code == 304
    assert missing.status_code == 404 and "Server-Timing" in missing.headers


def test_log_lines_carry_the_request_id(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="reports_http")
    caplog.set_level(logging.INFO, logger="reports_core")  # the catalog's lines
    with api(url) as client:
        started = client.post(
            "/refresh", json={"views": ["pipeline_open"]}, headers={**bearer(), "X-Request-Id": "req-42"}
        )
        deadline = time.monotonic() + 10
        while client.get(started.headers["Location"], headers=bearer()).json()["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    job_id = started.json()["job_id"]
    lines = [r for r in caplog.records if job_id in r.getMessage()]
    assert len(lines) >= 2  # started (request task) and finished (the job's thread)
    assert all(getattr(r, "request_id", None) == "req-42" for r in lines)
    outside = [r for r in caplog.records if r.getMessage().startswith("catalog loaded")]
    assert outside and all(getattr(r, "request_id", None) == "-" for r in outside)


def test_made_request_ids_are_unique_and_a_forked_worker_makes_its_own() -> None:
    made = [new_request_id() for _ in range(10_000)]
    assert len(set(made)) == len(made)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in made)
    assert len({i[:16] for i in made}) == 1  # one process: one random half, then a sequence
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what a worker forked from this process would make; never returns
        try:
            os.write(writer, ",".join(new_request_id() for _ in range(3)).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        child = pipe.read().split(",")
    os.waitpid(pid, 0)
    assert len(child) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in child)
    assert child[0][:16] != made[0][:16] and not set(child) & set(made)


# -- scrapes cost the database one read per interval, off the report pool -------------------------------
def metrics_backends(db_url: str) -> int:
    with connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'reports-api metrics'"
        ).fetchone()
    return int(row["n"]) if row else -1


def test_a_scrape_flood_reads_the_state_once_per_interval_and_never_from_the_report_pool(url: str) -> None:
    with api(url, metrics_interval="10min") as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        first = scrape(client)
        assert value(first, "reports_view_status_up") == 1
        requests_before = service.pool.get_stats().get("requests_num", 0)
        for _ in range(40):
            assert value(scrape(client), "reports_view_status_up") == 1
        assert service.status.reads == 1, "one read of refresh_status() for 41 scrapes"
        assert service.pool.get_stats().get("requests_num", 0) == requests_before, (
            "no pooled connection taken"
        )
        assert metrics_backends(url) == 1, "the snapshot's own connection"
    assert metrics_backends(url) == 0, "closed when the service stops"


def test_concurrent_scrapes_share_one_read_per_interval(url: str) -> None:
    from reports_http.status_snapshot import StatusSnapshot

    snapshot = StatusSnapshot(url, interval_s=0.25)
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(lambda _i: snapshot.rows(), range(16 * 40)))
        elapsed = time.monotonic() - started
    finally:
        snapshot.close()
    assert all(rows is not None and rows for rows in results)
    assert 1 <= snapshot.reads <= elapsed / 0.25 + 2, (snapshot.reads, elapsed)


def test_metrics_answer_while_every_pooled_connection_is_taken(url: str) -> None:
    with api(url, pool_size=1, pool_timeout="200ms") as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        service.ensure_pool().wait(timeout=10)
        with service.pool.connection():  # the only report connection, held
            samples = scrape(client)
        assert value(samples, "reports_view_status_up") == 1
        assert value(samples, "reports_view_rows", view="deal_outcomes_daily") > 0


def test_metrics_need_the_token_when_one_is_set(url: str) -> None:
    token = "scrape-token-" + uuid.uuid4().hex
    with api(url, metrics_token=token) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {token}"}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
            assert "reports_view" not in refused.text
        allowed = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200 and "reports_view_status_up" in allowed.text
