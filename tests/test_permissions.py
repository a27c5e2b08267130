"""Who sees what (docs/permissions.md): callers x reports x scopes, and every way to be refused.

Callers are real LOGIN roles (unique names, dropped at the end): an HTTP-service role in
``reports_api`` that calls ``reports.set_caller`` for the application roles admin, analyst, head and
manager; psql roles in ``reports_admin`` or ``reports_reader``; a role in no group. Every report is
checked against an independent SQL over the crm/audit tables restricted to the owners the caller
may see (never the summaries or the report functions): a manager never sees another owner's rows,
a head sees exactly the team, admin and analyst see everything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from reports_core.db import connect

Conn = psycopg.Connection[dict[str, Any]]
Row = dict[str, Any]

P_FROM, P_TO = date(2025, 7, 1), date(2026, 6, 30)
AS_OF = date(2026, 6, 30)
BIG_LIMIT = 100_000

# Each report called with valid parameters (positional, in the order).
CALLS: dict[str, tuple[Any, ...]] = {
    "sales_pipeline": (),
    "revenue_by_period": (P_FROM, P_TO, "quarter"),
    "manager_leaderboard": (P_FROM, P_TO, BIG_LIMIT),
    "stage_funnel": (P_FROM, P_TO),
    "payments_aging": (AS_OF,),
    "collections_summary": (P_FROM, P_TO),
    "client_cohorts": (P_FROM, P_TO, "month"),
    "top_clients": (P_FROM, P_TO, BIG_LIMIT),
    "activity_by_period": (P_FROM, P_TO, "month"),
    "activity_by_action": (P_FROM, P_TO),
    "dashboard": (P_FROM, P_TO),
}

# ---------------------------------------------------------------------------------------------------
# Independent expectations: plain SQL over crm.* and audit.events with the exclusions of the issue,
# restricted to %(owners)s (null = every owner). Parameters: owners, tz, p_from, p_to, as_of.

VISIBLE = "(%(owners)s::bigint[] IS NULL OR {owner} = ANY(%(owners)s::bigint[]))"
LOCAL = "(({ts}) AT TIME ZONE %(tz)s)::date"
BASE = """
WITH clients AS (SELECT c.* FROM crm.clients AS c WHERE c.deleted_at IS NULL),
deals AS (
    SELECT d.* FROM crm.deals AS d JOIN clients AS c ON c.id = d.client_id WHERE d.deleted_at IS NULL
),
payments AS (
    SELECT p.*, coalesce(d.owner_id, c.owner_id) AS owner_id
    FROM crm.payments AS p
    JOIN clients AS c ON c.id = p.client_id
    LEFT JOIN deals AS d ON d.id = p.deal_id
    WHERE p.deal_id IS NULL OR d.id IS NOT NULL
)
"""
WON_IN_RANGE = (
    f"d.status = 'won' AND {LOCAL.format(ts='d.closed_at')} BETWEEN %(p_from)s AND %(p_to)s "
    f"AND {VISIBLE.format(owner='d.owner_id')}"
)
EVENTS_IN_RANGE = (
    f"e.actor_id IS NOT NULL AND {LOCAL.format(ts='e.occurred_at')} BETWEEN %(p_from)s AND %(p_to)s "
    f"AND {VISIBLE.format(owner='e.actor_id')}"
)
OUTSTANDING = (
    f"{LOCAL.format(ts='p.created_at')} <= %(as_of)s AND p.status <> 'failed' "
    f"AND (p.paid_at IS NULL OR {LOCAL.format(ts='p.paid_at')} > %(as_of)s) "
    f"AND {VISIBLE.format(owner='p.owner_id')}"
)


@dataclass(frozen=True)
class Check:
    """What a report's rows must sum to: ``measure(rows)`` == the first row of ``expected_sql``."""

    measure: Callable[[list[Row]], Any]
    expected_sql: str


def total(column: str) -> Callable[[list[Row]], Any]:
    return lambda rows: sum((r[column] for r in rows), Decimal(0))


def ids(column: str) -> Callable[[list[Row]], Any]:
    return lambda rows: sorted(r[column] for r in rows)


def first(*columns: str) -> Callable[[list[Row]], Any]:
    return lambda rows: tuple(rows[0][c] for c in columns)


CHECKS: dict[str, list[Check]] = {
    "sales_pipeline": [
        Check(
            lambda rows: (total("deals")(rows), total("amount")(rows)),
            BASE
            + f"""SELECT count(*) AS n, coalesce(sum(d.amount), 0) AS amount
            FROM deals AS d JOIN crm.pipeline_stages AS s ON s.code = d.stage
            WHERE d.status = 'open' AND NOT s.is_closed AND {VISIBLE.format(owner="d.owner_id")}""",
        )
    ],
    "revenue_by_period": [
        Check(
            lambda rows: (total("won_deals")(rows), total("won_amount")(rows), total("paid_amount")(rows)),
            BASE
            + f"""SELECT
                (SELECT count(*) FROM deals AS d WHERE {WON_IN_RANGE}) AS n,
                (SELECT coalesce(sum(d.amount), 0) FROM deals AS d WHERE {WON_IN_RANGE}) AS amount,
                (SELECT coalesce(sum(p.amount), 0) FROM payments AS p
                 WHERE {LOCAL.format(ts="p.paid_at")} BETWEEN %(p_from)s AND %(p_to)s
                   AND {VISIBLE.format(owner="p.owner_id")}) AS paid""",
        )
    ],
    "manager_leaderboard": [
        Check(
            lambda rows: (ids("owner_id")(rows), total("won_deals")(rows) + total("lost_deals")(rows)),
            BASE
            + f"""SELECT coalesce(array_agg(DISTINCT d.owner_id ORDER BY d.owner_id), '{{}}') AS owners,
                count(*) AS closed
            FROM deals AS d
            WHERE d.status IN ('won', 'lost')
              AND {LOCAL.format(ts="d.closed_at")} BETWEEN %(p_from)s AND %(p_to)s
              AND {VISIBLE.format(owner="d.owner_id")}""",
        )
    ],
    "stage_funnel": [
        Check(
            total("reached"),
            BASE
            + f"""SELECT count(DISTINCT (h.deal_id, h.to_stage)) AS reached
            FROM crm.deal_stage_history AS h JOIN deals AS d ON d.id = h.deal_id
            WHERE h.to_stage IN (SELECT s.code FROM crm.pipeline_stages AS s)
              AND {LOCAL.format(ts="d.created_at")} BETWEEN %(p_from)s AND %(p_to)s
              AND {VISIBLE.format(owner="d.owner_id")}""",
        )
    ],
    "payments_aging": [
        Check(
            lambda rows: (total("payments")(rows), total("amount")(rows)),
            BASE + f"SELECT count(*), coalesce(sum(p.amount), 0) FROM payments AS p WHERE {OUTSTANDING}",
        )
    ],
    "collections_summary": [
        Check(
            first("invoiced_count", "invoiced_amount", "outstanding_amount"),
            BASE
            + f"""SELECT
                (SELECT count(*) FROM payments AS p WHERE p.status <> 'failed'
                   AND {LOCAL.format(ts="p.created_at")} BETWEEN %(p_from)s AND %(p_to)s
                   AND {VISIBLE.format(owner="p.owner_id")}) AS n,
                (SELECT coalesce(sum(p.amount), 0) FROM payments AS p WHERE p.status <> 'failed'
                   AND {LOCAL.format(ts="p.created_at")} BETWEEN %(p_from)s AND %(p_to)s
                   AND {VISIBLE.format(owner="p.owner_id")}) AS amount,
                (SELECT coalesce(sum(p.amount), 0) FROM payments AS p WHERE {OUTSTANDING}) AS outstanding""",
        )
    ],
    "client_cohorts": [
        Check(
            lambda rows: sum(r["cohort_size"] for r in rows if r["period_offset"] == 0),
            BASE
            + f"""SELECT count(*) AS clients FROM (
                SELECT d.client_id, min({LOCAL.format(ts="d.closed_at")}) AS first_won
                FROM deals AS d WHERE d.status = 'won' AND {VISIBLE.format(owner="d.owner_id")}
                GROUP BY d.client_id
            ) AS f WHERE f.first_won BETWEEN %(p_from)s AND %(p_to)s""",
        )
    ],
    "top_clients": [
        Check(
            lambda rows: (ids("client_id")(rows), total("won_deals")(rows)),
            BASE
            + f"""SELECT
                (SELECT coalesce(array_agg(c ORDER BY c), '{{}}') FROM (
                    SELECT d.client_id FROM deals AS d WHERE {WON_IN_RANGE}
                    UNION
                    SELECT p.client_id FROM payments AS p
                    WHERE {LOCAL.format(ts="p.paid_at")} BETWEEN %(p_from)s AND %(p_to)s
                      AND {VISIBLE.format(owner="p.owner_id")}
                ) AS x (c)) AS clients,
                (SELECT count(*) FROM deals AS d WHERE {WON_IN_RANGE}) AS won""",
        )
    ],
    "activity_by_period": [
        Check(total("events"), f"SELECT count(*) AS n FROM audit.events AS e WHERE {EVENTS_IN_RANGE}"),
    ],
    "activity_by_action": [
        Check(
            lambda rows: (total("events")(rows), max((r["actors"] for r in rows), default=0)),
            f"""SELECT
                (SELECT count(*) FROM audit.events AS e WHERE {EVENTS_IN_RANGE}) AS n,
                (SELECT coalesce(max(x.actors), 0) FROM (
                    SELECT count(DISTINCT e.actor_id) AS actors FROM audit.events AS e
                    WHERE {EVENTS_IN_RANGE} GROUP BY e.action, e.entity_type
                ) AS x) AS actors""",
        )
    ],
    "dashboard": [
        Check(
            first("won_deals", "new_clients", "active_users"),
            BASE
            + f"""SELECT
                (SELECT count(*) FROM deals AS d WHERE {WON_IN_RANGE}) AS won,
                (SELECT count(*) FROM clients AS c
                 WHERE {LOCAL.format(ts="c.created_at")} BETWEEN %(p_from)s AND %(p_to)s
                   AND {VISIBLE.format(owner="c.owner_id")}) AS new_clients,
                (SELECT count(DISTINCT e.actor_id) FROM audit.events AS e WHERE {EVENTS_IN_RANGE})""",
        )
    ],
}


# ---------------------------------------------------------------------------------------------------
# The module's database, roles and callers


@dataclass
class World:
    """One refreshed database, the LOGIN roles of the module and the users they act for."""

    url: str
    admin: Conn
    roles: dict[str, str]
    conns: dict[str, Conn] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    team: list[int] = field(default_factory=list)

    def conn(self, key: str) -> Conn:
        if key not in self.conns:
            self.conns[key] = connect(self.url, autocommit=True, user=self.roles[key])
        return self.conns[key]

    def owners(self, scope: str) -> list[int] | None:
        return {"all": None, "team": self.team, "own": [self.users["manager"]]}[scope]


def call(conn: Conn, report: str, args: tuple[Any, ...] = ()) -> list[Row]:
    query = sql.SQL("SELECT * FROM reports.{}({})").format(
        sql.Identifier(report), sql.SQL(", ").join([sql.Placeholder()] * len(args))
    )
    return conn.execute(query, args).fetchall()


def call_as_app_user(
    conn: Conn, user_id: int, app_roles: list[str], report: str, args: tuple[Any, ...] = ()
) -> list[Row]:
    with conn.transaction():
        conn.execute("SELECT reports.set_caller(%s::bigint, %s::text[])", [user_id, app_roles])
        return call(conn, report, args)


ROLE_MEMBERSHIPS = {
    "api": ["reports_api"],
    "api_admin": ["reports_api", "reports_admin"],
    "db_admin": ["reports_admin"],
    "reader": ["reports_reader"],
    "reader_ruled": ["reports_reader"],
    "nobody": [],
}


@pytest.fixture(scope="module")
def world(reports_proc: Any, pg_server: Any) -> Iterator[World]:
    suffix = uuid.uuid4().hex[:10]
    name = f"permissions_{suffix}"
    roles = {key: f"reports_perm_{key}_{suffix}" for key in ROLE_MEMBERSHIPS}
    url = pg_server.create_database(name, template=reports_proc.template_dbname)
    with connect(pg_server.url("postgres", search_path=None), autocommit=True) as conn:
        for key, groups in ROLE_MEMBERSHIPS.items():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(roles[key])))
            for group in groups:
                conn.execute(
                    sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(roles[key]))
                )
    admin = connect(url, autocommit=True)
    w = World(url, admin, roles)
    try:
        admin.execute("SELECT * FROM reports.refresh_all()")
        assert admin.execute("SELECT reports.timezone() AS tz").fetchone() == {"tz": "UTC"}
        # the manager with the most deals, the head of that manager's team, any admin and analyst
        w.users = {
            r["role"]: r["id"]
            for r in admin.execute(
                """
                WITH manager AS (
                    SELECT u.id, u.team_id FROM crm.users AS u LEFT JOIN crm.deals AS d ON d.owner_id = u.id
                    WHERE u.role = 'manager' AND u.team_id IS NOT NULL
                    GROUP BY u.id ORDER BY count(d.id) DESC, u.id LIMIT 1
                )
                SELECT 'manager' AS role, m.id FROM manager AS m
                UNION ALL
                SELECT 'head', min(u.id) FROM crm.users AS u JOIN manager AS m ON m.team_id = u.team_id
                WHERE u.role = 'head'
                UNION ALL
                SELECT u.role, min(u.id) FROM crm.users AS u
                WHERE u.role IN ('admin', 'analyst') GROUP BY u.role
                """
            ).fetchall()
        }
        assert sorted(w.users) == ["admin", "analyst", "head", "manager"] and None not in w.users.values()
        w.team = [
            r["id"]
            for r in admin.execute(
                "SELECT u.id FROM crm.users AS u JOIN crm.users AS h ON h.team_id = u.team_id "
                "WHERE h.id = %s ORDER BY u.id",
                [w.users["head"]],
            ).fetchall()
        ]
        yield w
    finally:
        for conn in w.conns.values():
            conn.close()
        admin.close()
        pg_server.drop_database(name)
        with connect(pg_server.url("postgres", search_path=None), autocommit=True) as conn:
            for role in roles.values():
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def rules(world: World) -> Iterator[Callable[..., None]]:
    """Change reports.access_rules / db_role_users for one test; both are restored afterwards."""
    saved_rules = world.admin.execute("SELECT * FROM reports.access_rules").fetchall()
    saved_users = world.admin.execute("SELECT * FROM reports.db_role_users").fetchall()

    def change(*statements: tuple[str, list[Any]]) -> None:
        for statement, params in statements:
            world.admin.execute(statement, params)  # type: ignore[arg-type]

    try:
        yield change
    finally:
        with world.admin.transaction():
            world.admin.execute("DELETE FROM reports.access_rules")
            world.admin.execute("DELETE FROM reports.db_role_users")
            for r in saved_rules:
                world.admin.execute(
                    "INSERT INTO reports.access_rules (subject, subject_kind, report, scope) "
                    "VALUES (%s, %s, %s, %s)",
                    [r["subject"], r["subject_kind"], r["report"], r["scope"]],
                )
            for r in saved_users:
                world.admin.execute(
                    "INSERT INTO reports.db_role_users (role_name, user_id) VALUES (%s, %s)",
                    [r["role_name"], r["user_id"]],
                )


def drop_default_reader_rule() -> tuple[str, list[Any]]:
    return (
        "DELETE FROM reports.access_rules WHERE subject = 'reports_reader' AND subject_kind = 'db_role'",
        [],
    )


def add_rule(subject: str, kind: str, report: str, scope: str) -> tuple[str, list[Any]]:
    return ("INSERT INTO reports.access_rules VALUES (%s, %s, %s, %s)", [subject, kind, report, scope])


def map_role(role: str, user_id: int) -> tuple[str, list[Any]]:
    return ("INSERT INTO reports.db_role_users (role_name, user_id) VALUES (%s, %s)", [role, user_id])


# caller -> (scope it must get, how it calls a report)
Caller = Callable[[World, Callable[..., None], str, tuple[Any, ...]], list[Row]]


def app_caller(role: str, *app_roles: str) -> Caller:
    def run(w: World, _rules: Callable[..., None], report: str, args: tuple[Any, ...]) -> list[Row]:
        return call_as_app_user(w.conn("api"), w.users[role], list(app_roles), report, args)

    return run


def db_caller(key: str, *rule_changes: Callable[[World], tuple[str, list[Any]]]) -> Caller:
    def run(w: World, rules: Callable[..., None], report: str, args: tuple[Any, ...]) -> list[Row]:
        rules(*(change(w) for change in rule_changes))
        return call(w.admin if key == "superuser" else w.conn(key), report, args)

    return run


MATRIX: dict[str, tuple[str, Caller]] = {
    "superuser": ("all", db_caller("superuser")),
    "app_admin": ("all", app_caller("admin", "admin")),
    "app_analyst": ("all", app_caller("analyst", "analyst")),
    "app_head": ("team", app_caller("head", "head")),
    "app_manager": ("own", app_caller("manager", "manager")),
    # two rules of the same specificity: the narrowest scope wins
    "app_manager_and_analyst": ("own", app_caller("manager", "manager", "analyst")),
    "db_admin": ("all", db_caller("db_admin")),
    "db_reader": ("all", db_caller("reader")),  # the default rule of reports_reader
    # the default rule reports_reader * all stays in place: the role's own rule beats the inherited one
    "db_reader_own": (
        "own",
        db_caller(
            "reader_ruled",
            lambda w: add_rule(w.roles["reader_ruled"], "db_role", "*", "own"),
            lambda w: map_role(w.roles["reader_ruled"], w.users["manager"]),
        ),
    ),
    "db_reader_team": (
        "team",
        db_caller(
            "reader_ruled",
            lambda w: add_rule(w.roles["reader_ruled"], "db_role", "*", "team"),
            lambda w: map_role(w.roles["reader_ruled"], w.users["head"]),
        ),
    ),
    # without the default rule, as a DBA may run it
    "db_reader_own_alone": (
        "own",
        db_caller(
            "reader_ruled",
            lambda w: drop_default_reader_rule(),
            lambda w: add_rule(w.roles["reader_ruled"], "db_role", "*", "own"),
            lambda w: map_role(w.roles["reader_ruled"], w.users["manager"]),
        ),
    ),
}


def expected(world: World, check: Check, scope: str) -> Any:
    params = {"owners": world.owners(scope), "tz": "UTC", "p_from": P_FROM, "p_to": P_TO, "as_of": AS_OF}
    row = world.admin.execute(check.expected_sql, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    values = tuple(row.values())
    return values[0] if len(values) == 1 else values


def assert_refused(caught: pytest.ExceptionInfo[errors.InsufficientPrivilege], *words: str) -> None:
    diag = caught.value.diag
    assert diag.sqlstate == "42501"
    for word in words:
        assert word in (diag.message_primary or ""), diag.message_primary


# ---------------------------------------------------------------------------------------------------
# The matrix


@pytest.mark.parametrize("report", CALLS)
@pytest.mark.parametrize("caller", MATRIX)
def test_each_caller_sees_exactly_its_scope(
    world: World, rules: Callable[..., None], caller: str, report: str
) -> None:
    scope, run = MATRIX[caller]
    rows = run(world, rules, report, CALLS[report])
    for check in CHECKS[report]:
        assert check.measure(rows) == expected(world, check, scope), f"{caller} ({scope}) in {report}"


@pytest.mark.parametrize("report", ["sales_pipeline", "revenue_by_period", "activity_by_period", "dashboard"])
def test_the_scopes_are_not_vacuous(world: World, report: str) -> None:
    """own < team < all and own > 0 in the demo data, so the matrix above can tell scopes apart."""
    check = CHECKS[report][0]
    own, team, everything = (expected(world, check, scope) for scope in ("own", "team", "all"))
    first_of = (lambda v: v[0]) if isinstance(own, tuple) else (lambda v: v)
    assert 0 < first_of(own) < first_of(team) < first_of(everything)


def test_a_manager_sees_only_own_rows_where_rows_name_an_owner(world: World) -> None:
    rows = call_as_app_user(
        world.conn("api"),
        world.users["manager"],
        ["manager"],
        "manager_leaderboard",
        CALLS["manager_leaderboard"],
    )
    assert [r["owner_id"] for r in rows] == [world.users["manager"]]
    head_rows = call_as_app_user(
        world.conn("api"), world.users["head"], ["head"], "manager_leaderboard", CALLS["manager_leaderboard"]
    )
    assert {r["owner_id"] for r in head_rows} <= set(world.team)
    assert len(head_rows) > 1


# ---------------------------------------------------------------------------------------------------
# p_owner_id


@pytest.mark.parametrize("report", ["sales_pipeline", "revenue_by_period"])
def test_p_owner_id_outside_the_scope_is_refused(world: World, report: str) -> None:
    outsider = world.admin.execute(
        "SELECT min(u.id) AS id FROM crm.users AS u WHERE u.role = 'manager' AND NOT u.id = ANY(%s)",
        [world.team],
    ).fetchone()["id"]  # type: ignore[index]
    team_member = next(u for u in world.team if u not in (world.users["head"], world.users["manager"]))
    args = {"sales_pipeline": (), "revenue_by_period": (P_FROM, P_TO, "month")}[report]
    api = world.conn("api")
    for user, roles, owner in [
        ("manager", ["manager"], team_member),
        ("manager", ["manager"], outsider),
        ("head", ["head"], outsider),
    ]:
        with pytest.raises(errors.InsufficientPrivilege) as caught:
            call_as_app_user(api, world.users[user], roles, report, (*args, owner))
        assert_refused(caught, report, "p_owner_id", str(owner))
        assert caught.value.diag.message_hint
    # inside the scope: the owner's own numbers
    own = call_as_app_user(api, world.users["manager"], ["manager"], report, (*args, world.users["manager"]))
    assert own == call_as_app_user(api, world.users["manager"], ["manager"], report, args)
    by_head = call_as_app_user(api, world.users["head"], ["head"], report, (*args, world.users["manager"]))
    assert by_head == own
    by_admin = call(world.admin, report, (*args, outsider))
    assert by_admin != call(world.admin, report, args)


# ---------------------------------------------------------------------------------------------------
# Refusals


def test_reports_api_session_without_caller_is_refused(world: World) -> None:
    for key in ("api", "api_admin"):  # never widened, even for a member of reports_admin too
        with pytest.raises(errors.InsufficientPrivilege) as caught:
            call(world.conn(key), "dashboard", CALLS["dashboard"])
        assert_refused(caught, "dashboard", "set_caller")
        assert caught.value.diag.message_hint


def test_caller_lasts_one_transaction(world: World) -> None:
    api = world.conn("api")
    assert call_as_app_user(api, world.users["admin"], ["admin"], "dashboard", CALLS["dashboard"])
    with pytest.raises(errors.InsufficientPrivilege):
        call(api, "dashboard", CALLS["dashboard"])


def test_caller_settings_are_ignored_outside_reports_api(world: World, rules: Callable[..., None]) -> None:
    """A psql user cannot pose as an application user by setting the GUCs itself."""
    reader = world.conn("reader_ruled")
    rules(
        drop_default_reader_rule(),
        add_rule(world.roles["reader_ruled"], "db_role", "*", "own"),
        map_role(world.roles["reader_ruled"], world.users["manager"]),
    )
    with reader.transaction():
        reader.execute("SELECT set_config('reports.caller_user_id', %s, true)", [str(world.users["admin"])])
        reader.execute("SELECT set_config('reports.caller_roles', 'admin', true)")
        rows = call(reader, "manager_leaderboard", CALLS["manager_leaderboard"])
    assert [r["owner_id"] for r in rows] == [world.users["manager"]]
    with pytest.raises(errors.InsufficientPrivilege):  # and set_caller is not granted to it
        reader.execute("SELECT reports.set_caller(%s::bigint, '{admin}')", [world.users["admin"]])


def test_set_caller_checks_reports_api_membership_itself(world: World) -> None:
    """Even with EXECUTE granted by mistake, set_caller refuses a session user outside reports_api."""
    role = world.roles["reader"]
    world.admin.execute(
        sql.SQL("GRANT EXECUTE ON FUNCTION reports.set_caller(bigint, text[]) TO {}").format(
            sql.Identifier(role)
        )
    )
    try:
        with pytest.raises(errors.InsufficientPrivilege) as caught:
            world.conn("reader").execute("SELECT reports.set_caller(1, '{admin}')")
        assert_refused(caught, "set_caller", "reports_api")
    finally:
        world.admin.execute(
            sql.SQL("REVOKE EXECUTE ON FUNCTION reports.set_caller(bigint, text[]) FROM {}").format(
                sql.Identifier(role)
            )
        )


@pytest.mark.parametrize(
    ("user_id", "roles", "parameter"),
    [
        (None, ["manager"], "p_user_id"),
        (0, ["manager"], "p_user_id"),
        (7, None, "p_roles"),
        (7, ["Manager"], "p_roles"),
        (7, ["manager", None], "p_roles"),
        (7, ["a,b"], "p_roles"),
    ],
)
def test_set_caller_validates_its_arguments(
    world: World, user_id: int | None, roles: list[str] | None, parameter: str
) -> None:
    with pytest.raises(errors.InvalidParameterValue) as caught:
        world.conn("api").execute("SELECT reports.set_caller(%s::bigint, %s::text[])", [user_id, roles])
    assert parameter in (caught.value.diag.message_primary or "")
    assert caught.value.diag.message_hint


@pytest.mark.parametrize("app_roles", [[], ["intern"]])
def test_application_user_without_a_matching_rule_is_refused(world: World, app_roles: list[str]) -> None:
    with pytest.raises(errors.InsufficientPrivilege) as caught:
        call_as_app_user(
            world.conn("api"), world.users["manager"], app_roles, "stage_funnel", CALLS["stage_funnel"]
        )
    assert_refused(caught, "stage_funnel", "no access rule")
    assert "access_rules" in (caught.value.diag.message_hint or "")


def test_a_rule_for_one_report_grants_only_that_report(world: World, rules: Callable[..., None]) -> None:
    rules(
        drop_default_reader_rule(), add_rule(world.roles["reader_ruled"], "db_role", "sales_pipeline", "all")
    )
    reader = world.conn("reader_ruled")
    assert len(call(reader, "sales_pipeline")) == 4
    with pytest.raises(errors.InsufficientPrivilege) as caught:
        call(reader, "dashboard", CALLS["dashboard"])
    assert_refused(caught, "dashboard")
    assert "access_rules" in (caught.value.diag.message_hint or "")


def test_a_report_rule_widens_the_star_rule(world: World, rules: Callable[..., None]) -> None:
    """manager: * own, plus dashboard team -> dashboard with the team, other reports still own."""
    rules(add_rule("manager", "app_role", "dashboard", "team"))
    api, manager = world.conn("api"), world.users["manager"]
    dash = call_as_app_user(api, manager, ["manager"], "dashboard", CALLS["dashboard"])
    check = CHECKS["dashboard"][0]
    assert check.measure(dash) == expected(world, check, "team")
    rows = call_as_app_user(api, manager, ["manager"], "manager_leaderboard", CALLS["manager_leaderboard"])
    assert [r["owner_id"] for r in rows] == [manager]


def test_a_rule_for_the_named_report_narrows_an_inherited_star_rule(
    world: World, rules: Callable[..., None]
) -> None:
    """reader_ruled inherits reports_reader * all, and has dashboard own itself: dashboard is own, every other
    report keeps the inherited all."""
    role = world.roles["reader_ruled"]
    rules(add_rule(role, "db_role", "dashboard", "own"), map_role(role, world.users["manager"]))
    reader = world.conn("reader_ruled")
    check = CHECKS["dashboard"][0]
    assert check.measure(call(reader, "dashboard", CALLS["dashboard"])) == expected(world, check, "own")
    funnel = CHECKS["stage_funnel"][0]
    assert funnel.measure(call(reader, "stage_funnel", CALLS["stage_funnel"])) == expected(
        world, funnel, "all"
    )


def test_the_roles_own_star_rule_beats_an_inherited_rule_for_the_named_report(
    world: World, rules: Callable[..., None]
) -> None:
    role = world.roles["reader_ruled"]
    rules(
        add_rule("reports_reader", "db_role", "dashboard", "own"),
        add_rule(role, "db_role", "*", "team"),
        map_role(role, world.users["head"]),
    )
    check = CHECKS["dashboard"][0]
    dash = call(world.conn("reader_ruled"), "dashboard", CALLS["dashboard"])
    assert check.measure(dash) == expected(world, check, "team")
    # a plain reader, without a rule of its own, gets the inherited rule for the named report: own, which
    # needs its CRM user; mapped, it sees its own rows
    with pytest.raises(errors.InsufficientPrivilege) as caught:
        call(world.conn("reader"), "dashboard", CALLS["dashboard"])
    assert_refused(caught, "scope own needs the CRM user")
    rules(map_role(world.roles["reader"], world.users["manager"]))
    dash = call(world.conn("reader"), "dashboard", CALLS["dashboard"])
    assert check.measure(dash) == expected(world, check, "own")


def test_explain_access_names_the_rule_in_force_and_why(world: World, rules: Callable[..., None]) -> None:
    role = world.roles["reader_ruled"]
    rules(add_rule(role, "db_role", "*", "own"), add_rule("reports_reader", "db_role", "dashboard", "team"))
    explain = "SELECT subject, report, scope, precedence, applies, reason FROM reports.explain_access(%s, %s)"
    rows = world.admin.execute(explain, [role, "dashboard"]).fetchall()
    assert [(r["subject"], r["report"], r["scope"], r["applies"]) for r in rows] == [
        (role, "*", "own", True),
        ("reports_reader", "dashboard", "team", False),
        ("reports_reader", "*", "all", False),
    ]
    assert rows[0]["reason"] == "a rule for the role itself, for every report (*), scope own"
    assert rows[1]["reason"] == "a rule inherited from group role reports_reader, for this report, scope team"
    admin = world.admin.execute(explain, [world.roles["db_admin"], "dashboard"]).fetchall()
    assert [(r["subject"], r["scope"], r["applies"]) for r in admin] == [("reports_admin", "all", True)]
    app = world.admin.execute(
        "SELECT subject, scope, applies"
        " FROM reports.explain_access('manager, analyst', 'dashboard', 'app_role')"
    ).fetchall()
    assert [(r["subject"], r["scope"], r["applies"]) for r in app] == [
        ("manager", "own", True),
        ("analyst", "all", False),
    ]
    assert world.admin.execute(explain, [world.roles["nobody"], "dashboard"]).fetchall() == []
    with pytest.raises(errors.InvalidParameterValue, match="no database role named"):
        world.admin.execute(explain, ["no_such_role_here", "dashboard"])
    with pytest.raises(errors.InsufficientPrivilege):
        world.conn("reader").execute(explain, [role, "dashboard"])


def test_db_role_with_scope_own_needs_its_crm_user(world: World, rules: Callable[..., None]) -> None:
    rules(drop_default_reader_rule(), add_rule(world.roles["reader_ruled"], "db_role", "*", "own"))
    with pytest.raises(errors.InsufficientPrivilege) as caught:
        call(world.conn("reader_ruled"), "top_clients", CALLS["top_clients"])
    assert_refused(caught, "top_clients", world.roles["reader_ruled"])
    assert "db_role_users" in (caught.value.diag.message_hint or "")


def test_a_role_outside_the_reports_roles_is_refused(world: World) -> None:
    nobody = world.conn("nobody")
    with pytest.raises(errors.InsufficientPrivilege):  # no EXECUTE at all
        call(nobody, "dashboard", CALLS["dashboard"])
    # USAGE and EXECUTE granted by mistake: the function itself still refuses, naming the report
    role = sql.Identifier(world.roles["nobody"])
    world.admin.execute(sql.SQL("GRANT USAGE ON SCHEMA reports TO {}").format(role))
    world.admin.execute(sql.SQL("GRANT EXECUTE ON FUNCTION reports.dashboard(date, date) TO {}").format(role))
    try:
        with pytest.raises(errors.InsufficientPrivilege) as caught:
            call(nobody, "dashboard", CALLS["dashboard"])
        assert_refused(caught, "dashboard", "reports_reader")
        assert caught.value.diag.message_hint
    finally:
        world.admin.execute(
            sql.SQL("REVOKE EXECUTE ON FUNCTION reports.dashboard(date, date) FROM {}").format(role)
        )
        world.admin.execute(sql.SQL("REVOKE USAGE ON SCHEMA reports FROM {}").format(role))


def test_internal_helpers_cannot_be_called_directly(world: World) -> None:
    for key in ("reader", "api"):
        with pytest.raises(errors.InsufficientPrivilege):
            world.conn(key).execute("SELECT * FROM reports._scoped_deal_outcomes(NULL, NULL, NULL)")
        with pytest.raises(errors.InsufficientPrivilege):
            world.conn(key).execute("SELECT * FROM reports._authorize('dashboard')")


# ---------------------------------------------------------------------------------------------------
# Another owner's data changes nothing for a manager (or, outside the team, for a head)

DISTURB_OTHERS = """
DO $$
DECLARE
    keep bigint[] := current_setting('reports_test.keep')::bigint[];
    -- the range of the report calls (CALLS): the copies land where the reports look
    range_from timestamptz := current_setting('reports_test.from')::date;
    range_to timestamptz := current_setting('reports_test.to')::date + 1;
    old record;
    new_id bigint;
BEGIN
    -- every amount of the others' deals and payments moves
    UPDATE crm.deals SET amount = amount * 2 + 1 WHERE NOT owner_id = ANY(keep);
    UPDATE crm.payments AS p SET amount = p.amount * 2 + 1
    FROM crm.payments AS q
    LEFT JOIN crm.deals AS d ON d.id = q.deal_id
    LEFT JOIN crm.clients AS c ON c.id = q.client_id
    WHERE p.id = q.id AND coalesce(NOT coalesce(d.owner_id, c.owner_id) = ANY(keep), TRUE);
    -- new deals of theirs created in the range, with their stage history and payments, on clients that
    -- no kept owner owns
    FOR old IN
        SELECT d.* FROM crm.deals AS d JOIN crm.clients AS c ON c.id = d.client_id
        WHERE NOT d.owner_id = ANY(keep) AND NOT coalesce(c.owner_id = ANY(keep), FALSE)
            AND d.created_at >= range_from AND d.created_at < range_to
        ORDER BY d.id LIMIT 400
    LOOP
        INSERT INTO crm.deals (client_id, owner_id, title, stage, status, amount, currency, created_at,
                               updated_at, closed_at, expected_close_date, lost_reason)
        VALUES (old.client_id, old.owner_id, 'copy', old.stage, old.status, old.amount + 7, old.currency,
                old.created_at, old.updated_at, old.closed_at, old.expected_close_date, old.lost_reason)
        RETURNING id INTO new_id;
        INSERT INTO crm.deal_stage_history (deal_id, from_stage, to_stage, changed_at, changed_by)
        SELECT new_id, h.from_stage, h.to_stage, h.changed_at, h.changed_by
        FROM crm.deal_stage_history AS h WHERE h.deal_id = old.id;
        INSERT INTO crm.payments (deal_id, client_id, amount, currency, status, due_date, paid_at, created_at)
        SELECT new_id, p.client_id, p.amount, p.currency, p.status, p.due_date, p.paid_at, p.created_at
        FROM crm.payments AS p WHERE p.deal_id = old.id;
    END LOOP;
    -- new clients of theirs, and more of their audit events, in the range
    INSERT INTO crm.clients (name, owner_id, created_at)
    SELECT 'copy', c.owner_id, c.created_at FROM crm.clients AS c
    WHERE NOT c.owner_id = ANY(keep) AND c.created_at >= range_from AND c.created_at < range_to
    ORDER BY c.id LIMIT 200;
    INSERT INTO audit.events (occurred_at, actor_id, service, action, entity_type, entity_id)
    SELECT e.occurred_at + interval '1 minute', e.actor_id, e.service, e.action, e.entity_type, e.entity_id
    FROM audit.events AS e
    WHERE NOT e.actor_id = ANY(keep)
        AND e.occurred_at >= range_from AND e.occurred_at < range_to - interval '1 minute'
    ORDER BY e.id LIMIT 3000;
END
$$
"""


#: every report as in CALLS, and top_clients with a small limit too: its payments are then read for the
#: rows it keeps only (a path BIG_LIMIT never takes)
ISOLATION_CALLS: dict[str, tuple[str, tuple[Any, ...]]] = {
    **{report: (report, args) for report, args in CALLS.items()},
    "top_clients, p_limit 3": ("top_clients", (P_FROM, P_TO, 3)),
}


def without_refresh_time(rows: list[Row]) -> list[Row]:
    """sales_pipeline.avg_age_days is measured at refresh time (the issue): it moves with every refresh."""
    return [{k: v for k, v in row.items() if k != "avg_age_days"} for row in rows]


def test_other_owners_data_changes_no_report_of_a_manager_and_outside_the_team_none_of_a_head(
    db: Conn,
) -> None:
    db.execute("SELECT * FROM reports.refresh_all()").fetchall()
    manager = db.execute(
        "SELECT u.id, u.team_id FROM crm.users AS u JOIN crm.deals AS d ON d.owner_id = u.id"
        " WHERE u.role = 'manager' AND u.team_id IS NOT NULL"
        " GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 1"
    ).fetchone()
    assert manager is not None
    head = db.execute(
        "SELECT min(id) AS id FROM crm.users WHERE role = 'head' AND team_id = %s", [manager["team_id"]]
    ).fetchone()["id"]  # type: ignore[index]
    team = [r["id"] for r in db.execute("SELECT id FROM crm.users WHERE team_id = %s", [manager["team_id"]])]
    assert head is not None and len(team) > 2

    def everything() -> dict[str, dict[str, list[Row]]]:
        seen: dict[str, dict[str, list[Row]]] = {"manager": {}, "head": {}, "admin": {}}
        for label, (report, args) in ISOLATION_CALLS.items():
            seen["manager"][label] = call_as_app_user(db, manager["id"], ["manager"], report, args)
            seen["head"][label] = call_as_app_user(db, head, ["head"], report, args)
            seen["admin"][label] = call(db, report, args)
        for reports in seen.values():
            reports["sales_pipeline"] = without_refresh_time(reports["sales_pipeline"])
        return seen

    def disturb_and_refresh(keep: list[int]) -> None:
        with db.transaction():  # a DO block takes no parameters: the owners to keep come as a setting
            db.execute("SELECT set_config('reports_test.keep', %s::bigint[]::text, true)", [keep])
            db.execute("SELECT set_config('reports_test.from', %s::text, true)", [P_FROM.isoformat()])
            db.execute("SELECT set_config('reports_test.to', %s::text, true)", [P_TO.isoformat()])
            db.execute(DISTURB_OTHERS)
        statuses = {r["status"] for r in db.execute("SELECT * FROM reports.refresh_all()").fetchall()}
        assert statuses == {"ok"}

    before = everything()
    assert all(before["manager"][label] for label in ISOLATION_CALLS)  # the manager has rows in every report

    # 1. owners outside the team: neither the manager nor the head sees a difference; an admin does
    disturb_and_refresh(team)
    outside = everything()
    for report in ISOLATION_CALLS:
        assert outside["manager"][report] == before["manager"][report], report
        assert outside["head"][report] == before["head"][report], report
        assert outside["admin"][report] != before["admin"][report], report

    # 2. the manager's teammates: the manager still sees no difference; the head does
    disturb_and_refresh([manager["id"]])
    teammates = everything()
    for report in ISOLATION_CALLS:
        assert teammates["manager"][report] == before["manager"][report], report
        assert teammates["head"][report] != outside["head"][report], report
