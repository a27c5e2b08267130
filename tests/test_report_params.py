"""Contracts of the eleven report functions, as a DBA reviews them.

Signatures and result columns exactly as the issue names them; STABLE, SECURITY DEFINER, pinned
search_path, a COMMENT defining every column; EXECUTE for reports_reader (and reports_api through it),
never PUBLIC; internal ``_`` helpers executable by nobody but the owner; bad parameters raise 22023 with
a message naming the parameter and a HINT; ``reports._periods`` gives dense, clipped periods.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import errors

from reports_cli.docs import write_metrics_doc
from reports_core.db import connect

Conn = psycopg.Connection[dict[str, Any]]

# name -> (pg_get_function_arguments, result columns as pg_get_function_result lists them inside TABLE(...))
REPORTS: dict[str, tuple[str, str]] = {
    "sales_pipeline": (
        "p_owner_id bigint DEFAULT NULL::bigint",
        "stage_code text, stage_name text, stage_position integer, deals bigint, amount numeric, "
        "weighted_amount numeric, avg_age_days numeric",
    ),
    "revenue_by_period": (
        "p_from date, p_to date, p_grain text DEFAULT 'month'::text, p_owner_id bigint DEFAULT NULL::bigint",
        "period_start date, won_deals bigint, won_amount numeric, avg_deal_size numeric, "
        "paid_amount numeric, prev_won_amount numeric, growth_pct numeric",
    ),
    "manager_leaderboard": (
        "p_from date, p_to date, p_limit integer DEFAULT 20",
        "rank bigint, owner_id bigint, owner_name text, team_name text, won_deals bigint, "
        "won_amount numeric, lost_deals bigint, win_rate numeric, avg_deal_size numeric, "
        "avg_cycle_days numeric",
    ),
    "stage_funnel": (
        "p_from date, p_to date",
        "stage_code text, reached bigint, conversion_pct numeric, avg_days_in_stage numeric",
    ),
    "payments_aging": (
        "p_as_of date DEFAULT NULL::date",
        "bucket text, payments bigint, amount numeric, share_pct numeric",
    ),
    "collections_summary": (
        "p_from date, p_to date",
        "invoiced_count bigint, invoiced_amount numeric, collected_amount numeric, "
        "outstanding_amount numeric, overdue_amount numeric, dso_days numeric",
    ),
    "client_cohorts": (
        "p_from date, p_to date, p_grain text DEFAULT 'month'::text",
        "cohort_start date, period_offset integer, cohort_size bigint, active_clients bigint, "
        "retention_pct numeric, won_amount numeric",
    ),
    "top_clients": (
        "p_from date, p_to date, p_limit integer DEFAULT 10",
        "rank bigint, client_id bigint, client_name text, won_deals bigint, won_amount numeric, "
        "paid_amount numeric, last_won_at timestamp with time zone",
    ),
    "activity_by_period": (
        "p_from date, p_to date, p_grain text DEFAULT 'day'::text",
        "period_start date, active_users bigint, events bigint, events_per_active_user numeric",
    ),
    "activity_by_action": (
        "p_from date, p_to date",
        "action text, entity_type text, events bigint, actors bigint",
    ),
    "dashboard": (
        "p_from date, p_to date",
        "open_pipeline_amount numeric, weighted_pipeline_amount numeric, won_deals bigint, "
        "won_amount numeric, win_rate numeric, avg_deal_size numeric, collected_amount numeric, "
        "overdue_amount numeric, active_users bigint, new_clients bigint",
    ),
}


def column_names(name: str) -> list[str]:
    return [column.split()[0] for column in REPORTS[name][1].split(", ")]


RANGE_REPORTS = [name for name, (args, _) in REPORTS.items() if args.startswith("p_from date, p_to date")]
GRAIN_REPORTS = ["revenue_by_period", "client_cohorts", "activity_by_period"]
LIMIT_REPORTS = ["manager_leaderboard", "top_clients"]

# Every call below is wrong in exactly one parameter: (report, arguments, the parameter named in the message).
BAD_CALLS: list[tuple[str, str, str]] = [
    *[(r, "p_from => DATE '2026-03-01', p_to => DATE '2026-02-28'", "p_from") for r in RANGE_REPORTS],
    *[(r, "p_from => NULL, p_to => DATE '2026-02-28'", "p_from") for r in RANGE_REPORTS],
    *[(r, "p_from => DATE '2026-01-01', p_to => NULL", "p_to") for r in RANGE_REPORTS],
    *[(r, "p_from => DATE '-infinity', p_to => DATE '2026-02-28'", "p_from") for r in RANGE_REPORTS],
    *[(r, "p_from => DATE '2026-01-01', p_to => DATE 'infinity'", "p_to") for r in RANGE_REPORTS],
    *[
        (r, f"p_from => DATE '2026-01-01', p_to => DATE '2026-02-28', p_grain => {grain}", "p_grain")
        for r in GRAIN_REPORTS
        for grain in ("'fortnight'", "'Month'", "''", "NULL")
    ],
    *[
        (r, f"p_from => DATE '2026-01-01', p_to => DATE '2026-02-28', p_limit => {limit}", "p_limit")
        for r in LIMIT_REPORTS
        for limit in ("0", "-1", "NULL")
    ],
    ("payments_aging", "p_as_of => DATE 'infinity'", "p_as_of"),
    ("payments_aging", "p_as_of => DATE '-infinity'", "p_as_of"),
    # too many periods for the grain
    ("activity_by_period", "DATE '1990-01-01', DATE '2030-01-01', 'day'", "p_grain"),
    ("client_cohorts", "DATE '2023-01-01', DATE '2026-10-31', 'day'", "p_grain"),
]

GRAINS = ("day", "week", "month", "quarter", "year")


@pytest.fixture(scope="module")
def catalog_url(reports_proc: Any, pg_server: Any) -> Iterator[str]:
    """One migrated database for the module (these tests only read the catalog or fail early)."""
    name = f"report_params_{uuid.uuid4().hex[:10]}"
    url = pg_server.create_database(name, template=reports_proc.template_dbname)
    try:
        yield url
    finally:
        pg_server.drop_database(name)


@pytest.fixture(scope="module")
def catalog_db(catalog_url: str) -> Iterator[Conn]:
    with connect(catalog_url, autocommit=True) as conn:
        yield conn


def function_row(conn: Conn, name: str) -> dict[str, Any]:
    rows = conn.execute(
        """
        SELECT p.oid, p.provolatile, p.prosecdef, p.proconfig, p.prokind,
               pg_get_function_arguments(p.oid) AS arguments, pg_get_function_result(p.oid) AS result,
               obj_description(p.oid, 'pg_proc') AS comment
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = 'reports' AND p.proname = %s
        """,
        [name],
    ).fetchall()
    assert len(rows) == 1, f"reports.{name} should exist exactly once (no overloads), found {len(rows)}"
    return rows[0]


def can_execute(conn: Conn, role: str, oid: int) -> bool:
    row = conn.execute("SELECT has_function_privilege(%s, %s, 'EXECUTE') AS ok", [role, oid]).fetchone()
    assert row is not None
    return bool(row["ok"])


# --------------------------------------------------------------------------- signatures and catalog


@pytest.mark.parametrize("name", REPORTS)
def test_signature_and_columns_are_the_issues(catalog_db: Conn, name: str) -> None:
    arguments, columns = REPORTS[name]
    fn = function_row(catalog_db, name)
    assert fn["arguments"] == arguments
    assert fn["result"] == f"TABLE({columns})"


@pytest.mark.parametrize("name", REPORTS)
def test_report_is_stable_definer_with_pinned_path(catalog_db: Conn, name: str) -> None:
    fn = function_row(catalog_db, name)
    assert fn["prokind"] == "f"
    assert fn["provolatile"] == "s", "report functions are STABLE"
    assert fn["prosecdef"], "report functions are SECURITY DEFINER"
    # custom plans: the inlined scoped readers see the caller's owner ids and days as constants;
    # no JIT: compiling costs more than these summary reads take (docs/architecture.md)
    assert fn["proconfig"] == ["search_path=reports, pg_temp", "plan_cache_mode=force_custom_plan", "jit=off"]


@pytest.mark.parametrize("name", REPORTS)
def test_report_comment_summarises_then_defines_every_column(catalog_db: Conn, name: str) -> None:
    fn = function_row(catalog_db, name)
    comment = fn["comment"]
    assert comment, f"reports.{name} has no COMMENT"
    summary, _, definition = comment.partition("\n")
    assert summary.strip() and len(summary) <= 120, "first line: a one-line summary"
    assert definition.strip(), "following lines: the definition"
    undefined = [c for c in column_names(name) if not re.search(rf"^- (.*\b)?{c}\b.*:", definition, re.M)]
    assert undefined == [], f"columns without a '- column: definition' line: {undefined}"


@pytest.mark.parametrize("name", REPORTS)
def test_report_privileges(catalog_db: Conn, name: str) -> None:
    oid = function_row(catalog_db, name)["oid"]
    assert not can_execute(catalog_db, "public", oid)
    assert can_execute(catalog_db, "reports_reader", oid)
    assert can_execute(catalog_db, "reports_api", oid)
    assert can_execute(catalog_db, "reports_admin", oid)
    assert not can_execute(catalog_db, "reports_refresher", oid)


def test_exposed_functions_are_exactly_the_eleven_reports(catalog_db: Conn) -> None:
    """Exposed = not _-prefixed, executable by reports_reader, commented (what docs and HTTP list)."""
    rows = catalog_db.execute(
        """
        SELECT p.proname FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = 'reports' AND p.prokind = 'f' AND left(p.proname, 1) <> '_'
          AND has_function_privilege('reports_reader', p.oid, 'EXECUTE')
          AND obj_description(p.oid, 'pg_proc') IS NOT NULL
        """
    ).fetchall()
    assert sorted(r["proname"] for r in rows) == sorted(REPORTS)


def test_internal_helpers_are_executable_by_no_group_role(catalog_db: Conn) -> None:
    helpers = catalog_db.execute(
        """
        SELECT p.oid, p.proname, p.oid::regprocedure::text AS signature
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = 'reports' AND left(p.proname, 1) = '_'
        """
    ).fetchall()
    assert {"_caller", "_authorize", "_periods", "_check_range"} <= {h["proname"] for h in helpers}
    executable = [
        (h["signature"], role)
        for h in helpers
        for role in ("public", "reports_reader", "reports_api", "reports_admin", "reports_refresher")
        if can_execute(catalog_db, role, h["oid"])
    ]
    assert executable == []


def test_set_caller_is_for_reports_api_only(catalog_db: Conn) -> None:
    fn = function_row(catalog_db, "set_caller")
    assert fn["arguments"] == "p_user_id bigint, p_roles text[]"
    assert can_execute(catalog_db, "reports_api", fn["oid"])
    assert not can_execute(catalog_db, "reports_reader", fn["oid"])
    assert not can_execute(catalog_db, "public", fn["oid"])
    assert fn["provolatile"] == "v" and fn["comment"]
    assert fn["proconfig"] == ["search_path=reports, pg_temp"]


def test_metrics_doc_is_generated_from_the_comments_and_current(catalog_url: str, tmp_path: Path) -> None:
    """docs/metrics.md is what `reports docs` writes for the migrated database (regenerate it)."""
    generated = tmp_path / "metrics.md"
    assert write_metrics_doc(catalog_url, generated) == len(REPORTS)
    text = generated.read_text(encoding="utf-8")
    assert "GENERATED FILE" in text.splitlines()[2]
    for name, (arguments, columns) in REPORTS.items():
        assert f"## {name}\n" in text and f"reports.{name}({arguments})" in text
        assert all(f"| `{c.split()[0]}` |" in text for c in columns.split(", "))
    assert sorted(re.findall(r"^## (\w+)$", text, re.M)) == sorted(REPORTS)  # not set_caller, not refresh_*
    committed = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
    assert committed.read_text(encoding="utf-8") == text, "docs/metrics.md is stale: run `reports docs`"


# --------------------------------------------------------------------------- parameter errors


@pytest.mark.parametrize(("name", "arguments", "parameter"), BAD_CALLS)
def test_bad_parameter_raises_22023_naming_it(
    catalog_db: Conn, name: str, arguments: str, parameter: str
) -> None:
    with pytest.raises(errors.InvalidParameterValue) as caught:
        catalog_db.execute(f"SELECT * FROM reports.{name}({arguments})")
    diag = caught.value.diag
    assert diag.sqlstate == "22023"
    assert parameter in (diag.message_primary or ""), diag.message_primary
    assert diag.message_hint, "a HINT tells the caller what to pass instead"


# Rows of each report called with only its required parameters (2026-01-01..2026-03-31), whatever the data:
# dense reports list every period, stage, bucket or cohort x offset; None: one row per data item.
DENSE_ROWS: dict[str, int | None] = {
    "sales_pipeline": 4,  # the open stages
    "revenue_by_period": 3,  # months
    "manager_leaderboard": None,
    "stage_funnel": 6,  # every stage
    "payments_aging": 5,  # buckets
    "collections_summary": 1,
    "client_cohorts": 3 + 2 + 1,  # month cohorts x offsets up to March
    "top_clients": None,
    "activity_by_period": 90,  # days
    "activity_by_action": None,
    "dashboard": 1,
}


@pytest.mark.parametrize("name", REPORTS)
def test_defaults_are_valid_and_reports_are_dense(catalog_db: Conn, name: str) -> None:
    args = "DATE '2026-01-01', DATE '2026-03-31'" if name in RANGE_REPORTS else ""
    rows = catalog_db.execute(f"SELECT * FROM reports.{name}({args})").fetchall()
    if DENSE_ROWS[name] is not None:
        assert len(rows) == DENSE_ROWS[name]


@pytest.mark.parametrize("timezone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_p_as_of_defaults_to_today_in_the_reports_time_zone(catalog_db: Conn, timezone: str) -> None:
    """Null p_as_of is today in reports.timezone() (14 h ahead of, 11 h behind UTC), not current_date."""
    catalog_db.execute("SELECT reports.set_timezone(%s)", [timezone])
    try:
        row = catalog_db.execute("SELECT reports._resolve_as_of(NULL) AS d").fetchone()
        assert row is not None
        assert row["d"] == datetime.now(ZoneInfo(timezone)).date()
        today = catalog_db.execute("SELECT * FROM reports.payments_aging()").fetchall()
        explicit = catalog_db.execute("SELECT * FROM reports.payments_aging(%s)", [row["d"]]).fetchall()
        assert today == explicit
        assert [r["bucket"] for r in today] == ["current", "1-30", "31-60", "61-90", "90+"]
    finally:
        catalog_db.execute("SELECT reports.set_timezone('UTC')")


# --------------------------------------------------------------------------- _periods


def period_start(day: date, grain: str) -> date:
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.isoweekday() - 1)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    return date(day.year, (day.month - 1) // months * months + 1, 1)


def next_start(start: date, grain: str) -> date:
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    months = start.month - 1 + {"month": 1, "quarter": 3, "year": 12}[grain]
    return date(start.year + months // 12, months % 12 + 1, 1)


def expected_periods(p_from: date, p_to: date, grain: str) -> list[dict[str, date]]:
    rows, start = [], period_start(p_from, grain)
    while start <= p_to:
        end = next_start(start, grain) - timedelta(days=1)
        rows.append(
            {
                "period_start": start,
                "period_end": end,
                "days_from": max(start, p_from),
                "days_to": min(end, p_to),
            }
        )
        start = end + timedelta(days=1)
    return rows


RANGES = [
    (date(2026, 3, 15), date(2026, 3, 15)),  # one day, a Sunday
    (date(2024, 2, 28), date(2024, 3, 1)),  # over a leap day
    (date(2025, 12, 31), date(2026, 1, 1)),  # over a year boundary, Wed -> Thu
    (date(2023, 11, 7), date(2026, 10, 31)),  # the demo data's span, starting mid-quarter
    (date(2026, 1, 5), date(2026, 2, 1)),  # Monday to Sunday
]


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize(("p_from", "p_to"), RANGES)
def test_periods_are_dense_and_clipped(catalog_db: Conn, grain: str, p_from: date, p_to: date) -> None:
    rows = catalog_db.execute("SELECT * FROM reports._periods(%s, %s, %s)", [p_from, p_to, grain]).fetchall()
    assert rows == expected_periods(p_from, p_to, grain)
    if grain == "week":
        assert all(r["period_start"].isoweekday() == 1 for r in rows), "ISO weeks start on Monday"
    days = catalog_db.execute(
        "SELECT period_start, day FROM reports._period_days(%s, %s, %s) ORDER BY day", [p_from, p_to, grain]
    ).fetchall()
    assert [d["day"] for d in days] == [p_from + timedelta(n) for n in range((p_to - p_from).days + 1)]
    assert all(d["period_start"] == period_start(d["day"], grain) for d in days)
