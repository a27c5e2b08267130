"""Independent reference model of the eleven reports, in plain Python over the raw source rows.

Used by the correctness tests (``tests/test_reports_*.py``) as the expected values: it reads
``crm.*`` and ``audit.events`` with plain SELECTs (never the reports' summary tables or
functions), applies the source exclusions, converts timestamps to local dates with
:mod:`zoneinfo` and recomputes every report as the issue defines it. It is deliberately
naive (loops over lists), so that it reads like the definitions.

Exclusions: soft-deleted clients and deals, deals of deleted clients, payments of deleted
clients or of excluded deals, stage history of excluded deals. Audit events are never excluded.

Scopes (docs/permissions.md): ``all``; ``team`` = rows whose owner is in the caller's team;
``own`` = the caller's rows. Owner of a deal / client: ``owner_id``; of a payment: its deal's
owner, else its client's owner; of an audit event: ``actor_id``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, LiteralString
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

GRAINS = ("day", "week", "month", "quarter", "year")
AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
SECONDS_PER_DAY = Decimal(86400)


# --------------------------------------------------------------------------- rounding


def round_to(value: Decimal | None, places: int) -> Decimal | None:
    """Half-up rounding to ``places`` decimals (None stays None)."""
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def ratio(
    numerator: Decimal | int, denominator: Decimal | int, places: int, *, scale: int = 1
) -> Decimal | None:
    """``scale * numerator / denominator`` rounded half-up; None when the denominator is 0."""
    if denominator == 0:
        return None
    return round_to(Decimal(scale) * Decimal(numerator) / Decimal(denominator), places)


def days_between(start: datetime, end: datetime) -> Decimal:
    """Exact length of ``end - start`` in days (interval epoch / 86400)."""
    delta = end - start
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return Decimal(micros) / Decimal(1_000_000) / SECONDS_PER_DAY


def mean(values: list[Decimal]) -> Decimal | None:
    return sum(values, ZERO) / len(values) if values else None


# --------------------------------------------------------------------------- periods


def period_start(day: date, grain: str) -> date:
    """First day of the ``grain`` period containing ``day`` (weeks are ISO, starting Monday)."""
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if grain == "year":
        return date(day.year, 1, 1)
    raise ValueError(f"unknown grain {grain!r}")


def shift_period(start: date, grain: str, count: int = 1) -> date:
    """Start of the period ``count`` periods after the one starting at ``start``."""
    if grain == "day":
        return start + timedelta(days=count)
    if grain == "week":
        return start + timedelta(weeks=count)
    months = {"month": 1, "quarter": 3, "year": 12}[grain] * count
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """One period of a range: its own first day and the days of it inside the range."""

    start: date
    first: date
    last: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last


def periods(p_from: date, p_to: date, grain: str) -> list[Period]:
    """Dense periods covering ``p_from..p_to``, each clipped to the range."""
    result = []
    start = period_start(p_from, grain)
    while start <= p_to:
        end = shift_period(start, grain) - timedelta(days=1)
        result.append(Period(start, max(start, p_from), min(end, p_to)))
        start = shift_period(start, grain)
    return result


def full_period(start: date, grain: str) -> Period:
    return Period(start, start, shift_period(start, grain) - timedelta(days=1))


# --------------------------------------------------------------------------- source rows


@dataclass(frozen=True)
class Team:
    id: int
    name: str


@dataclass(frozen=True)
class User:
    id: int
    full_name: str
    team_id: int | None
    role: str


@dataclass(frozen=True)
class Client:
    id: int
    name: str
    owner_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class Stage:
    code: str
    name: str
    position: int
    probability: Decimal | None
    is_closed: bool


@dataclass(frozen=True)
class Deal:
    id: int
    client_id: int
    owner_id: int
    stage: str
    status: str
    amount: Decimal
    created_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class StageChange:
    id: int
    deal_id: int
    to_stage: str
    changed_at: datetime


@dataclass(frozen=True)
class Payment:
    id: int
    deal_id: int | None
    client_id: int
    owner_id: int | None
    amount: Decimal
    status: str
    due_date: date
    paid_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class AuditEvent:
    id: int
    occurred_at: datetime
    actor_id: int | None
    action: str
    entity_type: str | None


@dataclass
class Source:
    """The raw rows reports may use, after the exclusions."""

    teams: dict[int, Team]
    users: dict[int, User]
    clients: dict[int, Client]
    stages: list[Stage]
    deals: list[Deal]
    history: list[StageChange]
    payments: list[Payment]
    events: list[AuditEvent]
    excluded: dict[str, int] = field(default_factory=dict)


def _select(conn: psycopg.Connection[Any], query: LiteralString) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query)
        return cur.fetchall()


def load_source(conn: psycopg.Connection[Any]) -> Source:
    """Read crm.* and audit.events with plain SELECTs and apply the exclusions."""
    teams = {r["id"]: Team(r["id"], r["name"]) for r in _select(conn, "SELECT id, name FROM crm.teams")}
    users = {
        r["id"]: User(r["id"], r["full_name"], r["team_id"], r["role"])
        for r in _select(conn, "SELECT id, full_name, team_id, role FROM crm.users")
    }
    raw_clients = _select(conn, "SELECT id, name, owner_id, created_at, deleted_at FROM crm.clients")
    clients = {
        r["id"]: Client(r["id"], r["name"], r["owner_id"], r["created_at"])
        for r in raw_clients
        if r["deleted_at"] is None
    }
    stages = [
        Stage(r["code"], r["name"], r["position"], r["probability"], r["is_closed"])
        for r in _select(
            conn,
            "SELECT code, name, position, probability, is_closed FROM crm.pipeline_stages ORDER BY position",
        )
    ]
    raw_deals = _select(
        conn,
        "SELECT id, client_id, owner_id, stage, status, amount, created_at, closed_at, deleted_at"
        " FROM crm.deals",
    )
    deals = [
        Deal(
            r["id"],
            r["client_id"],
            r["owner_id"],
            r["stage"],
            r["status"],
            r["amount"],
            r["created_at"],
            r["closed_at"],
        )
        for r in raw_deals
        if r["deleted_at"] is None and r["client_id"] in clients
    ]
    deal_by_id = {d.id: d for d in deals}
    raw_history = _select(conn, "SELECT id, deal_id, to_stage, changed_at FROM crm.deal_stage_history")
    history = [
        StageChange(r["id"], r["deal_id"], r["to_stage"], r["changed_at"])
        for r in raw_history
        if r["deal_id"] in deal_by_id
    ]
    raw_payments = _select(
        conn, "SELECT id, deal_id, client_id, amount, status, due_date, paid_at, created_at FROM crm.payments"
    )
    payments = []
    for r in raw_payments:
        if r["client_id"] not in clients or (r["deal_id"] is not None and r["deal_id"] not in deal_by_id):
            continue
        deal = deal_by_id.get(r["deal_id"])
        owner = deal.owner_id if deal is not None else clients[r["client_id"]].owner_id
        payments.append(
            Payment(
                r["id"],
                r["deal_id"],
                r["client_id"],
                owner,
                r["amount"],
                r["status"],
                r["due_date"],
                r["paid_at"],
                r["created_at"],
            )
        )
    events = [
        AuditEvent(r["id"], r["occurred_at"], r["actor_id"], r["action"], r["entity_type"])
        for r in _select(conn, "SELECT id, occurred_at, actor_id, action, entity_type FROM audit.events")
    ]
    excluded = {
        "clients": len(raw_clients) - len(clients),
        "deals": len(raw_deals) - len(deals),
        "history": len(raw_history) - len(history),
        "payments": len(raw_payments) - len(payments),
    }
    return Source(teams, users, clients, stages, deals, history, payments, events, excluded)


# --------------------------------------------------------------------------- scopes


@dataclass(frozen=True)
class Scope:
    """Which owners' rows a caller sees: ``all``, ``team`` (the caller's team) or ``own``."""

    kind: str
    user_id: int | None = None

    def owners(self, source: Source) -> set[int] | None:
        """Visible owner ids; None means every row (scope ``all``)."""
        if self.kind == "all":
            return None
        if self.kind == "own":
            return {self.user_id} if self.user_id is not None else set()
        if self.kind == "team":
            caller = source.users.get(self.user_id) if self.user_id is not None else None
            if caller is None or caller.team_id is None:
                return set()
            return {u.id for u in source.users.values() if u.team_id == caller.team_id}
        raise ValueError(f"unknown scope {self.kind!r}")


ALL = Scope("all")


# --------------------------------------------------------------------------- the reports


class Reference:
    """The reports for one caller scope and one reports time zone."""

    def __init__(self, source: Source, timezone: str, scope: Scope = ALL) -> None:
        self.source = source
        self.tz = ZoneInfo(timezone)
        self.scope = scope
        self.owners = scope.owners(source)
        self.deals = [d for d in source.deals if self.visible(d.owner_id)]
        deal_ids = {d.id for d in self.deals}
        self.history = [h for h in source.history if h.deal_id in deal_ids]
        self.payments = [p for p in source.payments if self.visible(p.owner_id)]
        self.clients = [c for c in source.clients.values() if self.visible(c.owner_id)]
        self.events = [e for e in source.events if e.actor_id is not None and self.visible(e.actor_id)]
        self.events_by_day = by_day(self.events, lambda e: self.local(e.occurred_at))

    def visible(self, owner_id: int | None) -> bool:
        return self.owners is None or owner_id in self.owners

    def local(self, ts: datetime) -> date:
        """Local date of a timestamptz in the reports time zone."""
        return ts.astimezone(self.tz).date()

    def local_or_none(self, ts: datetime | None) -> date | None:
        return None if ts is None else self.local(ts)

    # ---- shared filters ("won in", "lost in", "paid in", "outstanding at")

    def _deals_of(self, owner_id: int | None) -> list[Deal]:
        return [d for d in self.deals if owner_id is None or d.owner_id == owner_id]

    def _payments_of(self, owner_id: int | None) -> list[Payment]:
        return [p for p in self.payments if owner_id is None or p.owner_id == owner_id]

    def closed_by_day(self, status: str, deals: Iterable[Deal] | None = None) -> dict[date, list[Deal]]:
        """Deals of ``status`` (won / lost) by the local date of ``closed_at``."""
        chosen = [d for d in (self.deals if deals is None else deals) if d.status == status]
        return by_day(chosen, lambda d: self.local_or_none(d.closed_at))

    def paid_by_day(self, payments: Iterable[Payment] | None = None) -> dict[date, list[Payment]]:
        """Payments by the local date of ``paid_at`` (whatever their status now)."""
        chosen = self.payments if payments is None else payments
        return by_day(chosen, lambda p: self.local_or_none(p.paid_at))

    def outstanding_at(self, day: date) -> list[Payment]:
        """Payments outstanding at the end of ``day`` (created by then, not failed, not paid by then)."""
        return [
            p
            for p in self.payments
            if self.local(p.created_at) <= day
            and p.status != "failed"
            and (p.paid_at is None or self.local(p.paid_at) > day)
        ]

    # ---- 1. sales_pipeline

    def sales_pipeline(self, as_of: datetime, p_owner_id: int | None = None) -> list[dict[str, Any]]:
        """Every open stage, in position order; ages at ``as_of`` (the refresh time)."""
        open_deals = [d for d in self._deals_of(p_owner_id) if d.status == "open"]
        rows = []
        for stage in self.source.stages:
            if stage.is_closed:
                continue
            in_stage = [d for d in open_deals if d.stage == stage.code]
            probability = stage.probability or ZERO
            rows.append(
                {
                    "stage_code": stage.code,
                    "stage_name": stage.name,
                    "stage_position": stage.position,
                    "deals": len(in_stage),
                    "amount": round_to(sum((d.amount for d in in_stage), ZERO), 2),
                    "weighted_amount": round_to(sum((d.amount * probability for d in in_stage), ZERO), 2),
                    "avg_age_days": round_to(mean([days_between(d.created_at, as_of) for d in in_stage]), 2),
                }
            )
        return rows

    # ---- 2. revenue_by_period

    def revenue_by_period(
        self, p_from: date, p_to: date, p_grain: str = "month", p_owner_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Growth of the first period is against the full period before it (data before the range)."""
        won_by_day = self.closed_by_day("won", self._deals_of(p_owner_id))
        paid_by_day = self.paid_by_day(self._payments_of(p_owner_id))
        span = periods(p_from, p_to, p_grain)
        before = full_period(shift_period(span[0].start, p_grain, -1), p_grain)
        prev = sum((d.amount for d in between(won_by_day, before.first, before.last)), ZERO)
        rows: list[dict[str, Any]] = []
        for period in span:
            won = between(won_by_day, period.first, period.last)
            amount = sum((d.amount for d in won), ZERO)
            paid = sum((p.amount for p in between(paid_by_day, period.first, period.last)), ZERO)
            rows.append(
                {
                    "period_start": period.start,
                    "won_deals": len(won),
                    "won_amount": round_to(amount, 2),
                    "avg_deal_size": ratio(amount, len(won), 2),
                    "paid_amount": round_to(paid, 2),
                    "prev_won_amount": round_to(prev, 2),
                    "growth_pct": ratio(amount - prev, prev, 2, scale=100),
                }
            )
            prev = amount
        return rows

    # ---- 3. manager_leaderboard

    def manager_leaderboard(self, p_from: date, p_to: date, p_limit: int = 20) -> list[dict[str, Any]]:
        """Owners with a deal won or lost in the range; rank is dense over won_amount."""
        won_by: dict[int, list[Deal]] = defaultdict(list)
        lost_by: dict[int, list[Deal]] = defaultdict(list)
        for d in between(self.closed_by_day("won"), p_from, p_to):
            won_by[d.owner_id].append(d)
        for d in between(self.closed_by_day("lost"), p_from, p_to):
            lost_by[d.owner_id].append(d)
        rows = []
        for owner_id in set(won_by) | set(lost_by):
            won, lost = won_by[owner_id], lost_by[owner_id]
            user = self.source.users[owner_id]
            team = self.source.teams.get(user.team_id) if user.team_id is not None else None
            amount = sum((d.amount for d in won), ZERO)
            cycles = [days_between(d.created_at, d.closed_at) for d in won if d.closed_at is not None]
            rows.append(
                {
                    "owner_id": owner_id,
                    "owner_name": user.full_name,
                    "team_name": team.name if team else None,
                    "won_deals": len(won),
                    "won_amount": round_to(amount, 2),
                    "lost_deals": len(lost),
                    "win_rate": ratio(len(won), len(won) + len(lost), 4),
                    "avg_deal_size": ratio(amount, len(won), 2),
                    "avg_cycle_days": round_to(mean(cycles), 2),
                }
            )
        rows.sort(key=lambda r: (-r["won_amount"], r["owner_id"]))
        dense_rank(rows, "won_amount")
        return rows[:p_limit]

    # ---- 4. stage_funnel

    def stage_funnel(self, p_from: date, p_to: date) -> list[dict[str, Any]]:
        """Each deal counts once per stage; time in a stage runs from its first entry to the next row."""
        created = {d.id for d in self.deals if p_from <= self.local(d.created_at) <= p_to}
        by_deal: dict[int, list[StageChange]] = defaultdict(list)
        for h in self.history:
            if h.deal_id in created:
                by_deal[h.deal_id].append(h)
        reached: dict[str, int] = defaultdict(int)
        durations: dict[str, list[Decimal]] = defaultdict(list)
        for changes in by_deal.values():
            changes.sort(key=lambda h: (h.changed_at, h.id))
            seen: set[str] = set()
            for i, change in enumerate(changes):
                if change.to_stage in seen:
                    continue
                seen.add(change.to_stage)
                reached[change.to_stage] += 1
                if i + 1 < len(changes):
                    left_at = changes[i + 1].changed_at
                    durations[change.to_stage].append(days_between(change.changed_at, left_at))
        rows = []
        previous: int | None = None
        for stage in self.source.stages:
            count = reached[stage.code]
            rows.append(
                {
                    "stage_code": stage.code,
                    "reached": count,
                    "conversion_pct": None if previous is None else ratio(count, previous, 2, scale=100),
                    "avg_days_in_stage": round_to(mean(durations[stage.code]), 2),
                }
            )
            previous = count
        return rows

    # ---- 5. payments_aging

    def payments_aging(self, p_as_of: date) -> list[dict[str, Any]]:
        """All five buckets; share_pct over unrounded amounts, null when nothing is outstanding."""
        counts = dict.fromkeys(AGING_BUCKETS, 0)
        amounts = dict.fromkeys(AGING_BUCKETS, ZERO)
        for p in self.outstanding_at(p_as_of):
            bucket = aging_bucket((p_as_of - p.due_date).days)
            counts[bucket] += 1
            amounts[bucket] += p.amount
        total = sum(amounts.values(), ZERO)
        return [
            {
                "bucket": bucket,
                "payments": counts[bucket],
                "amount": round_to(amounts[bucket], 2),
                "share_pct": ratio(amounts[bucket], total, 2, scale=100),
            }
            for bucket in AGING_BUCKETS
        ]

    # ---- 6. collections_summary

    def collections_summary(self, p_from: date, p_to: date) -> dict[str, Any]:
        invoiced = [
            p for p in self.payments if p.status != "failed" and p_from <= self.local(p.created_at) <= p_to
        ]
        invoiced_amount = sum((p.amount for p in invoiced), ZERO)
        collected = between(self.paid_by_day(), p_from, p_to)
        outstanding = self.outstanding_at(p_to)
        outstanding_amount = sum((p.amount for p in outstanding), ZERO)
        days = (p_to - p_from).days + 1
        return {
            "invoiced_count": len(invoiced),
            "invoiced_amount": round_to(invoiced_amount, 2),
            "collected_amount": round_to(sum((p.amount for p in collected), ZERO), 2),
            "outstanding_amount": round_to(outstanding_amount, 2),
            "overdue_amount": round_to(sum((p.amount for p in outstanding if p.due_date < p_to), ZERO), 2),
            "dso_days": (
                None if invoiced_amount == 0 else round_to(outstanding_amount * days / invoiced_amount, 2)
            ),
        }

    # ---- 7. client_cohorts

    def client_cohorts(self, p_from: date, p_to: date, p_grain: str = "month") -> list[dict[str, Any]]:
        """Cohorts: periods whose start lies in the range; activity counts only days <= p_to."""
        won_by_client: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
        for d in self.deals:
            if d.status == "won" and d.closed_at is not None:
                won_by_client[d.client_id].append((self.local(d.closed_at), d.amount))
        cohort_of = {
            client_id: period_start(min(day for day, _ in won), p_grain)
            for client_id, won in won_by_client.items()
        }
        last_start = period_start(p_to, p_grain)
        rows = []
        for cohort in periods(p_from, p_to, p_grain):
            if cohort.start < p_from:
                continue
            members = [client_id for client_id, start in cohort_of.items() if start == cohort.start]
            offset, start = 0, cohort.start
            while start <= last_start:
                window = full_period(start, p_grain)
                last = min(window.last, p_to)
                active, amount = 0, ZERO
                for client_id in members:
                    won = [a for day, a in won_by_client[client_id] if window.first <= day <= last]
                    active += 1 if won else 0
                    amount += sum(won, ZERO)
                rows.append(
                    {
                        "cohort_start": cohort.start,
                        "period_offset": offset,
                        "cohort_size": len(members),
                        "active_clients": active,
                        "retention_pct": ratio(active, len(members), 2, scale=100),
                        "won_amount": round_to(amount, 2),
                    }
                )
                offset, start = offset + 1, shift_period(start, p_grain)
        return rows

    # ---- 8. top_clients

    def top_clients(self, p_from: date, p_to: date, p_limit: int = 10) -> list[dict[str, Any]]:
        """Clients with a deal won or a payment paid in the range (the caller's part only)."""
        won_by: dict[int, list[Deal]] = defaultdict(list)
        paid_by: dict[int, Decimal] = defaultdict(Decimal)
        for d in between(self.closed_by_day("won"), p_from, p_to):
            won_by[d.client_id].append(d)
        for p in between(self.paid_by_day(), p_from, p_to):
            paid_by[p.client_id] += p.amount
        rows = []
        for client_id in set(won_by) | set(paid_by):
            won = won_by.get(client_id, [])
            rows.append(
                {
                    "client_id": client_id,
                    "client_name": self.source.clients[client_id].name,
                    "won_deals": len(won),
                    "won_amount": round_to(sum((d.amount for d in won), ZERO), 2),
                    "paid_amount": round_to(paid_by.get(client_id, ZERO), 2),
                    "last_won_at": max((d.closed_at for d in won if d.closed_at is not None), default=None),
                }
            )
        rows.sort(key=lambda r: (-r["won_amount"], r["client_id"]))
        dense_rank(rows, "won_amount")
        return rows[:p_limit]

    # ---- 9. activity_by_period

    def activity_by_period(self, p_from: date, p_to: date, p_grain: str = "day") -> list[dict[str, Any]]:
        """events_per_active_user is a ratio: rounded to 4 decimals, like every ratio."""
        rows = []
        for period in periods(p_from, p_to, p_grain):
            inside = between(self.events_by_day, period.first, period.last)
            actors = {e.actor_id for e in inside}
            rows.append(
                {
                    "period_start": period.start,
                    "active_users": len(actors),
                    "events": len(inside),
                    "events_per_active_user": ratio(len(inside), len(actors), 4),
                }
            )
        return rows

    # ---- 10. activity_by_action

    def activity_by_action(self, p_from: date, p_to: date) -> list[dict[str, Any]]:
        """Only events with an actor, in every scope (the function's comment; the issue says so for
        activity_by_period only). Unordered: the tests order ties themselves."""
        events: dict[tuple[str, str | None], int] = defaultdict(int)
        actors: dict[tuple[str, str | None], set[int | None]] = defaultdict(set)
        for e in between(self.events_by_day, p_from, p_to):
            events[(e.action, e.entity_type)] += 1
            actors[(e.action, e.entity_type)].add(e.actor_id)
        return [
            {"action": key[0], "entity_type": key[1], "events": count, "actors": len(actors[key])}
            for key, count in events.items()
        ]

    # ---- 11. dashboard

    def dashboard(self, p_from: date, p_to: date, as_of: datetime) -> dict[str, Any]:
        pipeline = self.sales_pipeline(as_of)
        won = between(self.closed_by_day("won"), p_from, p_to)
        lost = between(self.closed_by_day("lost"), p_from, p_to)
        won_amount = sum((d.amount for d in won), ZERO)
        collections = self.collections_summary(p_from, p_to)
        return {
            "open_pipeline_amount": round_to(sum((r["amount"] for r in pipeline), ZERO), 2),
            "weighted_pipeline_amount": round_to(sum((r["weighted_amount"] for r in pipeline), ZERO), 2),
            "won_deals": len(won),
            "won_amount": round_to(won_amount, 2),
            "win_rate": ratio(len(won), len(won) + len(lost), 4),
            "avg_deal_size": ratio(won_amount, len(won), 2),
            "collected_amount": collections["collected_amount"],
            "overdue_amount": collections["overdue_amount"],
            "active_users": len({e.actor_id for e in between(self.events_by_day, p_from, p_to)}),
            "new_clients": sum(1 for c in self.clients if p_from <= self.local(c.created_at) <= p_to),
        }


def by_day(rows: Iterable[Any], day_of: Callable[[Any], date | None]) -> dict[date, list[Any]]:
    """Rows by a local date (rows without one are left out)."""
    index: dict[date, list[Any]] = defaultdict(list)
    for row in rows:
        day = day_of(row)
        if day is not None:
            index[day].append(row)
    return index


def between(index: dict[date, list[Any]], first: date, last: date) -> list[Any]:
    """Rows of an index by day whose day lies in ``first..last``."""
    if (last - first).days > len(index):
        return [row for day, rows in index.items() if first <= day <= last for row in rows]
    result: list[Any] = []
    day = first
    while day <= last:
        result.extend(index.get(day, ()))
        day += timedelta(days=1)
    return result


def aging_bucket(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "90+"


def dense_rank(rows: list[dict[str, Any]], key: str) -> None:
    """Set ``rank`` on rows already sorted by ``key`` descending: equal values share a rank."""
    rank, previous = 0, None
    for row in rows:
        if row[key] != previous:
            rank, previous = rank + 1, row[key]
        row["rank"] = rank
