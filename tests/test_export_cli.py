"""``reports export`` against a real database: the files hold what the function returns.

The CLI runs as a subprocess with ``REPORTS_DATABASE_URL`` set, as the database role of that URL
(the superuser, a LOGIN role in ``reports_reader``, a LOGIN role in no group). The expected rows
come from ``SELECT * FROM reports.<fn>(...)`` run directly on the same database: the export must
not change a value, a column or the row order.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openpyxl
import psycopg
import pytest
from psycopg import sql
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[1]
Conn = psycopg.Connection[dict[str, Any]]


@pytest.fixture
def refreshed(db: Conn, db_url: str) -> str:
    db.execute("SELECT * FROM reports.refresh_all()")
    return db_url


def run_export(url: str, *args: str, cwd: Path, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTS_", "CRM_"))}
    env |= {"REPORTS_DATABASE_URL": url, "PYTHONPATH": str(ROOT), **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "reports_cli", "export", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def direct(db: Conn, function: str, **params: Any) -> list[dict[str, Any]]:
    query = sql.SQL("SELECT * FROM reports.{}({})").format(
        sql.Identifier(function),
        sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(k), sql.Placeholder()) for k in params),
    )
    return db.execute(query, list(params.values())).fetchall()


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def login_role(pg_server: Any, db_url: str) -> Iterator[tuple[str, str]]:
    """A LOGIN role (no group yet) and the URL of this test's database as that role."""
    name = f"export_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.url("postgres", search_path=None), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    parts = urlsplit(db_url)
    url = urlunsplit(parts._replace(netloc=f"{name}@{parts.hostname}:{parts.port}"))
    try:
        yield name, url
    finally:
        with psycopg.connect(pg_server.url("postgres", search_path=None), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


CASES = [
    ("revenue_by_period", {"p_from": date(2025, 11, 14), "p_to": date(2026, 6, 30), "p_grain": "week"}),
    ("top_clients", {"p_from": date(2024, 1, 1), "p_to": date(2026, 10, 31), "p_limit": 25}),
    ("payments_aging", {"p_as_of": date(2026, 6, 30)}),
    ("sales_pipeline", {}),
]


@pytest.mark.parametrize(("function", "params"), CASES, ids=[c[0] for c in CASES])
def test_csv_equals_the_function(
    refreshed: str, db: Conn, tmp_path: Path, function: str, params: dict[str, Any]
) -> None:
    options = [f"--param={k}={as_text(v)}" for k, v in params.items()]
    done = run_export(refreshed, function, *options, "-o", "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = direct(db, function, **params)
    assert expected, "the case must return rows to be meaningful"
    parsed = list(csv.reader(io.StringIO((tmp_path / "out.csv").read_text(encoding="utf-8"), newline="")))
    assert parsed[0] == list(expected[0])
    assert parsed[1:] == [[as_text(v) for v in row.values()] for row in expected]
    assert done.stdout.strip() == f"wrote {len(expected):,} rows to out.csv (csv)"


def test_json_and_default_file_name(refreshed: str, db: Conn, tmp_path: Path) -> None:
    done = run_export(
        refreshed,
        "revenue_by_period",
        "-p",
        "from=2026-01-01",
        "-p",
        "to=2026-06-30",
        "-f",
        "json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / "revenue_by_period_2026-01-01_2026-06-30.json"
    doc = json.loads(out.read_text(encoding="utf-8"), parse_float=Decimal)
    expected = direct(db, "revenue_by_period", p_from=date(2026, 1, 1), p_to=date(2026, 6, 30))
    assert doc["data"] == [
        {k: as_text(v) if isinstance(v, date) else v for k, v in r.items()} for r in expected
    ]
    meta = doc["meta"]
    assert meta["row_count"] == len(expected) == 6
    assert meta["params"] == {
        "p_from": "2026-01-01",
        "p_to": "2026-06-30",
        "p_grain": "month",
        "p_owner_id": None,
    }
    last = db.execute("SELECT min(refreshed_at) AS t FROM reports.summaries").fetchone()
    assert last is not None and meta["refreshed_at"] == last["t"].isoformat()


def test_xlsx_and_pdf_files(refreshed: str, db: Conn, tmp_path: Path) -> None:
    params = ["-p", "p_from=2024-01-01", "-p", "p_to=2026-10-31"]
    expected = direct(db, "top_clients", p_from=date(2024, 1, 1), p_to=date(2026, 10, 31))
    assert run_export(refreshed, "top_clients", *params, "-o", "top.xlsx", cwd=tmp_path).returncode == 0
    sheet = openpyxl.load_workbook(tmp_path / "top.xlsx")["top_clients"]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == list(expected[0])
    assert [row[2] for row in values[1:]] == [r["client_name"] for r in expected]
    assert [Decimal(str(row[4])) for row in values[1:]] == [r["won_amount"] for r in expected]

    assert run_export(refreshed, "top_clients", *params, "-o", "top.pdf", cwd=tmp_path).returncode == 0
    text = PdfReader(tmp_path / "top.pdf").pages[0].extract_text()
    assert "Top clients" in text and "From: 2024-01-01" in text
    assert f"{expected[0]['won_amount']:,f}" in text


def test_pdf_truncates_at_the_setting(refreshed: str, tmp_path: Path) -> None:
    args = ["activity_by_period", "-p", "from=2025-01-01", "-p", "to=2025-12-31", "-o", "a.pdf"]
    done = run_export(refreshed, *args, cwd=tmp_path, REPORTS_PDF_MAX_ROWS="40")
    assert done.returncode == 0, done.stderr
    assert "wrote 40 rows to a.pdf (pdf) (truncated at REPORTS_PDF_MAX_ROWS=40" in done.stdout
    text = " ".join(page.extract_text() for page in PdfReader(tmp_path / "a.pdf").pages)
    assert "Truncated: showing the first 40 rows" in text


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["pg_sleep"], "unknown report 'pg_sleep'; reports you can export: activity_by_action"),
        (["refresh_all"], "unknown report 'refresh_all'"),
        (["_check_range"], "unknown report '_check_range'"),
        (["revenue_by_period", "-p", "from=2026-01-01"], "--param p_to is required"),
        (
            ["revenue_by_period", "-p", "from=2026-01-01", "-p", "to=2026-02-01", "-p", "grian=week"],
            "unknown parameter 'grian' of report revenue_by_period; parameters: p_from (date, required)",
        ),
        (
            ["revenue_by_period", "-p", "from=2026-02-30", "-p", "to=2026-03-01"],
            "--param p_from is not a valid",
        ),
        (
            ["top_clients", "-p", "from=2026-01-01", "-p", "to=2026-02-01", "-p", "limit=ten"],
            "--param p_limit",
        ),
        (["revenue_by_period", "-p", "from"], "--param must be KEY=VALUE (got 'from')"),
        (["sales_pipeline", "-f", "docx"], "--format: format must be one of json, ndjson, csv, xlsx, pdf"),
        (
            ["revenue_by_period", "-p", "from=2026-03-01", "-p", "to=2026-01-01"],
            "error: [22023] p_from must be on or before p_to",
        ),
        (
            ["revenue_by_period", "-p", "from=2026-01-01", "-p", "to=2026-03-01", "-p", "grain=fortnight"],
            "error: [22023] p_grain must be one of",
        ),
    ],
)
def test_refusals_are_one_line(db_url: str, tmp_path: Path, args: list[str], says: str) -> None:
    line = one_error_line(run_export(db_url, *args, "-o", "x.csv", cwd=tmp_path))
    assert says in line
    assert list(tmp_path.iterdir()) == []  # no partial file


def test_sql_errors_carry_the_hint(db_url: str, tmp_path: Path) -> None:
    args = ["revenue_by_period", "-p", "from=2026-03-01", "-p", "to=2026-01-01"]
    line = one_error_line(run_export(db_url, *args, cwd=tmp_path))
    assert line.endswith(")") and "(hint: " in line


def test_runs_as_the_database_role(
    refreshed: str, db: Conn, tmp_path: Path, login_role: tuple[str, str]
) -> None:
    name, url = login_role
    args = ["collections_summary", "-p", "from=2025-07-01", "-p", "to=2026-06-30", "-o", "c.csv"]
    line = one_error_line(run_export(url, *args, cwd=tmp_path))
    assert line.startswith("error: [42501] ")  # in no group: refused by PostgreSQL, nothing written
    assert list(tmp_path.iterdir()) == []

    db.execute(sql.SQL("GRANT reports_reader TO {}").format(sql.Identifier(name)))
    done = run_export(url, *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # a psql reader: database role rules, scope all by default
    parsed = list(csv.reader(io.StringIO((tmp_path / "c.csv").read_text(encoding="utf-8"), newline="")))
    expected = direct(db, "collections_summary", p_from=date(2025, 7, 1), p_to=date(2026, 6, 30))
    assert parsed[1:] == [[as_text(v) for v in row.values()] for row in expected]


def test_stdout(refreshed: str, db: Conn, tmp_path: Path) -> None:
    done = run_export(refreshed, "sales_pipeline", "-o", "-", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout, newline="")))
    assert rows[1:] == [[as_text(v) for v in r.values()] for r in direct(db, "sales_pipeline")]
    assert "rows to stdout (csv)" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_new_exposed_function_runs_read_only(db_url: str, db: Conn, tmp_path: Path) -> None:
    """A function granted to reports_reader is exportable at once, and it cannot write."""
    db.execute(
        "CREATE FUNCTION reports.touch_settings() RETURNS TABLE (touched bigint) LANGUAGE sql VOLATILE "
        "AS $$ UPDATE reports.settings SET updated_at = now() RETURNING 1::bigint $$"
    )
    db.execute("GRANT EXECUTE ON FUNCTION reports.touch_settings() TO reports_reader")
    line = one_error_line(run_export(db_url, "touch_settings", cwd=tmp_path))
    assert line.startswith("error: [25006] cannot execute UPDATE in a read-only transaction")


def test_csv_export_escapes_formula_text_unless_the_setting_is_off(
    refreshed: str, db: Conn, tmp_path: Path
) -> None:
    params = {"p_from": date(2025, 7, 1), "p_to": date(2026, 6, 30), "p_limit": 5}
    top = direct(db, "top_clients", **params)[0]
    db.execute("UPDATE crm.clients SET name = '@SUM(1+1)' WHERE id = %s", [top["client_id"]])
    options = [f"--param={k}={as_text(v)}" for k, v in params.items()]
    names = {}
    for setting in ("true", "false"):
        done = run_export(
            refreshed,
            "top_clients",
            *options,
            "-o",
            f"{setting}.csv",
            cwd=tmp_path,
            REPORTS_CSV_ESCAPE_FORMULAS=setting,
        )
        assert done.returncode == 0, done.stderr
        rows = csv.DictReader(
            io.StringIO((tmp_path / f"{setting}.csv").read_text(encoding="utf-8"), newline="")
        )
        names[setting] = {int(r["client_id"]): r["client_name"] for r in rows}[top["client_id"]]
    assert names == {"true": "'@SUM(1+1)", "false": "@SUM(1+1)"}
