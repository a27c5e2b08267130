"""Correctness of the sales reports against the reference model (tests/reference.py).

sales_pipeline, revenue_by_period, manager_leaderboard and top_clients, on the demo data,
in UTC and America/New_York, for every grain, ranges that start and end mid-period and a
range before any data, as the superuser (all), a head (team) and a manager (own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from reference import GRAINS
from reports_harness import (
    CALLERS,
    RANGES,
    TIMEZONES,
    ReportDb,
    assert_same_rows,
    label,
    other_owner,
    report_dbs_fixture,
)

report_dbs = report_dbs_fixture()
ReportDbs = Callable[[str], ReportDb]


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("span", list(RANGES))
def test_revenue_by_period(report_dbs: ReportDbs, span: str, grain: str, caller: str, timezone: str) -> None:
    rdb = report_dbs(timezone)
    p_from, p_to = RANGES[span]
    expected = rdb.reference(caller).revenue_by_period(p_from, p_to, grain)
    got = rdb.call(caller, "revenue_by_period", p_from=p_from, p_to=p_to, p_grain=grain)
    assert_same_rows(got, expected, context=label(rdb, caller, p_from=p_from, p_to=p_to, p_grain=grain))
    if span == "before_data":
        assert all(r["won_deals"] == 0 and r["paid_amount"] == 0 for r in expected)
    else:
        assert sum(r["won_deals"] for r in expected) > 0
        assert sum(r["paid_amount"] for r in expected) > 0
        assert any(r["growth_pct"] is not None for r in expected) or grain == "year"
    if caller in ("head", "manager") and span != "before_data":  # the scope restricts something
        everyone = rdb.reference("admin").revenue_by_period(p_from, p_to, grain)
        assert sum(r["won_amount"] for r in expected) < sum(r["won_amount"] for r in everyone)


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
def test_revenue_by_period_default_grain_is_month(report_dbs: ReportDbs, caller: str, timezone: str) -> None:
    rdb = report_dbs(timezone)
    p_from, p_to = RANGES["mid"]
    expected = rdb.reference(caller).revenue_by_period(p_from, p_to, "month")
    got = rdb.call(caller, "revenue_by_period", p_from=p_from, p_to=p_to)
    assert_same_rows(got, expected, context=label(rdb, caller, p_from=p_from, p_to=p_to))


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", ["admin", "head"])
def test_revenue_by_period_for_one_owner_in_scope(report_dbs: ReportDbs, caller: str, timezone: str) -> None:
    rdb = report_dbs(timezone)
    owner = other_owner(rdb.source, rdb.callers["head"], inside=True)
    p_from, p_to = RANGES["mid"]
    expected = rdb.reference(caller).revenue_by_period(p_from, p_to, "quarter", p_owner_id=owner)
    got = rdb.call(caller, "revenue_by_period", p_from=p_from, p_to=p_to, p_grain="quarter", p_owner_id=owner)
    assert_same_rows(got, expected, context=label(rdb, caller, p_owner_id=owner))
    assert sum(r["won_amount"] for r in expected) > 0
    everyone = rdb.reference(caller).revenue_by_period(p_from, p_to, "quarter")
    assert sum(r["won_amount"] for r in expected) < sum(r["won_amount"] for r in everyone)


@pytest.mark.parametrize("caller", ["head", "manager"])
def test_owner_outside_the_scope_is_refused(report_dbs: ReportDbs, caller: str) -> None:
    rdb = report_dbs("UTC")
    owner = other_owner(rdb.source, rdb.callers[caller], inside=False)
    p_from, p_to = RANGES["mid"]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        rdb.call(caller, "revenue_by_period", p_from=p_from, p_to=p_to, p_owner_id=owner)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        rdb.call(caller, "sales_pipeline", p_owner_id=owner)


def _assert_pipeline(rdb: ReportDb, caller: str, got: list[dict[str, Any]], owner: int | None = None) -> None:
    """Exact, except avg_age_days: between its values at the start and at the end of the refresh."""
    before, after = rdb.refreshed_between
    reference = rdb.reference(caller)
    low = reference.sales_pipeline(before, p_owner_id=owner)
    high = reference.sales_pipeline(after, p_owner_id=owner)
    without_age = [{k: v for k, v in r.items() if k != "avg_age_days"} for r in got]
    assert_same_rows(
        without_age,
        [{k: v for k, v in r.items() if k != "avg_age_days"} for r in low],
        context=label(rdb, caller, p_owner_id=owner),
    )
    for g, lo, hi in zip(got, low, high, strict=True):
        if lo["avg_age_days"] is None:
            assert g["avg_age_days"] is None, g
        else:
            assert lo["avg_age_days"] <= g["avg_age_days"] <= hi["avg_age_days"], (g, lo, hi)
    assert sum(r["deals"] for r in low) > 0


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
def test_sales_pipeline(report_dbs: ReportDbs, caller: str, timezone: str) -> None:
    rdb = report_dbs(timezone)
    _assert_pipeline(rdb, caller, rdb.call(caller, "sales_pipeline"))


@pytest.mark.parametrize("caller", CALLERS)
def test_sales_pipeline_for_one_owner(report_dbs: ReportDbs, caller: str) -> None:
    rdb = report_dbs("UTC")
    if caller == "head":
        owner = other_owner(rdb.source, rdb.callers["head"], inside=True)
    else:
        owner = rdb.callers["manager"].user_id
    assert owner is not None
    _assert_pipeline(rdb, caller, rdb.call(caller, "sales_pipeline", p_owner_id=owner), owner)


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("span", list(RANGES))
@pytest.mark.parametrize("limit", [None, 3])
def test_manager_leaderboard(
    report_dbs: ReportDbs, limit: int | None, span: str, caller: str, timezone: str
) -> None:
    rdb = report_dbs(timezone)
    p_from, p_to = RANGES[span]
    params: dict[str, Any] = {"p_from": p_from, "p_to": p_to}
    if limit is not None:
        params["p_limit"] = limit
    expected = rdb.reference(caller).manager_leaderboard(p_from, p_to, limit or 20)
    got = rdb.call(caller, "manager_leaderboard", **params)
    assert_same_rows(got, expected, context=label(rdb, caller, **params))
    if span != "before_data":
        assert expected and expected[0]["won_amount"] > 0


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("span", list(RANGES))
@pytest.mark.parametrize("limit", [None, 3, 1000])
def test_top_clients(report_dbs: ReportDbs, limit: int | None, span: str, caller: str, timezone: str) -> None:
    rdb = report_dbs(timezone)
    p_from, p_to = RANGES[span]
    params: dict[str, Any] = {"p_from": p_from, "p_to": p_to}
    if limit is not None:
        params["p_limit"] = limit
    expected = rdb.reference(caller).top_clients(p_from, p_to, limit or 10)
    got = rdb.call(caller, "top_clients", **params)
    assert_same_rows(got, expected, context=label(rdb, caller, **params))
    if span != "before_data":
        assert expected and expected[0]["won_amount"] > 0 and expected[0]["paid_amount"] >= 0
