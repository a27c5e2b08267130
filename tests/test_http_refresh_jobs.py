"""reports-api ``POST /refresh`` and ``GET /refresh/{job_id}``: 202 with Location, progress from the
engine's notices while it runs, the final result, one job at a time, and who may ask."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from http_support import api, bearer
from psycopg import sql

from reports_core.db import connect
from reports_core.refresh import REFRESH_LOCK_KEY


def refresher() -> dict[str, str]:
    """A refresher's token, made when the test runs: tokens expire (5 minutes), and one made when the module
    is collected would have expired by the time a long run reaches this module."""
    return bearer(7, ["refresher"])


def summaries_in_order(db_url: str) -> list[str]:
    with connect(db_url, autocommit=True) as conn:
        return [r["name"] for r in conn.execute("SELECT name FROM reports.summaries ORDER BY position")]


def poll(client: TestClient, location: str, until: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        job = client.get(location, headers=refresher()).json()
        if until(job):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.02)


def test_a_refresh_job_reports_progress_then_its_result_and_runs_alone(db_url: str) -> None:
    views = summaries_in_order(db_url)
    last = views[-1]
    with connect(db_url) as blocker, api(db_url) as client:
        # Hold the last summary: the job refreshes the others, then waits for it.
        lock = sql.SQL("LOCK TABLE reports.{} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(last))
        blocker.execute(lock)
        started = client.post("/refresh", headers=refresher())
        location = started.headers["Location"]
        midway = poll(client, location, lambda job: len(job["done"]) == len(views) - 1)
        second = client.post("/refresh", json={"views": [views[0]]}, headers=bearer(1, ["admin"]))
        blocker.rollback()
        final = poll(client, location, lambda job: job["status"] != "running")
    assert started.status_code == 202, started.text
    body = started.json()
    assert location == f"/refresh/{body['job_id']}"
    assert body["status"] in ("running", "finished") and body["views"] is None
    assert midway["status"] == "running" and midway["result"] is None
    assert midway["done"] == views[:-1]
    assert second.status_code == 200  # the running job, not a second refresh
    assert second.json()["job_id"] == body["job_id"] and second.headers["Location"] == location
    assert final["status"] == "finished" and final["error"] is None and final["finished_at"]
    assert final["done"] == views
    assert [(row["view"], row["status"]) for row in final["result"]] == [(view, "ok") for view in views]
    assert len(final["messages"]) >= len(views)
    with connect(db_url, autocommit=True) as conn:
        logged = conn.execute(
            "SELECT count(DISTINCT run_id) AS runs, count(*) AS views FROM reports.refresh_log "
            "WHERE status = 'ok'"
        ).fetchone()
    assert logged == {"runs": 1, "views": len(views)}  # one refresh, not two


def test_named_views_and_a_new_job_after_the_last_one_finished(db_url: str) -> None:
    views = summaries_in_order(db_url)
    with api(db_url) as client:
        first = client.post("/refresh", json={"views": [views[-1]]}, headers=refresher())
        done = poll(client, first.headers["Location"], lambda job: job["status"] != "running")
        second = client.post("/refresh", json={"views": [views[-1]], "wait": True}, headers=refresher())
        poll(client, second.headers["Location"], lambda job: job["status"] != "running")
    assert first.status_code == second.status_code == 202
    assert first.json()["views"] == [views[-1]]
    assert done["result"] == [
        {**done["result"][0], "view": views[-1], "status": "ok", "sqlstate": None, "error": None}
    ]
    assert second.json()["job_id"] != first.json()["job_id"]


def test_a_refresh_running_elsewhere_gives_skipped_rows(db_url: str) -> None:
    with connect(db_url, autocommit=True) as other, api(db_url) as client:
        other.execute("SELECT pg_advisory_lock(%s)", [REFRESH_LOCK_KEY])
        started = client.post("/refresh", json={"views": ["pipeline_open"]}, headers=refresher())
        job = poll(client, started.headers["Location"], lambda job: job["status"] != "running")
    assert job["status"] == "finished"
    assert [(r["view"], r["status"]) for r in job["result"]] == [
        ("pipeline_open", "skipped"),
        ("pipeline_open_by_stage", "skipped"),  # computed from pipeline_open: refreshed with it
    ]
    assert "another refresh" in job["result"][0]["error"]


@pytest.mark.parametrize(
    ("roles", "status", "code"),
    [
        (["manager"], 403, "42501"),
        (["analyst", "head"], 403, "42501"),
        (None, 401, "28000"),
    ],
)
def test_only_refreshers_and_admins_may_refresh(
    db_url: str, roles: list[str] | None, status: int, code: str
) -> None:
    headers = bearer(3, roles) if roles is not None else {}
    with api(db_url) as client:
        post = client.post("/refresh", headers=headers)
        get = client.get("/refresh/0123456789abcdef", headers=headers)
        jobs = len(client.app.state.service.jobs)
    assert post.status_code == get.status_code == status, post.text
    assert post.json()["code"] == get.json()["code"] == code
    assert jobs == 0
    if status == 401:
        assert post.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_job_unknown_view_and_bad_bodies(db_url: str) -> None:
    with api(db_url) as client:
        headers = refresher()
        missing = client.get("/refresh/no-such-job", headers=headers)
        unknown = client.post("/refresh", json={"views": ["deal_outcomes_daily", "nope"]}, headers=headers)
        empty = client.post("/refresh", json={"views": []}, headers=headers)
        extra = client.post("/refresh", json={"view": "deal_outcomes_daily"}, headers=headers)
        jobs = len(client.app.state.service.jobs)
    assert missing.status_code == 404 and missing.json()["code"] == "42704"
    assert unknown.status_code == 400 and unknown.json()["code"] == "22023"
    assert "nope" in unknown.json()["message"] and "deal_outcomes_daily" in unknown.json()["hint"]
    assert empty.status_code == 400 and extra.status_code == 400
    assert jobs == 0
