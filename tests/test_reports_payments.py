"""Correctness of payments_aging and collections_summary against the reference model.

History-aware: aging and collections are asked for past dates, including New York dates on
which demo payments were paid near midnight (their UTC and New York dates differ), in UTC and
America/New_York, as the superuser (all), a head (team) and a manager (own; a payment belongs
to its deal's owner, else to its client's owner).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from reports_harness import (
    CALLERS,
    RANGES,
    TIMEZONES,
    ReportDb,
    assert_same_row,
    assert_same_rows,
    label,
    midnight_days,
    report_dbs_fixture,
)

report_dbs = report_dbs_fixture()
ReportDbs = Callable[[str], ReportDb]

AS_OF = {
    "before_data": date(2019, 6, 30),
    "mid_2024": date(2024, 6, 30),
    "mid_march": date(2025, 3, 15),
    "end": date(2026, 10, 31),
}


_BUSIEST: dict[str, date] = {}


def _busiest_day(rdb: ReportDb) -> date:
    """The Wednesday (of the demo period) with the most non-empty aging buckets for the head's team."""
    if rdb.timezone not in _BUSIEST:
        reference = rdb.reference("head")
        days = [date(2023, 11, 1) + timedelta(weeks=w) for w in range(157)]
        _BUSIEST[rdb.timezone] = max(
            days, key=lambda d: sum(1 for r in reference.payments_aging(d) if r["payments"])
        )
    return _BUSIEST[rdb.timezone]


def _as_of(rdb: ReportDb, name: str) -> date:
    if name == "midnight":
        days = midnight_days(rdb.source, [p.paid_at for p in rdb.source.payments if p.paid_at is not None])
        assert days, "the demo data should pay some payments near midnight"
        return days[len(days) // 2]
    if name == "busiest":
        return _busiest_day(rdb)
    return AS_OF[name]


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("as_of", [*AS_OF, "busiest", "midnight"])
def test_payments_aging(report_dbs: ReportDbs, as_of: str, caller: str, timezone: str) -> None:
    rdb = report_dbs(timezone)
    day = _as_of(rdb, as_of)
    expected = rdb.reference(caller).payments_aging(day)
    got = rdb.call(caller, "payments_aging", p_as_of=day)
    assert_same_rows(got, expected, context=label(rdb, caller, p_as_of=day))
    if as_of == "before_data":
        assert all(r["payments"] == 0 and r["share_pct"] is None for r in expected)
    elif as_of == "busiest":
        assert sum(1 for r in expected if r["payments"]) >= (2 if caller == "manager" else 4)
    elif as_of == "end" and caller == "admin":
        assert sum(r["payments"] for r in expected) > 0


@pytest.mark.parametrize("timezone", TIMEZONES)
def test_payments_aging_day_before_and_after_midnight(report_dbs: ReportDbs, timezone: str) -> None:
    """On the days around a near-midnight payment, the outstanding amounts follow the local date."""
    rdb = report_dbs(timezone)
    day = _as_of(rdb, "midnight")
    for as_of in (day - timedelta(days=1), day, day + timedelta(days=1)):
        expected = rdb.reference("admin").payments_aging(as_of)
        assert_same_rows(
            rdb.call("admin", "payments_aging", p_as_of=as_of),
            expected,
            context=label(rdb, "admin", p_as_of=as_of),
        )


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
def test_payments_aging_defaults_to_today_in_the_reports_time_zone(
    report_dbs: ReportDbs, caller: str, timezone: str
) -> None:
    rdb = report_dbs(timezone)
    today = datetime.now(ZoneInfo(timezone)).date()
    expected = rdb.reference(caller).payments_aging(today)
    got = rdb.call(caller, "payments_aging")
    assert_same_rows(got, expected, context=label(rdb, caller, p_as_of=f"default ({today})"))
    assert sum(r["payments"] for r in expected) > 0


COLLECTION_RANGES = {**RANGES, "month": (date(2025, 6, 1), date(2025, 6, 30))}


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("span", [*COLLECTION_RANGES, "midnight"])
def test_collections_summary(report_dbs: ReportDbs, span: str, caller: str, timezone: str) -> None:
    rdb = report_dbs(timezone)
    if span == "midnight":
        p_to = _as_of(rdb, "midnight")
        p_from = p_to - timedelta(days=20)
    else:
        p_from, p_to = COLLECTION_RANGES[span]
    expected = rdb.reference(caller).collections_summary(p_from, p_to)
    got = rdb.call(caller, "collections_summary", p_from=p_from, p_to=p_to)
    assert_same_row(got, expected, context=label(rdb, caller, p_from=p_from, p_to=p_to))
    if span == "before_data":
        assert expected["invoiced_count"] == 0 and expected["dso_days"] is None
    elif span in ("full", "mid"):
        assert expected["invoiced_amount"] > 0 and expected["collected_amount"] > 0
