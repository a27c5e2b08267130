"""Correctness of activity_by_period and activity_by_action against the reference model.

Audit events with an actor, by the local day of ``occurred_at``; active users are distinct
actors per period (weekly and monthly actives, not sums of days); a head sees the events of
their team's members, a manager their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from reference import GRAINS
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


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("span", list(RANGES))
def test_activity_by_period(report_dbs: ReportDbs, span: str, grain: str, caller: str, timezone: str) -> None:
    rdb = report_dbs(timezone)
    p_from, p_to = RANGES[span]
    expected = rdb.reference(caller).activity_by_period(p_from, p_to, grain)
    got = rdb.call(caller, "activity_by_period", p_from=p_from, p_to=p_to, p_grain=grain)
    assert_same_rows(got, expected, context=label(rdb, caller, p_from=p_from, p_to=p_to, p_grain=grain))
    if span == "before_data":
        assert all(r["events"] == 0 for r in expected)
    else:
        assert sum(r["events"] for r in expected) > 0


@pytest.mark.parametrize("timezone", TIMEZONES)
def test_activity_by_period_default_grain_is_day(report_dbs: ReportDbs, timezone: str) -> None:
    rdb = report_dbs(timezone)
    p_from, p_to = RANGES["mid"]
    expected = rdb.reference("head").activity_by_period(p_from, p_to, "day")
    got = rdb.call("head", "activity_by_period", p_from=p_from, p_to=p_to)
    assert_same_rows(got, expected, context=label(rdb, "head", p_from=p_from, p_to=p_to))


def test_active_users_are_distinct_per_period(report_dbs: ReportDbs) -> None:
    """Guards the reference itself: monthly actives are not the sum of daily actives."""
    reference = report_dbs("UTC").reference("admin")
    p_from, p_to = RANGES["mid"]
    daily = sum(r["active_users"] for r in reference.activity_by_period(p_from, p_to, "day"))
    monthly = sum(r["active_users"] for r in reference.activity_by_period(p_from, p_to, "month"))
    assert 0 < monthly < daily


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("span", list(RANGES))
def test_activity_by_action(report_dbs: ReportDbs, span: str, caller: str, timezone: str) -> None:
    rdb = report_dbs(timezone)
    p_from, p_to = RANGES[span]
    got = rdb.call(caller, "activity_by_action", p_from=p_from, p_to=p_to)

    def order(row: dict[str, Any]) -> tuple[int, str, bool, str]:  # documented order, nulls last
        return (-row["events"], row["action"], row["entity_type"] is None, row["entity_type"] or "")

    expected = sorted(rdb.reference(caller).activity_by_action(p_from, p_to), key=order)
    assert_same_rows(got, expected, context=label(rdb, caller, p_from=p_from, p_to=p_to))
    if span != "before_data":
        assert len(expected) > 3
