"""Shared harness of the report correctness tests (``tests/test_reports_*.py``).

One database per time zone and test module, cloned from the session's migrated template
(demo data at scale 1), switched to its time zone with ``reports.set_timezone`` and
refreshed once with ``reports.refresh_all()``; the tests only read. The raw source rows are
loaded once per database into :class:`reference.Source`.

Callers (picked from the data, never hard-coded ids):

- ``admin``: the superuser connection (scope ``all``);
- ``app_admin``: the CRM admin via ``reports.set_caller(id, {admin})`` from a LOGIN role that is
  a member of ``reports_api`` (scope ``all``);
- ``head``: a head whose team has the most managers, via ``reports.set_caller(id, {head})``
  (scope ``team``);
- ``manager``: the manager with the most deals, via ``reports.set_caller(id, {manager})``
  (scope ``own``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql
from reference import ALL, Reference, Scope, Source, load_source

from reports_core.db import connect

TIMEZONES = ("UTC", "America/New_York")
CALLERS = ("admin", "app_admin", "head", "manager")

# Ranges inside or around the demo data (about 2023-11 .. 2026-10-31).
RANGES: dict[str, tuple[date, date]] = {
    "full": (date(2023, 11, 1), date(2026, 10, 31)),
    "mid": (date(2024, 2, 14), date(2025, 8, 20)),  # starts on a Wednesday mid-quarter, ends mid-month
    "before_data": (date(2019, 3, 5), date(2019, 5, 20)),
}

Row = dict[str, Any]


@dataclass(frozen=True)
class Caller:
    """Who calls a report: the superuser, or an application user through ``reports_api``."""

    label: str
    scope: Scope
    app_roles: tuple[str, ...] | None = None  # None: the superuser connection, no set_caller

    @property
    def user_id(self) -> int | None:
        return self.scope.user_id


def pick_callers(source: Source) -> dict[str, Caller]:
    """The callers of the suite, chosen from the data."""
    deals_per_owner = Counter(d.owner_id for d in source.deals)
    managers = [u for u in source.users.values() if u.role == "manager"]
    manager = max(managers, key=lambda u: (deals_per_owner[u.id], -u.id))
    managers_per_team = Counter(u.team_id for u in managers)
    heads = [u for u in source.users.values() if u.role == "head" and u.team_id is not None]
    head = max(heads, key=lambda u: (managers_per_team[u.team_id], -u.id))
    assert managers_per_team[head.team_id] >= 2, "the demo data should give a head several managers"
    admin = min(u.id for u in source.users.values() if u.role == "admin")
    return {
        "admin": Caller("admin", ALL),
        "app_admin": Caller("app_admin", Scope("all", admin), ("admin",)),
        "head": Caller("head", Scope("team", head.id), ("head",)),
        "manager": Caller("manager", Scope("own", manager.id), ("manager",)),
    }


@dataclass
class ReportDb:
    """A refreshed database in one time zone, its raw source rows and its callers."""

    timezone: str
    admin: psycopg.Connection[dict[str, Any]]
    api: psycopg.Connection[dict[str, Any]]
    source: Source
    refreshed_between: tuple[datetime, datetime]
    callers: dict[str, Caller]
    _references: dict[Scope, Reference] = field(default_factory=dict)

    def reference(self, caller: Caller | str) -> Reference:
        """The reference model for a caller (cached)."""
        scope = (self.callers[caller] if isinstance(caller, str) else caller).scope
        if scope not in self._references:
            self._references[scope] = Reference(self.source, self.timezone, scope)
        return self._references[scope]

    def call(self, caller: Caller | str, function: str, **params: Any) -> list[Row]:
        """``SELECT * FROM reports.<function>(p_x => ..., ...)`` as ``caller``."""
        who = self.callers[caller] if isinstance(caller, str) else caller
        query = sql.SQL("SELECT * FROM {}.{}({})").format(
            sql.Identifier("reports"),
            sql.Identifier(function),
            sql.SQL(", ").join(
                sql.SQL("{} => {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in params
            ),
        )
        if who.app_roles is None:
            return self.admin.execute(query, params).fetchall()
        with self.api.transaction():
            self.api.execute(
                "SELECT reports.set_caller(%s::bigint, %s::text[])", (who.user_id, list(who.app_roles))
            )
            return self.api.execute(query, params).fetchall()


def report_dbs_fixture() -> Callable[..., Iterator[Callable[[str], ReportDb]]]:
    """A module-scoped fixture ``report_dbs``: ``report_dbs(timezone) -> ReportDb`` (created lazily)."""

    @pytest.fixture(scope="module")
    def report_dbs(reports_proc: Any, pg_server: Any) -> Iterator[Callable[[str], ReportDb]]:
        suffix = uuid.uuid4().hex[:10]
        api_role = f"reports_api_test_{suffix}"
        dbs: dict[str, ReportDb] = {}
        names: list[str] = []
        with connect(pg_server.url("postgres", search_path=None), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE reports_api").format(sql.Identifier(api_role)))

        def get(timezone: str) -> ReportDb:
            if timezone not in dbs:
                name = f"reports_correct_{suffix}_{len(names)}"
                names.append(name)
                url = pg_server.create_database(name, template=reports_proc.template_dbname)
                admin = connect(url, autocommit=True)
                admin.execute("SELECT reports.set_timezone(%s)", (timezone,))
                before = _clock(admin)
                admin.execute("SELECT * FROM reports.refresh_all()")
                after = _clock(admin)
                api = connect(url, autocommit=True, user=api_role)
                source = load_source(admin)
                dbs[timezone] = ReportDb(timezone, admin, api, source, (before, after), pick_callers(source))
            return dbs[timezone]

        try:
            yield get
        finally:
            for report_db in dbs.values():
                report_db.api.close()
                report_db.admin.close()
            for name in names:
                pg_server.drop_database(name)
            with connect(pg_server.url("postgres", search_path=None), autocommit=True) as conn:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(api_role)))

    return report_dbs


def _clock(conn: psycopg.Connection[dict[str, Any]]) -> datetime:
    row = conn.execute("SELECT clock_timestamp() AS now").fetchone()
    assert row is not None
    return row["now"]


# --------------------------------------------------------------------------- comparisons


def _diff(got: Row, expected: Row) -> dict[str, tuple[Any, Any]]:
    return {key: (got.get(key), value) for key, value in expected.items() if got.get(key) != value}


def assert_same_rows(got: list[Row], expected: list[Row], *, context: str = "") -> None:
    """Same columns, same rows in the same order; a readable diff of the first mismatches."""
    if not expected:
        assert got == [], f"{context}: expected no rows, got {len(got)}: {got[:3]}"
        return
    assert got, f"{context}: the function returned no rows, expected {len(expected)}"
    assert set(got[0]) == set(expected[0]), (
        f"{context}: columns differ: got {sorted(got[0])}, expected {sorted(expected[0])}"
    )
    problems = []
    if len(got) != len(expected):
        problems.append(f"row count: got {len(got)}, expected {len(expected)}")
    for i, (g, e) in enumerate(zip(got, expected, strict=False)):
        diff = _diff(g, e)
        if diff:
            problems.append(
                f"row {i} {_key(e)}: "
                + ", ".join(f"{k}: got {v[0]!r}, expected {v[1]!r}" for k, v in diff.items())
            )
    assert not problems, f"{context}: {len(problems)} mismatch(es):\n  " + "\n  ".join(problems[:12])


def assert_same_row(got: list[Row], expected: Row, *, context: str = "") -> None:
    """A one-row report equals the expected row."""
    assert len(got) == 1, f"{context}: expected one row, got {len(got)}"
    assert set(got[0]) == set(expected), (
        f"{context}: columns differ: got {sorted(got[0])}, expected {sorted(expected)}"
    )
    diff = _diff(got[0], expected)
    shown = ", ".join(f"{k}: got {g!r}, expected {e!r}" for k, (g, e) in diff.items())
    assert not diff, f"{context}: {shown}"


def _key(row: Row) -> str:
    for key in ("period_start", "stage_code", "bucket", "owner_id", "client_id", "cohort_start", "action"):
        if key in row:
            extra = f" offset {row['period_offset']}" if "period_offset" in row else ""
            return f"({key}={row[key]}{extra})"
    return ""


# --------------------------------------------------------------------------- data-driven choices


def midnight_days(source: Source, timestamps: list[datetime]) -> list[date]:
    """New York dates of the timestamps whose UTC and New York dates differ (midnight-sensitive days)."""
    utc, new_york = Reference(source, "UTC"), Reference(source, "America/New_York")
    return sorted({new_york.local(ts) for ts in timestamps if utc.local(ts) != new_york.local(ts)})


def other_owner(source: Source, caller: Caller, *, inside: bool) -> int:
    """The owner with the most deals inside (or outside) the caller's scope, other than the caller."""
    owners = caller.scope.owners(source)
    assert owners is not None
    per_owner = Counter(d.owner_id for d in source.deals if (d.owner_id in owners) == inside)
    if caller.user_id is not None:
        del per_owner[caller.user_id]
    assert per_owner, f"no owner {'inside' if inside else 'outside'} the scope of {caller}"
    return per_owner.most_common(1)[0][0]


def label(report_db: ReportDb, caller: str, **params: Any) -> str:
    """A label for assertion messages: time zone, caller and parameters."""
    who = report_db.callers[caller]
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"[tz={report_db.timezone} caller={caller}({who.scope.kind} {who.user_id})] {shown}"
