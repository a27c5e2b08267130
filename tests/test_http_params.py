"""reports-api: every kind of invalid parameter is a 400 naming it, found before the database is touched;
a name outside the catalog is a 404, whatever it is."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from http_support import P_FROM, P_TO, api, bearer

RANGE = {"p_from": P_FROM, "p_to": P_TO}

# (report, query, parameter named, words of the message)
INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "revenue_by_period",
        {**RANGE, "from": P_FROM},
        "from",
        "is not a parameter of report revenue_by_period",
    ),
    ("revenue_by_period", {"p_from": P_FROM}, "p_to", "is required"),
    ("revenue_by_period", {**RANGE, "p_from": "2026-13-01"}, "p_from", "not a valid calendar date"),
    ("revenue_by_period", {**RANGE, "p_to": "yesterday"}, "p_to", "must be a date in ISO 8601"),
    ("revenue_by_period", {**RANGE, "p_to": "2026-1-5"}, "p_to", "must be a date in ISO 8601"),
    ("top_clients", {**RANGE, "p_limit": "ten"}, "p_limit", "must be an integer"),
    ("top_clients", {**RANGE, "p_limit": "1.5"}, "p_limit", "must be an integer"),
    ("top_clients", {**RANGE, "p_limit": "2147483648"}, "p_limit", "out of range for type integer"),
    ("sales_pipeline", {"p_owner_id": "9223372036854775808"}, "p_owner_id", "out of range for type bigint"),
    ("revenue_by_period", {**RANGE, "p_grain": "mo\x00nth"}, "p_grain", "NUL"),
    ("revenue_by_period", {**RANGE, "p_grain": "x" * 10_001}, "p_grain", "longer than 10000"),
    ("revenue_by_period", {**RANGE, "limit": "10001"}, "limit", "from 0 to 10000"),
    ("revenue_by_period", {**RANGE, "limit": "-1"}, "limit", "from 0 to 10000"),
    ("revenue_by_period", {**RANGE, "offset": "first"}, "offset", "must be an integer"),
    ("revenue_by_period", {**RANGE, "format": "xml"}, "format", "format must be one of"),
]


def database_requests(client: TestClient) -> int:
    stats = client.app.state.service.pool.get_stats()  # type: ignore[attr-defined]
    return int(stats.get("requests_num", 0))


def test_each_invalid_parameter_is_400_naming_it_before_the_database(db_url: str) -> None:
    with api(db_url) as client:
        before = database_requests(client)
        answers = [
            (parameter, words, client.get(f"/reports/{report}", params=query, headers=bearer()))
            for report, query, parameter, words in INVALID
        ]
        assert database_requests(client) == before
        # the measure works: a valid call does ask the pool for a connection
        assert client.get("/reports/stage_funnel", params=RANGE, headers=bearer()).status_code == 200
        assert database_requests(client) == before + 1
    for parameter, words, response in answers:
        assert response.status_code == 400, (parameter, response.text)
        body = response.json()
        assert body["code"] == "22023"
        assert body["message"].startswith(f"{parameter} "), body
        assert words in body["message"], body
        assert set(body) >= {"code", "message", "detail", "hint"}


def test_a_parameter_given_twice_is_refused(db_url: str) -> None:
    with api(db_url) as client:
        response = client.get(
            f"/reports/stage_funnel?p_from={P_FROM}&p_to={P_TO}&p_to={P_FROM}", headers=bearer()
        )
    assert response.status_code == 400
    assert response.json()["message"] == "p_to is given more than once"


def test_a_value_the_report_refuses_is_400_with_its_sqlstate_message_and_hint(db_url: str) -> None:
    with api(db_url) as client:
        response = client.get(
            "/reports/revenue_by_period", params={**RANGE, "p_grain": "fortnight"}, headers=bearer()
        )
        reversed_range = client.get(
            "/reports/stage_funnel", params={"p_from": P_TO, "p_to": P_FROM}, headers=bearer()
        )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "22023"
    assert body["message"] == "p_grain must be one of day, week, month, quarter, year (got 'fortnight')"
    assert body["hint"]
    assert reversed_range.status_code == 400 and "p_from must be on or before p_to" in reversed_range.text


def test_no_acceptable_media_type_is_406(db_url: str) -> None:
    with api(db_url) as client:
        response = client.get(
            "/reports/stage_funnel", params=RANGE, headers={**bearer(), "Accept": "image/png"}
        )
    assert response.status_code == 406
    assert "none of the media types" in response.json()["message"]


NOT_IN_CATALOG = [
    "pg_sleep",
    "refresh_all",
    "refresh_status",
    "set_caller",
    "api_catalog",
    "api_data_versions",
    "api_refreshed_at",
    "_authorize",
    "compute_deal_outcomes_daily",
    "%2E%2E%2Fx",  # ../x
    "..%2F..%2Fetc%2Fpasswd",
    "%22revenue_by_period%22",  # "revenue_by_period"
    "REVENUE_BY_PERIOD",
    "reports.revenue_by_period",
    "revenue_by_period%3B%20SELECT%201",
    "revenue_by_period/extra",
]


def test_a_name_outside_the_catalog_is_404_whatever_it_is(db_url: str) -> None:
    with api(db_url) as client:
        before = database_requests(client)
        answers = [
            (path, client.get(f"/reports/{path}", params=RANGE, headers=bearer())) for path in NOT_IN_CATALOG
        ]
        assert database_requests(client) == before
    for path, response in answers:
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] == "42883"
        assert response.json()["message"].startswith("no report named"), path
