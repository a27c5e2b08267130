"""The summary tables and their refresh machinery (sql/repeatable/30_summaries, 40_refresh).

Expected summary rows are recomputed here in plain Python from the raw ``crm``/``audit`` rows
(:func:`reference.load_source` reads them with plain SELECTs and applies the exclusions), never
from the reports' own views or functions. Every test starts from empty summaries (the
``refreshable`` fixture), whether or not the template database was refreshed already.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import sql
from reference import Source, days_between, load_source

from reports_core.db import connect
from reports_core.refresh import format_summary_table, run_refresh

Conn = psycopg.Connection[dict[str, Any]]

SUMMARIES = (
    "deal_outcomes_daily",
    "payments_collected_daily",
    "payment_open_spans",
    "stage_funnel_daily",
    "audit_activity_daily",
    "clients_created_daily",
    "pipeline_open",
    "deal_outcomes_by_day",
    "payments_collected_by_day",
    "stage_funnel_by_day",
    "audit_actions_by_day",
    "audit_actors_by_day",
    "payment_open_spans_by_day",
    "payments_invoiced_by_day",
    "clients_created_by_day",
    "pipeline_open_by_stage",
    "audit_actions_by_month",
)
#: key columns of each summary table (the rest are measures)
KEYS = {
    "deal_outcomes_daily": ("day", "owner_id", "client_id"),
    "payments_collected_daily": ("day", "owner_id", "client_id"),
    "payment_open_spans": ("created_day", "owner_id", "due_date", "paid_day"),
    "stage_funnel_daily": ("created_day", "owner_id", "stage_code"),
    "audit_activity_daily": ("day", "actor_id", "action", "entity_type"),
    "clients_created_daily": ("day", "owner_id"),
    "pipeline_open": ("owner_id", "stage_code"),
    "deal_outcomes_by_day": ("day",),
    "payments_collected_by_day": ("day",),
    "stage_funnel_by_day": ("created_day", "stage_code"),
    "audit_actions_by_day": ("day", "action", "entity_type", "actor_block"),
    "audit_actors_by_day": ("day", "actor_block"),
    "payment_open_spans_by_day": ("created_day", "due_date", "paid_day"),
    "payments_invoiced_by_day": ("created_day",),
    "clients_created_by_day": ("day",),
    "pipeline_open_by_stage": ("stage_code",),
    "audit_actions_by_month": ("month", "action", "entity_type", "actor_block"),
}
#: snapshots of open deals without a day bucket, rewritten by every refresh (their ages move with the clock)
SNAPSHOTS = ("pipeline_open", "pipeline_open_by_stage")
DAY_BUCKETED = tuple(s for s in SUMMARIES if s not in SNAPSHOTS)


@pytest.fixture
def refreshable(db: Conn) -> Conn:
    """``db`` with every summary empty and never refreshed, and an empty refresh journal."""
    for name in SUMMARIES:
        db.execute(sql.SQL("TRUNCATE reports.{}").format(sql.Identifier(name)))
    db.execute(
        "UPDATE reports.summaries SET refreshed_at = NULL, generation = 0, rows = NULL, timezone = NULL,"
        " needs_full_refresh = TRUE"
    )
    db.execute("TRUNCATE reports.refresh_log")
    return db


def refresh_all(conn: Conn, *, wait: bool = False) -> dict[str, dict[str, Any]]:
    rows = conn.execute("SELECT * FROM reports.refresh_all(p_wait => %s)", [wait]).fetchall()
    return {r["view"]: r for r in rows}


def summary_state(conn: Conn) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in conn.execute("SELECT * FROM reports.summaries").fetchall()}


def table_rows(conn: Conn, name: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Rows of a summary table as {key: measures}, measures in column order (generated columns left out)."""
    rows = conn.execute(sql.SQL("SELECT * FROM reports.{}").format(sql.Identifier(name))).fetchall()
    keys = KEYS[name]
    result = {}
    for row in rows:
        row.pop("open_span", None)
        result[tuple(row[k] for k in keys)] = tuple(v for c, v in row.items() if c not in keys)
    return result


def collect_notices(conn: Conn) -> list[str]:
    messages: list[str] = []
    conn.add_notice_handler(lambda d: messages.append(f"{d.severity_nonlocalized}: {d.message_primary}"))
    return messages


# --------------------------------------------------------------------------- expected rows


class Days:
    """An expected sum of day counts: equal to a value within 1e-9 (SQL divides each term by 86400
    with its own numeric precision, Python with its Decimal context)."""

    def __init__(self, value: Decimal) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Decimal) and abs(other - self.value) <= Decimal("1e-9")

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"Days({self.value})"


def _days(value: Decimal) -> Days:
    return Days(value)


def expected_summaries(source: Source, timezone: str, as_of: datetime) -> dict[str, dict[tuple, tuple]]:
    """Every summary table recomputed from the source rows, as {key: measures} like :func:`table_rows`."""
    tz = ZoneInfo(timezone)

    def local(ts: datetime) -> Any:
        return ts.astimezone(tz).date()

    out: dict[str, dict[tuple, tuple]] = {}

    outcomes: dict[tuple, list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0), 0, None])
    for d in source.deals:
        if d.status not in ("won", "lost") or d.closed_at is None:
            continue
        acc = outcomes[(local(d.closed_at), d.owner_id, d.client_id)]
        if d.status == "won":
            acc[0] += 1
            acc[1] += d.amount
            acc[2] += days_between(d.created_at, d.closed_at)
            acc[4] = d.closed_at if acc[4] is None else max(acc[4], d.closed_at)
        else:
            acc[3] += 1
    out["deal_outcomes_daily"] = {k: (v[0], v[1], _days(v[2]), v[3], v[4]) for k, v in outcomes.items()}

    collected: dict[tuple, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for p in source.payments:
        if p.paid_at is not None:
            acc = collected[(local(p.paid_at), p.owner_id, p.client_id)]
            acc[0] += 1
            acc[1] += p.amount
    out["payments_collected_daily"] = {k: tuple(v) for k, v in collected.items()}

    spans: dict[tuple, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for p in source.payments:
        if p.status != "failed":
            paid_day = local(p.paid_at) if p.paid_at is not None else None
            acc = spans[(local(p.created_at), p.owner_id, p.due_date, paid_day)]
            acc[0] += 1
            acc[1] += p.amount
    out["payment_open_spans"] = {k: tuple(v) for k, v in spans.items()}

    history_of: dict[int, list[Any]] = defaultdict(list)
    for h in source.history:
        history_of[h.deal_id].append(h)
    funnel: dict[tuple, list[Any]] = defaultdict(lambda: [0, 0, Decimal(0)])
    for d in source.deals:
        steps = sorted(history_of[d.id], key=lambda h: (h.changed_at, h.id))
        seen: set[str] = set()
        for i, step in enumerate(steps):
            if step.to_stage in seen:
                continue
            seen.add(step.to_stage)
            acc = funnel[(local(d.created_at), d.owner_id, step.to_stage)]
            acc[0] += 1
            if i + 1 < len(steps):
                acc[1] += 1
                acc[2] += days_between(step.changed_at, steps[i + 1].changed_at)
    out["stage_funnel_daily"] = {k: (v[0], v[1], _days(v[2])) for k, v in funnel.items()}

    activity: dict[tuple, int] = defaultdict(int)
    for e in source.events:
        activity[(local(e.occurred_at), e.actor_id, e.action, e.entity_type)] += 1
    out["audit_activity_daily"] = {k: (v,) for k, v in activity.items()}

    # clients_created_by_day and pipeline_open_by_stage (V0017) are summed in the same pass over the
    # source rows, not from the rows of the detailed summaries
    created: dict[tuple, int] = defaultdict(int)
    clients_by_day: dict[tuple, int] = defaultdict(int)
    for c in source.clients.values():
        created[(local(c.created_at), c.owner_id)] += 1
        clients_by_day[(local(c.created_at),)] += 1
    out["clients_created_daily"] = {k: (v,) for k, v in created.items()}
    out["clients_created_by_day"] = {k: (v,) for k, v in clients_by_day.items()}

    probability = {s.code: s.probability or Decimal(0) for s in source.stages}
    pipeline: dict[tuple, list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0), Decimal(0), as_of])
    by_stage: dict[tuple, list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0), Decimal(0), as_of])
    for d in source.deals:
        if d.status == "open":
            for acc in (pipeline[(d.owner_id, d.stage)], by_stage[(d.stage,)]):
                acc[0] += 1
                acc[1] += d.amount
                acc[2] += d.amount * probability.get(d.stage, Decimal(0))
                acc[3] += days_between(d.created_at, as_of)
    out["pipeline_open"] = {k: (v[0], v[1], v[2], _days(v[3]), v[4]) for k, v in pipeline.items()}
    out["pipeline_open_by_stage"] = {k: (v[0], v[1], v[2], _days(v[3]), v[4]) for k, v in by_stage.items()}

    # the day totals: summed here from the deals and the history directly, not from the rows above
    by_day: dict[tuple, list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0), 0, None])
    for d in source.deals:
        if d.status in ("won", "lost") and d.closed_at is not None:
            acc = by_day[(local(d.closed_at),)]
            if d.status == "won":
                acc[0] += 1
                acc[1] += d.amount
                acc[2] += days_between(d.created_at, d.closed_at)
                acc[4] = d.closed_at if acc[4] is None else max(acc[4], d.closed_at)
            else:
                acc[3] += 1
    out["deal_outcomes_by_day"] = {k: (v[0], v[1], _days(v[2]), v[3], v[4]) for k, v in by_day.items()}
    paid_by_day: dict[tuple, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for p in source.payments:
        if p.paid_at is not None:
            paid_by_day[(local(p.paid_at),)][0] += 1
            paid_by_day[(local(p.paid_at),)][1] += p.amount
    out["payments_collected_by_day"] = {k: tuple(v) for k, v in paid_by_day.items()}
    funnel_by_day: dict[tuple, list[Any]] = defaultdict(lambda: [0, 0, Decimal(0)])
    for (created_day, _owner, stage), (reached, left, days) in funnel.items():
        acc = funnel_by_day[(created_day, stage)]
        acc[0] += reached
        acc[1] += left
        acc[2] += days
    out["stage_funnel_by_day"] = {k: (v[0], v[1], _days(v[2])) for k, v in funnel_by_day.items()}

    # the actor bitmaps, from the events: per block of 4096 ids, the set of actors (ids floor-divided by
    # 4096; bit id mod 4096 counted from the left) as a string of 0s and 1s, as PostgreSQL prints bit(4096)
    def bitmap(ids: set[int]) -> str:
        bits = ["0"] * 4096
        for actor in ids:
            bits[actor % 4096] = "1"
        return "".join(bits)

    actions: dict[tuple, list[Any]] = defaultdict(lambda: [0, set()])
    for e in source.events:
        if e.actor_id is not None:
            acc = actions[(local(e.occurred_at), e.action, e.entity_type, e.actor_id // 4096)]
            acc[0] += 1
            acc[1].add(e.actor_id)
    out["audit_actions_by_day"] = {k: (v[0], bitmap(v[1])) for k, v in actions.items()}
    actors: dict[tuple, list[Any]] = defaultdict(lambda: [0, set()])
    for (day, _action, _entity, block), (events, ids) in actions.items():
        actors[(day, block)][0] += events
        actors[(day, block)][1] |= ids
    out["audit_actors_by_day"] = {k: (v[0], bitmap(v[1])) for k, v in actors.items()}
    # the month totals of V0018: the same events grouped by the first day of their local month
    by_month: dict[tuple, list[Any]] = defaultdict(lambda: [0, set()])
    for e in source.events:
        if e.actor_id is not None:
            day = local(e.occurred_at)
            acc = by_month[(day.replace(day=1), e.action, e.entity_type, e.actor_id // 4096)]
            acc[0] += 1
            acc[1].add(e.actor_id)
    out["audit_actions_by_month"] = {k: (v[0], bitmap(v[1])) for k, v in by_month.items()}

    # the payment totals in scope all of V0017, again from the source rows, not from the rows above
    spans_by_day: dict[tuple, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    invoiced: dict[tuple, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for p in source.payments:
        if p.status != "failed":
            paid_day = local(p.paid_at) if p.paid_at is not None else None
            created_day = local(p.created_at)
            for acc in (spans_by_day[(created_day, p.due_date, paid_day)], invoiced[(created_day,)]):
                acc[0] += 1
                acc[1] += p.amount
    out["payment_open_spans_by_day"] = {k: tuple(v) for k, v in spans_by_day.items()}
    out["payments_invoiced_by_day"] = {k: tuple(v) for k, v in invoiced.items()}
    return out


def actual_summaries(conn: Conn) -> dict[str, dict[tuple, tuple]]:
    return {name: table_rows(conn, name) for name in SUMMARIES}


# --------------------------------------------------------------------------- full refresh


def test_full_refresh_populates_every_summary(refreshable: Conn) -> None:
    result = refresh_all(refreshable)

    assert list(result) == list(SUMMARIES)  # dependency order
    assert {r["status"] for r in result.values()} == {"ok"}
    state = summary_state(refreshable)
    for name in SUMMARIES:
        count = refreshable.execute(
            sql.SQL("SELECT count(*) AS n FROM reports.{}").format(sql.Identifier(name))
        )
        n = count.fetchone()["n"]  # type: ignore[index]
        assert n > 0, name
        assert result[name]["rows"] == n == state[name]["rows"]
        assert state[name]["generation"] == 1
        assert state[name]["timezone"] == "UTC"
        assert state[name]["needs_full_refresh"] is False
    log = refreshable.execute("SELECT * FROM reports.refresh_log ORDER BY id").fetchall()
    assert [r["view"] for r in log] == list(SUMMARIES)
    assert {(r["status"], r["mode"], r["rows_deleted"]) for r in log} == {("ok", "full", 0)}
    assert len({r["run_id"] for r in log}) == 1
    assert all(r["rows_written"] == r["rows"] and r["finished_at"] >= r["started_at"] for r in log)


def test_second_refresh_writes_nothing(refreshable: Conn) -> None:
    refresh_all(refreshable)
    before = summary_state(refreshable)
    contents = {name: table_rows(refreshable, name) for name in DAY_BUCKETED}

    result = refresh_all(refreshable)

    assert {r["status"] for r in result.values()} == {"ok"}
    after = summary_state(refreshable)
    log = {
        r["view"]: r
        for r in refreshable.execute(
            "SELECT * FROM reports.refresh_log WHERE run_id = (SELECT run_id FROM reports.refresh_log"
            " ORDER BY id DESC LIMIT 1)"
        ).fetchall()
    }
    for name in DAY_BUCKETED:
        assert (log[name]["rows_written"], log[name]["rows_deleted"]) == (0, 0), name
        assert after[name]["generation"] == before[name]["generation"] == 1, name
        assert after[name]["refreshed_at"] > before[name]["refreshed_at"], name
        assert table_rows(refreshable, name) == contents[name], name
    # the snapshots' as_of and ages move with the clock: rewritten (never deleted) by every refresh
    for name in SNAPSHOTS:
        assert log[name]["rows_written"] == log[name]["rows"], name
        assert log[name]["rows_deleted"] == 0, name
        assert after[name]["generation"] == 2, name


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
def test_summaries_equal_an_independent_aggregation_of_the_sources(refreshable: Conn, timezone: str) -> None:
    refreshable.execute("SELECT reports.set_timezone(%s)", [timezone])
    refresh_all(refreshable)
    as_of = refreshable.execute("SELECT max(as_of) AS t FROM reports.pipeline_open").fetchone()["t"]  # type: ignore[index]

    expected = expected_summaries(load_source(refreshable), timezone, as_of)
    actual = actual_summaries(refreshable)

    for name in SUMMARIES:
        assert actual[name] == expected[name], name


def test_time_zone_moves_rows_between_days(refreshable: Conn) -> None:
    """The demo data closes deals near midnight: New York days differ from UTC days."""
    source = load_source(refreshable)
    now = datetime.now(ZoneInfo("UTC"))
    utc = expected_summaries(source, "UTC", now)
    new_york = expected_summaries(source, "America/New_York", now)
    assert utc["deal_outcomes_daily"].keys() != new_york["deal_outcomes_daily"].keys()


def test_refresh_after_source_changes_writes_and_deletes_only_the_difference(refreshable: Conn) -> None:
    refresh_all(refreshable)
    client = refreshable.execute(
        "SELECT c.id FROM crm.clients AS c WHERE c.deleted_at IS NULL"
        " AND EXISTS (SELECT FROM crm.deals AS d WHERE d.client_id = c.id AND d.status = 'won'"
        "             AND d.deleted_at IS NULL)"
        " ORDER BY c.id LIMIT 1"
    ).fetchone()["id"]  # type: ignore[index]
    refreshable.execute("UPDATE crm.clients SET deleted_at = now() WHERE id = %s", [client])

    refresh_all(refreshable)

    log = {
        r["view"]: r
        for r in refreshable.execute(
            "SELECT * FROM reports.refresh_log WHERE run_id = (SELECT run_id FROM reports.refresh_log"
            " ORDER BY id DESC LIMIT 1)"
        ).fetchall()
    }
    assert log["deal_outcomes_daily"]["rows_deleted"] > 0
    assert log["clients_created_daily"]["rows_written"] + log["clients_created_daily"]["rows_deleted"] >= 1
    gone = refreshable.execute(
        "SELECT count(*) AS n FROM reports.deal_outcomes_daily WHERE client_id = %s", [client]
    )
    assert gone.fetchone() == {"n": 0}
    as_of = refreshable.execute("SELECT max(as_of) AS t FROM reports.pipeline_open").fetchone()["t"]  # type: ignore[index]
    expected = expected_summaries(load_source(refreshable), "UTC", as_of)
    assert actual_summaries(refreshable) == expected
    assert summary_state(refreshable)["deal_outcomes_daily"]["generation"] == 2


def test_compute_functions_return_exactly_the_requested_days(refreshable: Conn) -> None:
    """What incremental maintenance relies on: compute(days) = the full contents restricted to days."""
    refresh_all(refreshable)
    days = "[2025-01-01,2025-07-01)"
    for name in DAY_BUCKETED:
        bucket = KEYS[name][0]
        query = sql.SQL(
            "SELECT count(*) AS n FROM ("
            " (SELECT * FROM reports.{compute}(%(days)s::daterange)"
            "  EXCEPT ALL SELECT {cols} FROM reports.{table} WHERE {bucket} <@ %(days)s::daterange)"
            " UNION ALL"
            " (SELECT {cols} FROM reports.{table} WHERE {bucket} <@ %(days)s::daterange"
            "  EXCEPT ALL SELECT * FROM reports.{compute}(%(days)s::daterange))) AS diff"
        ).format(
            compute=sql.Identifier(f"compute_{name}"),
            table=sql.Identifier(name),
            bucket=sql.Identifier(bucket),
            cols=sql.SQL(", ").join(
                sql.Identifier(c["attname"])
                for c in refreshable.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
                    " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                    [f"reports.{name}"],
                ).fetchall()
            ),
        )
        in_range = refreshable.execute(
            sql.SQL("SELECT count(*) AS n FROM reports.{} WHERE {} <@ %s::daterange").format(
                sql.Identifier(name), sql.Identifier(bucket)
            ),
            [days],
        ).fetchone()["n"]  # type: ignore[index]
        assert in_range > 0, name
        assert refreshable.execute(query, {"days": days}).fetchone()["n"] == 0, name  # type: ignore[index]


# --------------------------------------------------------------------------- rewriting days: insert or diff


def refresh_days(conn: Conn, name: str, days: str, groups: list[int] | None = None) -> dict[str, Any]:
    row = conn.execute(
        "SELECT * FROM reports._refresh_days(%s, %s::datemultirange, %s::bigint[])", [name, days, groups]
    ).fetchone()
    assert row is not None
    return row


def delete_days(conn: Conn, name: str, days: str) -> int:
    deleted = conn.execute(
        sql.SQL("DELETE FROM reports.{} WHERE {} <@ %s::datemultirange").format(
            sql.Identifier(name), sql.Identifier(KEYS[name][0])
        ),
        [days],
    )
    return deleted.rowcount


def wrap_compute_clients_created_daily(conn: Conn, extra_rows: str) -> None:
    """Make reports.compute_clients_created_daily return its rows and ``extra_rows`` (a query over p_days)."""
    conn.execute(
        "ALTER FUNCTION reports.compute_clients_created_daily(daterange)"
        " RENAME TO compute_clients_created_daily_real"
    )
    conn.execute(
        "CREATE FUNCTION reports.compute_clients_created_daily(p_days daterange)"
        " RETURNS TABLE (day date, owner_id bigint, clients bigint) LANGUAGE sql STABLE AS $$"
        " SELECT * FROM reports.compute_clients_created_daily_real(p_days) UNION ALL " + extra_rows + " $$"
    )


@pytest.mark.parametrize(
    "days",
    # one range (stored rows selected by a range of the bucket column), several (by the list of their days)
    ["{[2025-01-01,2025-04-01)}", "{[2025-01-01,2025-02-01),[2025-06-01,2025-06-08)}"],
)
@pytest.mark.parametrize("name", ["deal_outcomes_daily", "audit_activity_daily", "stage_funnel_daily"])
def test_days_with_no_stored_row_get_the_rows_of_a_full_refresh(
    refreshable: Conn, name: str, days: str
) -> None:
    """Days of which no row is stored are inserted as computed, without the diff (a first build, new days)."""
    refresh_all(refreshable)
    as_of = refreshable.execute("SELECT max(as_of) AS t FROM reports.pipeline_open").fetchone()["t"]  # type: ignore[index]
    expected = expected_summaries(load_source(refreshable), "UTC", as_of)[name]
    emptied = delete_days(refreshable, name, days)
    assert emptied > 0

    assert refresh_days(refreshable, name, days) == {
        "rows_inserted": emptied,
        "rows_updated": 0,
        "rows_deleted": 0,
        "rows_computed": emptied,
    }
    assert table_rows(refreshable, name) == expected


@pytest.mark.parametrize("stored", [False, True], ids=["no-stored-row", "stored-rows"])
def test_computed_rows_outside_the_days_are_refused_and_nothing_is_written(
    refreshable: Conn, stored: bool
) -> None:
    days = "{[2025-01-01,2025-02-01)}"
    refresh_all(refreshable)
    emptied = delete_days(refreshable, "clients_created_daily", days) if not stored else 0
    before = table_rows(refreshable, "clients_created_daily")
    assert emptied > 0 or any(key[0].month == 1 and key[0].year == 2025 for key in before)
    wrap_compute_clients_created_daily(refreshable, "SELECT upper(p_days), NULL::bigint, 1::bigint")

    with pytest.raises(psycopg.errors.DataException, match="returned 1 rows outside the requested days"):
        refresh_days(refreshable, "clients_created_daily", days)
    assert table_rows(refreshable, "clients_created_daily") == before


def test_a_new_key_computed_twice_is_refused_and_nothing_is_written(refreshable: Conn) -> None:
    days = "{[2025-01-01,2025-02-01)}"
    refresh_all(refreshable)
    assert delete_days(refreshable, "clients_created_daily", days) > 0
    before = table_rows(refreshable, "clients_created_daily")
    wrap_compute_clients_created_daily(
        refreshable, "(SELECT * FROM reports.compute_clients_created_daily_real(p_days) LIMIT 1)"
    )

    with pytest.raises(psycopg.errors.UniqueViolation):
        refresh_days(refreshable, "clients_created_daily", days)
    assert table_rows(refreshable, "clients_created_daily") == before


def test_a_refresh_by_group_rewrites_only_the_rows_of_those_groups(refreshable: Conn) -> None:
    """reports._refresh_days(name, days, groups): only the rows of those days whose group column (client_id
    for deal_outcomes_daily) is one of the groups are recomputed; the day's other rows are left as stored."""
    refresh_all(refreshable)
    full = table_rows(refreshable, "deal_outcomes_daily")
    day = refreshable.execute(
        "SELECT day FROM reports.deal_outcomes_daily GROUP BY day HAVING count(DISTINCT client_id) >= 2"
        " ORDER BY day LIMIT 1"
    ).fetchone()["day"]  # type: ignore[index]
    tampered = refreshable.execute(
        "UPDATE reports.deal_outcomes_daily SET lost_deals = lost_deals + 1 WHERE day = %s"
        " RETURNING owner_id, client_id",
        [day],
    ).fetchall()
    clients = sorted({r["client_id"] for r in tampered})
    repaired, kept = clients[0], clients[1:]

    result = refresh_days(refreshable, "deal_outcomes_daily", f"{{[{day},{day}]}}", groups=[repaired])

    rows = table_rows(refreshable, "deal_outcomes_daily")
    assert result["rows_updated"] == sum(1 for r in tampered if r["client_id"] == repaired)
    for key, measures in rows.items():
        if key[0] == day and key[2] in kept:
            assert measures != full[key], key  # still tampered
        else:
            assert measures == full[key], key
    assert rows.keys() == full.keys()


def test_a_refresh_by_group_needs_a_summary_with_a_group_column(refreshable: Conn) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="has no group column"):
        refresh_days(refreshable, "audit_activity_daily", "{[2025-01-01,2025-01-02)}", groups=[1])


# --------------------------------------------------------------------------- time zone


def test_time_zone_change_marks_full_refresh_and_the_next_refresh_rebuilds(refreshable: Conn) -> None:
    refresh_all(refreshable)
    notices = collect_notices(refreshable)

    assert refreshable.execute("SELECT reports.set_timezone('America/New_York') AS tz").fetchone() == {
        "tz": "America/New_York"
    }
    assert any("full refresh is required" in n for n in notices)
    status = refreshable.execute("SELECT * FROM reports.refresh_status()").fetchall()
    assert {(r["needs_full_refresh"], r["timezone"]) for r in status} == {(True, "UTC")}

    notices.clear()
    result = refresh_all(refreshable)

    assert {r["status"] for r in result.values()} == {"ok"}
    assert sum("built in time zone UTC" in n and "full rebuild" in n for n in notices) == len(SUMMARIES)
    status = refreshable.execute("SELECT * FROM reports.refresh_status()").fetchall()
    assert {(r["needs_full_refresh"], r["timezone"]) for r in status} == {(False, "America/New_York")}
    assert summary_state(refreshable)["deal_outcomes_daily"]["generation"] == 2

    notices.clear()
    refreshable.execute("SELECT reports.set_timezone('America/New_York')")  # unchanged: nothing to do
    assert notices == []
    assert not any(
        r["needs_full_refresh"] for r in refreshable.execute("SELECT * FROM reports.refresh_status()")
    )


@pytest.mark.parametrize("name", ["Mars/Olympus", "utc", None])
def test_set_timezone_rejects_unknown_names(refreshable: Conn, name: str | None) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue) as exc:
        refreshable.execute("SELECT reports.set_timezone(%s::text)", [name])
    assert "p_timezone" in str(exc.value)
    assert exc.value.diag.message_hint
    assert refreshable.execute("SELECT reports.timezone() AS tz").fetchone() == {"tz": "UTC"}


# --------------------------------------------------------------------------- readers and failures


@pytest.fixture
def second_conn(db_url: str) -> Iterator[Callable[..., Conn]]:
    opened: list[Conn] = []

    def open_conn(*, autocommit: bool = True) -> Conn:
        conn = connect(db_url, autocommit=autocommit)
        opened.append(conn)
        return conn

    yield open_conn
    for conn in opened:
        conn.close()


def test_readers_are_not_blocked_by_a_running_refresh_and_see_the_old_rows(
    refreshable: Conn, second_conn: Callable[..., Conn]
) -> None:
    revenue = "SELECT * FROM reports.revenue_by_period('2024-01-01', '2026-10-31', 'year')"
    refresh_all(refreshable)
    old_total = refreshable.execute("SELECT sum(won_amount) AS s FROM reports.deal_outcomes_daily").fetchone()
    old_revenue = refreshable.execute(revenue).fetchall()
    refreshable.execute(
        "UPDATE crm.deals SET amount = amount + 1000 WHERE status = 'won' AND deleted_at IS NULL"
    )
    refresher = second_conn(autocommit=False)
    reader = second_conn()
    reader.execute("SET lock_timeout = '200ms'")
    reader.execute("SET statement_timeout = '2s'")

    # A refresh that has rewritten every summary but not committed yet (a long refresh, frozen).
    result = refresher.execute("SELECT * FROM reports.refresh_all()").fetchall()
    assert {r["status"] for r in result} == {"ok"}

    started = time.monotonic()
    during = reader.execute("SELECT sum(won_amount) AS s FROM reports.deal_outcomes_daily").fetchone()
    during_revenue = reader.execute(revenue).fetchall()
    for name in SUMMARIES:
        reader.execute(sql.SQL("SELECT count(*) FROM reports.{}").format(sql.Identifier(name))).fetchone()
    status = reader.execute("SELECT * FROM reports.refresh_status()").fetchall()
    assert time.monotonic() - started < 5  # (lock_timeout above: a lock wait would have raised)
    assert during == old_total
    assert during_revenue == old_revenue
    assert len(status) == len(SUMMARIES)

    refresher.commit()
    after = reader.execute("SELECT sum(won_amount) AS s FROM reports.deal_outcomes_daily").fetchone()
    assert after is not None and old_total is not None
    assert after["s"] > old_total["s"]
    assert reader.execute(revenue).fetchall() != old_revenue


def break_clients_created_daily(conn: Conn) -> None:
    """Make the next refresh of clients_created_daily fail midway (SQLSTATE 23514): a new client
    gives a new row, which a CHECK added NOT VALID (old rows pass) rejects while it is written."""
    conn.execute(
        "ALTER TABLE reports.clients_created_daily"
        " ADD CONSTRAINT test_fail CHECK (day < '2000-01-01') NOT VALID"
    )
    conn.execute("INSERT INTO crm.clients (name, created_at) VALUES ('new client', '2026-10-30 12:00Z')")


def test_a_failing_summary_keeps_its_old_rows_logs_and_warns(refreshable: Conn) -> None:
    refresh_all(refreshable)
    old = table_rows(refreshable, "clients_created_daily")
    break_clients_created_daily(refreshable)
    refreshable.execute(
        "UPDATE crm.deals SET amount = amount + 1 WHERE status = 'won' AND deleted_at IS NULL"
    )
    notices = collect_notices(refreshable)

    result = refresh_all(refreshable)

    assert result["clients_created_daily"]["status"] == "failed"
    assert result["clients_created_daily"]["rows"] is None
    # everything else is refreshed, but what is computed from the failed summary waits for the next run
    assert {n: r["status"] for n, r in result.items() if r["status"] != "ok"} == {
        "clients_created_daily": "failed",
        "clients_created_by_day": "skipped",
    }
    assert table_rows(refreshable, "clients_created_daily") == old
    assert any(n.startswith("WARNING: refresh of clients_created_daily failed") for n in notices)
    failed = refreshable.execute("SELECT * FROM reports.refresh_log WHERE status = 'failed'").fetchall()
    assert [(r["view"], r["sqlstate"]) for r in failed] == [("clients_created_daily", "23514")]
    assert "test_fail" in failed[0]["error"]
    # the other summaries were refreshed in the same run (the won amounts moved)
    assert summary_state(refreshable)["deal_outcomes_daily"]["generation"] == 2
    status = {r["view"]: r for r in refreshable.execute("SELECT * FROM reports.refresh_status()")}
    assert status["clients_created_daily"]["last_status"] == "failed"
    assert "test_fail" in status["clients_created_daily"]["last_error"]
    assert status["clients_created_daily"]["generation"] == 1
    assert status["deal_outcomes_daily"]["last_error"] is None


def test_the_refresh_procedure_commits_the_log_then_raises(
    refreshable: Conn, second_conn: Callable[..., Conn]
) -> None:
    refresh_all(refreshable)
    old = table_rows(refreshable, "clients_created_daily")
    break_clients_created_daily(refreshable)

    with pytest.raises(psycopg.errors.CheckViolation) as exc:
        refreshable.execute("CALL reports.refresh()")

    assert "clients_created_daily" in str(exc.value)
    other = second_conn()
    failed = other.execute(
        "SELECT view, sqlstate FROM reports.refresh_log WHERE status = 'failed'"
    ).fetchall()
    assert failed == [{"view": "clients_created_daily", "sqlstate": "23514"}]
    ok = other.execute("SELECT count(*) AS n FROM reports.refresh_log WHERE status = 'ok'").fetchone()
    assert ok == {"n": 2 * len(SUMMARIES) - 2}  # clients_created_daily failed, clients_created_by_day skipped
    assert table_rows(other, "clients_created_daily") == old

    # without failures it just commits
    refreshable.execute("ALTER TABLE reports.clients_created_daily DROP CONSTRAINT test_fail")
    refreshable.execute("CALL reports.refresh(ARRAY['clients_created_daily'])")
    assert len(table_rows(other, "clients_created_daily")) >= len(old)


# --------------------------------------------------------------------------- one refresh at a time


def test_a_concurrent_refresh_is_skipped(refreshable: Conn, second_conn: Callable[..., Conn]) -> None:
    first = second_conn(autocommit=False)
    first.execute("SELECT * FROM reports.refresh_all()").fetchall()  # holds the lock until commit

    started = time.monotonic()
    second = refresh_all(refreshable)

    assert time.monotonic() - started < 1.0
    assert list(second) == list(SUMMARIES)
    assert {(r["status"], r["rows"]) for r in second.values()} == {("skipped", None)}
    skipped = refreshable.execute("SELECT count(*) AS n FROM reports.refresh_log WHERE status = 'skipped'")
    assert skipped.fetchone() == {"n": len(SUMMARIES)}
    first.commit()
    status = refreshable.execute("SELECT * FROM reports.refresh_status()").fetchall()
    assert all(r["last_success_at"] is not None for r in status)  # the first one
    assert {r["last_status"] for r in status} == {"skipped"}  # the latest attempt


def test_a_concurrent_refresh_with_wait_runs_after_the_first(
    refreshable: Conn, second_conn: Callable[..., Conn]
) -> None:
    first = second_conn(autocommit=False)
    first.execute("SELECT * FROM reports.refresh_all()").fetchall()
    waiter = second_conn()
    waiter.execute("SET lock_timeout = '20s'")
    pid = waiter.info.backend_pid
    results: list[dict[str, dict[str, Any]]] = []
    thread = threading.Thread(target=lambda: results.append(refresh_all(waiter, wait=True)))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not refreshable.execute(
            "SELECT 1 FROM pg_locks WHERE pid = %s AND locktype = 'advisory' AND NOT granted", [pid]
        ).fetchone():
            assert time.monotonic() < deadline, "the second refresh never waited for the lock"
            time.sleep(0.02)
        assert results == []
    finally:
        first.commit()
        thread.join(20)
    assert len(results) == 1
    assert {r["status"] for r in results[0].values()} == {"ok"}
    runs = refreshable.execute(
        "SELECT run_id, min(started_at) AS started, max(finished_at) AS finished FROM reports.refresh_log"
        " GROUP BY run_id ORDER BY started"
    ).fetchall()
    assert len(runs) == 2
    assert runs[0]["finished"] <= runs[1]["started"]  # one after the other


# --------------------------------------------------------------------------- names, status, notify, CLI


@pytest.fixture
def login_role(db: Conn) -> Iterator[Callable[[str], str]]:
    """Creates LOGIN roles (unique names, dropped afterwards) member of a group; returns their name."""
    created: list[str] = []

    def create(group: str) -> str:
        name = f"refresh_test_{uuid.uuid4().hex[:10]}"
        db.execute(
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(sql.Identifier(name), sql.Identifier(group))
        )
        created.append(name)
        return name

    yield create
    for name in created:
        db.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_the_refresher_role_refreshes_without_any_privilege_on_the_sources(
    refreshable: Conn, db_url: str, login_role: Callable[[str], str]
) -> None:
    refresher = login_role("reports_refresher")
    reader = login_role("reports_reader")
    as_refresher = db_url.replace("postgres@", f"{refresher}@")
    as_reader = db_url.replace("postgres@", f"{reader}@")

    with connect(as_refresher, autocommit=True) as conn:
        assert {r["status"] for r in conn.execute("SELECT * FROM reports.refresh_all()")} == {"ok"}
        assert len(conn.execute("SELECT * FROM reports.refresh_status()").fetchall()) == len(SUMMARIES)
        conn.execute("CALL reports.refresh(ARRAY['pipeline_open'])")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM crm.deals")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT reports.set_timezone('UTC')")
    with connect(as_reader, autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT * FROM reports.refresh_all()")


def test_refresh_view_of_an_unknown_name_raises_22023(refreshable: Conn) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue) as exc:
        refreshable.execute("SELECT * FROM reports.refresh_view('nope')")
    assert "nope" in exc.value.diag.message_primary  # type: ignore[operator]
    assert "deal_outcomes_daily" in (exc.value.diag.message_hint or "")
    assert refreshable.execute("SELECT count(*) AS n FROM reports.refresh_log").fetchone() == {"n": 0}


def test_refresh_view_refreshes_that_view_and_only_what_is_computed_from_it(refreshable: Conn) -> None:
    rows = refreshable.execute("SELECT * FROM reports.refresh_view('clients_created_daily')").fetchall()

    assert [(r["view"], r["status"]) for r in rows] == [
        ("clients_created_daily", "ok"),
        ("clients_created_by_day", "ok"),  # depends_on clients_created_daily: refreshed after it
    ]
    assert set(rows[0]) == {"view", "status", "rows", "duration_ms"}
    refreshed = {n for n, s in summary_state(refreshable).items() if s["refreshed_at"] is not None}
    assert refreshed == {"clients_created_daily", "clients_created_by_day"}


def test_a_summary_is_skipped_when_the_one_it_is_computed_from_fails(refreshable: Conn) -> None:
    refresh_all(refreshable)
    before = table_rows(refreshable, "clients_created_by_day")

    break_clients_created_daily(refreshable)
    rows = refreshable.execute(
        "SELECT * FROM reports.refresh_views(ARRAY['clients_created_daily'])"
    ).fetchall()

    assert [(r["view"], r["status"]) for r in rows] == [
        ("clients_created_daily", "failed"),
        ("clients_created_by_day", "skipped"),
    ]
    assert "clients_created_daily" in rows[1]["error"]
    assert table_rows(refreshable, "clients_created_by_day") == before


def test_refresh_status_shows_each_view(refreshable: Conn) -> None:
    before = refreshable.execute("SELECT * FROM reports.refresh_status()").fetchall()
    assert [r["view"] for r in before] == list(SUMMARIES)
    assert all(
        r["last_success_at"] is None and r["needs_full_refresh"] and r["last_status"] is None for r in before
    )

    refresh_all(refreshable)

    after = refreshable.execute("SELECT * FROM reports.refresh_status()").fetchall()
    for row in after:
        count = refreshable.execute(
            sql.SQL("SELECT count(*) AS n FROM reports.{}").format(sql.Identifier(row["view"]))
        ).fetchone()
        assert row["rows"] == count["n"]  # type: ignore[index]
        assert row["mode"] == "full"
        assert row["last_status"] == "ok" and row["last_error"] is None
        assert row["age"].total_seconds() >= 0 and not row["needs_full_refresh"]


def test_a_refresh_that_changed_rows_notifies_with_generations(refreshable: Conn, db_url: str) -> None:
    with psycopg.connect(db_url.split("?")[0], autocommit=True) as listener:
        listener.execute("LISTEN reports_refreshed")
        refresh_all(refreshable)
        refresh_all(refreshable)
        payloads = [n.payload for n in listener.notifies(timeout=1, stop_after=2)]

    first, second = (json.loads(p) for p in payloads)
    assert {v["view"]: v["generation"] for v in first["views"]} == dict.fromkeys(SUMMARIES, 1)
    assert second["views"] == [{"view": name, "generation": 2} for name in SNAPSHOTS]


def test_cli_helpers_report_progress_and_a_summary_table(refreshable: Conn, db_url: str) -> None:
    lines: list[str] = []

    rows = run_refresh(db_url, ["clients_created_daily", "pipeline_open"], False, lines.append)

    # what is computed from them follows, in dependency order
    order = ["clients_created_daily", "pipeline_open", "clients_created_by_day", "pipeline_open_by_stage"]
    assert [(r["view"], r["status"]) for r in rows] == [(name, "ok") for name in order]
    assert [line.split()[0] for line in lines] == order
    table = format_summary_table(rows).splitlines()
    assert table[0].split() == ["view", "status", "rows", "duration_ms", "error"]
    assert table[2].split()[:3] == ["clients_created_daily", "ok", str(rows[0]["rows"])]
