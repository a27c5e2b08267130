"""Checks of the reference model itself (tests/reference.py), against the raw demo data.

The reference is the expected side of the report correctness tests, so it is checked here
independently of the reports schema: internal consistency (the same totals whatever the
grain), the exclusions and local dates against differently formulated SQL over crm.*, the
scopes partitioning the data, and the helpers (periods, rounding).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from reference import (
    ALL,
    GRAINS,
    Reference,
    Scope,
    Source,
    load_source,
    periods,
    ratio,
    round_to,
)

from reports_core.db import connect

FULL = (date(2023, 11, 1), date(2026, 10, 31))
ZONES = ("UTC", "America/New_York")


@pytest.fixture(scope="module")
def raw(contract_proc: Any, pg_server: Any) -> Iterator[tuple[psycopg.Connection[dict[str, Any]], Source]]:
    """A database with the contract and demo data (no reports migrations) and its loaded source."""
    name = "reference_check"
    url = pg_server.create_database(name, template=contract_proc.template_dbname)
    try:
        with connect(url, autocommit=True) as conn:
            yield conn, load_source(conn)
    finally:
        pg_server.drop_database(name)


def test_periods_are_dense_clipped_and_iso_weeks() -> None:
    span = periods(date(2024, 2, 14), date(2024, 3, 5), "week")
    mondays = [date(2024, 2, 12), date(2024, 2, 19), date(2024, 2, 26), date(2024, 3, 4)]
    assert [p.start for p in span] == mondays
    assert all(p.start.weekday() == 0 for p in span)
    assert (span[0].first, span[-1].last) == (date(2024, 2, 14), date(2024, 3, 5))
    quarters = periods(date(2024, 2, 14), date(2025, 1, 1), "quarter")
    assert [p.start for p in quarters] == [
        date(2024, 1, 1),
        date(2024, 4, 1),
        date(2024, 7, 1),
        date(2024, 10, 1),
        date(2025, 1, 1),
    ]
    assert len(periods(date(2024, 1, 1), date(2024, 12, 31), "day")) == 366


def test_rounding_is_half_up() -> None:
    assert round_to(Decimal("0.125"), 2) == Decimal("0.13")
    assert round_to(Decimal("-0.125"), 2) == Decimal("-0.13")
    assert ratio(1, 3, 4) == Decimal("0.3333")
    assert ratio(2, 3, 2, scale=100) == Decimal("66.67")
    assert ratio(1, 0, 2) is None


def test_exclusions_remove_rows(raw: tuple[psycopg.Connection[dict[str, Any]], Source]) -> None:
    _, source = raw
    kinds = ("clients", "deals", "history", "payments")
    assert all(source.excluded[kind] > 0 for kind in kinds), source.excluded


@pytest.mark.parametrize("timezone", ZONES)
def test_totals_do_not_depend_on_the_grain(
    raw: tuple[psycopg.Connection[dict[str, Any]], Source], timezone: str
) -> None:
    reference = Reference(raw[1], timezone)
    for column in ("won_deals", "won_amount", "paid_amount"):
        totals = {g: sum(r[column] for r in reference.revenue_by_period(*FULL, g)) for g in GRAINS}
        assert len(set(totals.values())) == 1, (column, totals)
        assert totals["day"] > 0
    events = {g: sum(r["events"] for r in reference.activity_by_period(*FULL, g)) for g in GRAINS}
    assert len(set(events.values())) == 1 and events["day"] > 0, events
    leaderboard = reference.manager_leaderboard(*FULL, p_limit=1000)
    assert sum(r["won_amount"] for r in leaderboard) == sum(
        r["won_amount"] for r in reference.revenue_by_period(*FULL, "year")
    )


@pytest.mark.parametrize("timezone", ZONES)
def test_won_amount_matches_sql_over_raw_tables(
    raw: tuple[psycopg.Connection[dict[str, Any]], Source], timezone: str
) -> None:
    conn, source = raw
    expected = {
        r["month"]: r["won"]
        for r in conn.execute(
            """
            SELECT date_trunc('month', (d.closed_at AT TIME ZONE %(tz)s))::date AS month, sum(d.amount) AS won
            FROM crm.deals AS d
            INNER JOIN crm.clients AS c ON c.id = d.client_id AND c.deleted_at IS NULL
            WHERE d.deleted_at IS NULL AND d.status = 'won'
                AND (d.closed_at AT TIME ZONE %(tz)s)::date BETWEEN %(from)s AND %(to)s
            GROUP BY 1
            """,
            {"tz": timezone, "from": FULL[0], "to": FULL[1]},
        ).fetchall()
    }
    got = {
        r["period_start"]: r["won_amount"]
        for r in Reference(source, timezone).revenue_by_period(*FULL, "month")
        if r["won_amount"]
    }
    assert got == expected


@pytest.mark.parametrize("timezone", ZONES)
def test_paid_amount_matches_sql_over_raw_tables(
    raw: tuple[psycopg.Connection[dict[str, Any]], Source], timezone: str
) -> None:
    conn, source = raw
    row = conn.execute(
        """
        SELECT sum(p.amount) AS paid
        FROM crm.payments AS p
        INNER JOIN crm.clients AS c ON c.id = p.client_id AND c.deleted_at IS NULL
        LEFT JOIN crm.deals AS d ON d.id = p.deal_id
        LEFT JOIN crm.clients AS dc ON dc.id = d.client_id
        WHERE (p.deal_id IS NULL OR (d.deleted_at IS NULL AND dc.deleted_at IS NULL))
            AND (p.paid_at AT TIME ZONE %(tz)s)::date BETWEEN %(from)s AND %(to)s
        """,
        {"tz": timezone, "from": date(2024, 7, 1), "to": date(2025, 6, 30)},
    ).fetchone()
    assert row is not None
    got = Reference(source, timezone).collections_summary(date(2024, 7, 1), date(2025, 6, 30))
    assert got["collected_amount"] == row["paid"] > 0


def test_day_buckets_depend_on_the_time_zone(raw: tuple[psycopg.Connection[dict[str, Any]], Source]) -> None:
    _, source = raw
    utc, new_york = (Reference(source, tz).revenue_by_period(*FULL, "day") for tz in ZONES)
    assert utc != new_york


def test_team_scopes_partition_the_data(raw: tuple[psycopg.Connection[dict[str, Any]], Source]) -> None:
    _, source = raw
    heads = [u for u in source.users.values() if u.role == "head"]
    assert len({h.team_id for h in heads}) >= 2
    everyone = Reference(source, "UTC", ALL)
    teams = [Reference(source, "UTC", Scope("team", h.id)) for h in heads]
    no_team = {u.id for u in source.users.values() if u.team_id is None}
    assert sum(len(t.deals) for t in teams) == len([d for d in everyone.deals if d.owner_id not in no_team])
    owners = [Reference(source, "UTC", Scope("own", u.id)) for u in source.users.values()]
    owned = [p for p in everyone.payments if p.owner_id is not None]
    assert sum(len(o.payments) for o in owners) == len(owned)
    assert sum(len(o.events) for o in owners) == len(everyone.events)
