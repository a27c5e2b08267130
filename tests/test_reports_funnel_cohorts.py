"""Correctness of stage_funnel and client_cohorts against the reference model.

stage_funnel buckets deals by the local day of their creation; client_cohorts by the period of
a client's first won deal (within the caller's scope), for every grain, in UTC and
America/New_York, as the superuser (all), a head (team) and a manager (own).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from reports_harness import (
    CALLERS,
    RANGES,
    TIMEZONES,
    ReportDb,
    assert_same_rows,
    label,
    report_dbs_fixture,
)

report_dbs = report_dbs_fixture()
ReportDbs = Callable[[str], ReportDb]

FUNNEL_RANGES = {**RANGES, "month": (date(2025, 6, 1), date(2025, 6, 30))}


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("span", list(FUNNEL_RANGES))
def test_stage_funnel(report_dbs: ReportDbs, span: str, caller: str, timezone: str) -> None:
    rdb = report_dbs(timezone)
    p_from, p_to = FUNNEL_RANGES[span]
    expected = rdb.reference(caller).stage_funnel(p_from, p_to)
    got = rdb.call(caller, "stage_funnel", p_from=p_from, p_to=p_to)
    assert_same_rows(got, expected, context=label(rdb, caller, p_from=p_from, p_to=p_to))
    if span == "before_data":
        assert all(r["reached"] == 0 for r in expected)
    elif span in ("full", "mid"):
        assert expected[0]["reached"] > 0 and expected[1]["avg_days_in_stage"] is not None


# (grain, from, to): ranges start and end mid-period; cohorts are the periods starting inside.
COHORT_CASES = {
    "day": (date(2025, 3, 3), date(2025, 3, 23)),
    "week": (date(2024, 12, 18), date(2025, 4, 9)),
    "month": RANGES["mid"],
    "quarter": (date(2023, 11, 15), date(2026, 8, 20)),
    "year": (date(2023, 6, 1), date(2026, 10, 31)),
}


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("grain", list(COHORT_CASES))
def test_client_cohorts(report_dbs: ReportDbs, grain: str, caller: str, timezone: str) -> None:
    rdb = report_dbs(timezone)
    p_from, p_to = COHORT_CASES[grain]
    expected = rdb.reference(caller).client_cohorts(p_from, p_to, grain)
    got = rdb.call(caller, "client_cohorts", p_from=p_from, p_to=p_to, p_grain=grain)
    assert_same_rows(got, expected, context=label(rdb, caller, p_from=p_from, p_to=p_to, p_grain=grain))
    if caller != "manager" or grain in ("quarter", "year"):
        assert sum(r["cohort_size"] for r in expected if r["period_offset"] == 0) > 0
    if grain == "quarter" or (grain == "month" and caller == "admin"):
        assert any(r["active_clients"] > 0 for r in expected if r["period_offset"] > 0)


@pytest.mark.parametrize("timezone", TIMEZONES)
def test_client_cohorts_default_grain_is_month(report_dbs: ReportDbs, timezone: str) -> None:
    rdb = report_dbs(timezone)
    p_from, p_to = COHORT_CASES["month"]
    expected = rdb.reference("head").client_cohorts(p_from, p_to, "month")
    got = rdb.call("head", "client_cohorts", p_from=p_from, p_to=p_to)
    assert_same_rows(got, expected, context=label(rdb, "head", p_from=p_from, p_to=p_to))


@pytest.mark.parametrize("timezone", TIMEZONES)
def test_client_cohorts_before_any_data(report_dbs: ReportDbs, timezone: str) -> None:
    rdb = report_dbs(timezone)
    p_from, p_to = RANGES["before_data"]
    expected = rdb.reference("admin").client_cohorts(p_from, p_to, "month")
    got = rdb.call("admin", "client_cohorts", p_from=p_from, p_to=p_to, p_grain="month")
    assert_same_rows(got, expected, context=label(rdb, "admin", p_from=p_from, p_to=p_to))
