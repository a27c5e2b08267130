"""reports-api: the catalog, every report over HTTP equal to the SQL function for the same caller, paging,
streaming from the cursor, and the OpenAPI document built from the catalog."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from http_support import (
    CALLS,
    P_FROM,
    P_TO,
    api,
    bearer,
    first_user,
    json_rows,
    refresh,
    sql_as_caller,
    typed_params,
)
from pypdf import PdfReader

from reports_core.db import connect

# Functions granted to reports_reader, read from the ACLs (a formulation independent of api_catalog()).
GRANTED_TO_READER = """
SELECT DISTINCT p.proname AS name
FROM pg_proc AS p
CROSS JOIN LATERAL aclexplode(p.proacl) AS a
WHERE p.pronamespace = 'reports'::regnamespace AND p.proretset AND p.proname NOT LIKE '\\_%%'
  AND a.grantee = 'reports_reader'::regrole AND a.privilege_type = 'EXECUTE'
ORDER BY 1
"""


@pytest.fixture
def url(db_url: str) -> str:
    refresh(db_url)
    return db_url


def test_catalog_lists_exactly_the_functions_granted_to_reports_reader(url: str) -> None:
    with connect(url, autocommit=True) as conn:
        granted = [r["name"] for r in conn.execute(GRANTED_TO_READER).fetchall()]
    with api(url) as client:
        body = client.get("/reports").json()
    names = [r["name"] for r in body["reports"]]
    assert names == granted
    assert set(CALLS) <= set(names)
    assert not {"refresh_all", "refresh_view", "refresh_status", "set_caller", "api_catalog"} & set(names)
    revenue = next(r for r in body["reports"] if r["name"] == "revenue_by_period")
    assert [(p["name"], p["type"], p["required"], p["default"]) for p in revenue["parameters"]] == [
        ("p_from", "date", True, None),
        ("p_to", "date", True, None),
        ("p_grain", "text", False, "month"),
        ("p_owner_id", "bigint", False, None),
    ]
    assert revenue["columns"][0] == {"name": "period_start", "type": "date"}
    assert revenue["summary"].startswith("Won deals")
    assert set(revenue["summaries"]) == {
        "deal_outcomes_daily",
        "deal_outcomes_by_day",
        "payments_collected_daily",
        "payments_collected_by_day",
    }


@pytest.mark.parametrize("role", ["admin", "manager", "head"])
def test_every_report_equals_the_sql_function_for_the_same_caller(url: str, role: str) -> None:
    user_id = first_user(url)
    with api(url) as client:
        for name, params in CALLS.items():
            response = client.get(f"/reports/{name}", params=params, headers=bearer(user_id, [role]))
            assert response.status_code == 200, (name, response.text)
            expected = sql_as_caller(url, name, typed_params(params), user_id, [role])
            assert json_rows(response) == expected, name
            meta = response.json()["meta"]
            assert meta["row_count"] == meta["total_rows"] == len(expected)
            assert meta["report"] == name


def test_a_manager_sees_less_than_an_admin(url: str) -> None:
    user_id = first_user(url)
    params = CALLS["top_clients"]
    with api(url) as client:
        admin = client.get("/reports/top_clients", params=params, headers=bearer(user_id, ["admin"])).json()
        own = client.get("/reports/top_clients", params=params, headers=bearer(user_id, ["manager"])).json()
    assert 0 < len(own["data"]) < len(admin["data"])


def test_meta_gives_the_parameters_used_with_defaults_and_the_refresh_time(url: str) -> None:
    with api(url) as client:
        response = client.get(
            "/reports/revenue_by_period", params={"p_from": P_FROM, "p_to": P_TO}, headers=bearer()
        )
    meta = response.json()["meta"]
    assert meta["params"] == {"p_from": P_FROM, "p_to": P_TO, "p_grain": "month", "p_owner_id": None}
    with connect(url, autocommit=True) as conn:
        oldest = conn.execute(
            "SELECT min(refreshed_at) AS t FROM reports.summaries"
            " WHERE name IN ('deal_outcomes_daily', 'deal_outcomes_by_day', 'payments_collected_daily',"
            " 'payments_collected_by_day')"
        ).fetchone()
    assert oldest is not None
    assert meta["refreshed_at"] == oldest["t"].isoformat()
    assert len(response.json()["data"]) == 12  # months of July 2025 .. June 2026


def test_limit_and_offset_page_the_rows_and_meta_has_the_total(url: str) -> None:
    params = {**CALLS["activity_by_period"], "p_grain": "week"}
    with api(url) as client:
        whole = client.get("/reports/activity_by_period", params=params, headers=bearer()).json()
        page = client.get(
            "/reports/activity_by_period", params={**params, "limit": 5, "offset": 10}, headers=bearer()
        ).json()
        beyond = client.get(
            "/reports/activity_by_period", params={**params, "limit": 5, "offset": 1000}, headers=bearer()
        ).json()
        empty = client.get(
            "/reports/activity_by_period", params={**params, "limit": 0}, headers=bearer()
        ).json()
    total = len(whole["data"])
    assert total > 15
    assert page["data"] == whole["data"][10:15]
    assert (page["meta"]["total_rows"], page["meta"]["limit"], page["meta"]["offset"]) == (total, 5, 10)
    assert beyond["data"] == [] and beyond["meta"]["total_rows"] == total
    assert empty["data"] == [] and empty["meta"]["total_rows"] == total


def _add_numbers_report(url: str) -> None:
    """A temporary exposed report with many rows (more than one FETCH batch)."""
    with connect(url, autocommit=True) as conn:
        conn.execute(
            """
            CREATE FUNCTION reports.test_numbers(p_n integer)
            RETURNS TABLE (n integer, half numeric, label text)
            LANGUAGE sql STABLE SET search_path = reports, pg_temp
            AS $$ SELECT i, i / 2.0, 'row ' || i FROM generate_series(1, p_n) AS i ORDER BY i $$;
            GRANT EXECUTE ON FUNCTION reports.test_numbers(integer) TO reports_reader;
            """
        )


def test_csv_and_ndjson_stream_every_row_through_several_batches(url: str) -> None:
    _add_numbers_report(url)
    with api(url) as client:
        assert client.app.state.service.catalog.reload("test")  # type: ignore[attr-defined]
        response = client.get(
            "/reports/test_numbers", params={"p_n": 4500, "format": "csv"}, headers=bearer()
        )
        assert response.status_code == 200, response.text
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == 4500
        assert rows[-1] == {"n": "4500", "half": "2250.0000000000000000", "label": "row 4500"}
        paged = client.get(
            "/reports/test_numbers",
            params={"p_n": 4500, "limit": 2500, "offset": 1000},
            headers={**bearer(), "Accept": "application/x-ndjson"},
        )
        lines = [json.loads(line, parse_float=Decimal) for line in paged.text.splitlines()]
        assert [line["n"] for line in lines] == list(range(1001, 3501))
        page = client.get(
            "/reports/test_numbers", params={"p_n": 4500, "limit": 10, "offset": 4495}, headers=bearer()
        )
        assert [r["n"] for r in page.json()["data"]] == [4496, 4497, 4498, 4499, 4500]
        assert page.json()["meta"]["total_rows"] == 4500
        # every connection went back to the pool
        stats = client.app.state.service.pool.get_stats()  # type: ignore[attr-defined]
        assert stats["pool_available"] == stats["pool_size"]


def test_openapi_has_one_typed_path_per_report(url: str) -> None:
    with api(url) as client:
        document = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
    assert document["openapi"] == "3.1.0"
    reports = {path.removeprefix("/reports/") for path in document["paths"] if path.startswith("/reports/")}
    assert reports == set(CALLS)
    operation = document["paths"]["/reports/revenue_by_period"]["get"]
    params: dict[str, Any] = {p["name"]: p for p in operation["parameters"]}
    assert params["p_from"]["required"] and params["p_from"]["schema"]["format"] == "date"
    assert not params["p_grain"]["required"] and params["p_grain"]["schema"]["default"] == "month"
    assert params["p_owner_id"]["schema"]["format"] == "int64"
    assert {"limit", "offset", "format"} <= set(params)
    assert operation["description"].startswith("Won deals, won amount")
    row = document["components"]["schemas"]["revenue_by_period_row"]
    assert list(row["properties"]) == [
        "period_start",
        "won_deals",
        "won_amount",
        "avg_deal_size",
        "paid_amount",
        "prev_won_amount",
        "growth_pct",
    ]
    assert row["properties"]["won_deals"]["type"] == ["integer", "null"]
    assert operation["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert operation["security"] == [{"jwt": []}]


def _same_cell(cell: Any, value: Any) -> bool:
    """An XLSX cell holds the SQL value: numbers as numbers, days as dates, text as text (an instant
    is a date cell: Excel has no time zones, so its wall time is the renderer's choice)."""
    if value is None or value == "":
        return cell.value is None
    if isinstance(value, bool):
        return cell.value is value
    if isinstance(value, int | float | Decimal):
        return cell.data_type == "n" and math.isclose(cell.value, float(value), rel_tol=1e-12)
    if isinstance(value, datetime):
        return cell.is_date
    if isinstance(value, date):
        return cell.is_date and cell.value.date() == value
    return cell.value == str(value)


def _pdf_shows(text: str, value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" in text
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat() in text
    return not isinstance(value, str) or value in text


def test_every_report_as_xlsx_and_pdf_holds_the_sql_rows(url: str) -> None:
    user_id = first_user(url)
    with api(url) as client:
        for name, params in CALLS.items():
            expected = sql_as_caller(url, name, typed_params(params), user_id, ["admin"])
            assert expected, f"{name} has rows to compare"
            columns = list(expected[0])
            xlsx = client.get(
                f"/reports/{name}", params={**params, "format": "xlsx"}, headers=bearer(user_id)
            )
            assert xlsx.status_code == 200, (name, xlsx.text)
            sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content))[name]
            cells = list(sheet.iter_rows())
            assert [c.value for c in cells[0]] == columns, name
            assert len(cells) == len(expected) + 1, name
            for row, line in zip(expected, cells[1:], strict=True):
                bad = [c for c, cell in zip(columns, line, strict=True) if not _same_cell(cell, row[c])]
                assert not bad, (name, bad, row)

            pdf = client.get(f"/reports/{name}", params={**params, "format": "pdf"}, headers=bearer(user_id))
            assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf", name
            text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
            assert all(c in text for c in columns), name
            missing = [row[columns[0]] for row in expected if not _pdf_shows(text, row[columns[0]])]
            assert not missing, (name, missing[:5])


def test_csv_downloads_escape_formula_text_unless_turned_off(url: str) -> None:
    params = {**CALLS["top_clients"], "format": "csv"}
    with connect(url, autocommit=True) as conn:
        top = sql_as_caller(
            url, "top_clients", typed_params(CALLS["top_clients"]), first_user(url), ["admin"]
        )[0]
        conn.execute(
            "UPDATE crm.clients SET name = '=HYPERLINK(\"http://x\")' WHERE id = %s", [top["client_id"]]
        )

    def client_names(**overrides: Any) -> dict[int, str]:
        with api(url, **overrides) as client:
            response = client.get("/reports/top_clients", params=params, headers=bearer())
        assert response.status_code == 200, response.text
        rows = csv.DictReader(io.StringIO(response.text))
        return {int(r["client_id"]): r["client_name"] for r in rows}

    assert client_names()[top["client_id"]] == '\'=HYPERLINK("http://x")'
    assert client_names(csv_escape_formulas=False)[top["client_id"]] == '=HYPERLINK("http://x")'


def test_a_pdf_over_http_stops_at_reports_pdf_max_rows(url: str) -> None:
    params = {**CALLS["top_clients"], "format": "pdf"}
    with api(url, pdf_max_rows=3) as client:
        response = client.get("/reports/top_clients", params=params, headers=bearer())
    assert response.status_code == 200, response.text
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Truncated: showing the first 3 rows" in text
