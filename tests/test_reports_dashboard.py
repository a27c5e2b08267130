"""dashboard: equal to the reference model AND to the detailed functions for the same caller and range.

For a range inside one year, ``activity_by_period`` with grain ``year`` has one period covering
the range, so its ``active_users`` is the dashboard's (distinct actors over the whole range).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from reference import ratio
from reports_harness import (
    CALLERS,
    RANGES,
    TIMEZONES,
    ReportDb,
    assert_same_row,
    label,
    report_dbs_fixture,
)

report_dbs = report_dbs_fixture()
ReportDbs = Callable[[str], ReportDb]

DASHBOARD_RANGES = {
    "full": RANGES["full"],
    "in_one_year": (date(2025, 2, 10), date(2025, 11, 20)),
    "before_data": RANGES["before_data"],
}


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("span", list(DASHBOARD_RANGES))
def test_dashboard_matches_reference(report_dbs: ReportDbs, span: str, caller: str, timezone: str) -> None:
    rdb = report_dbs(timezone)
    p_from, p_to = DASHBOARD_RANGES[span]
    got = rdb.call(caller, "dashboard", p_from=p_from, p_to=p_to)
    before, after = rdb.refreshed_between
    expected = rdb.reference(caller).dashboard(p_from, p_to, before)
    assert expected == rdb.reference(caller).dashboard(p_from, p_to, after)  # no age in the dashboard
    assert_same_row(got, expected, context=label(rdb, caller, p_from=p_from, p_to=p_to))
    if span != "before_data":
        assert expected["won_deals"] > 0 and expected["active_users"] > 0 and expected["new_clients"] > 0
        assert expected["collected_amount"] > 0 and expected["open_pipeline_amount"] > 0


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("span", ["full", "in_one_year"])
def test_dashboard_matches_detailed_functions(
    report_dbs: ReportDbs, span: str, caller: str, timezone: str
) -> None:
    rdb = report_dbs(timezone)
    p_from, p_to = DASHBOARD_RANGES[span]
    rng = {"p_from": p_from, "p_to": p_to}
    (dash,) = rdb.call(caller, "dashboard", **rng)
    pipeline = rdb.call(caller, "sales_pipeline")
    revenue = rdb.call(caller, "revenue_by_period", **rng, p_grain="year")
    leaderboard = rdb.call(caller, "manager_leaderboard", **rng, p_limit=10_000)
    (collections,) = rdb.call(caller, "collections_summary", **rng)
    won_deals = sum(r["won_deals"] for r in revenue)
    won_amount = sum((r["won_amount"] for r in revenue), Decimal(0))
    decided = sum(r["won_deals"] + r["lost_deals"] for r in leaderboard)
    from_functions = {
        "open_pipeline_amount": sum((r["amount"] for r in pipeline), Decimal(0)),
        "weighted_pipeline_amount": sum((r["weighted_amount"] for r in pipeline), Decimal(0)),
        "won_deals": won_deals,
        "won_amount": won_amount,
        "win_rate": ratio(sum(r["won_deals"] for r in leaderboard), decided, 4),
        "avg_deal_size": ratio(won_amount, won_deals, 2),
        "collected_amount": collections["collected_amount"],
        "overdue_amount": collections["overdue_amount"],
    }
    if span == "in_one_year":
        (activity,) = rdb.call(caller, "activity_by_period", **rng, p_grain="year")
        from_functions["active_users"] = activity["active_users"]
        from_functions["avg_deal_size"] = revenue[0]["avg_deal_size"]
    context = label(rdb, caller, **rng)
    diff = {k: (dash[k], v) for k, v in from_functions.items() if dash[k] != v}
    assert not diff, f"{context}: dashboard vs detailed functions (dashboard, functions): {diff}"
    assert won_deals > 0 and decided > 0
