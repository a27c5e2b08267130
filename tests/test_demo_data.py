"""The dev source contract and the demo data generator, against a real PostgreSQL.

Every invariant is recomputed here from the rows themselves (never from the generator's
own bookkeeping), so a generator bug shows up as a failing assertion.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from reports_cli.demo import SCALE_UNIT, SCALE_UNIT_HELP, load_demo_data
from reports_core.db import connect
from reports_core.dburl import to_libpq
from reports_core.errors import ReportsError
from reports_core.paths import sql_dir

END = date(2026, 10, 31)
TABLES = {
    "crm.teams": "id",
    "crm.users": "id",
    "crm.clients": "id",
    "crm.pipeline_stages": "code",
    "crm.deals": "id",
    "crm.deal_stage_history": "id",
    "crm.payments": "id",
    "audit.events": "id",
}
ZONES = ("UTC", "Europe/Berlin", "America/New_York")


def quiet(_: str) -> None:
    pass


def rows(url: str, query: str, params: Any = ()) -> list[dict[str, Any]]:
    with connect(url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute(query, params).fetchall()


def one(url: str, query: str, params: Any = ()) -> Any:
    result = rows(url, query, params)
    assert len(result) == 1
    return next(iter(result[0].values()))


def table_digests(url: str) -> dict[str, str]:
    return {
        table: one(url, f"SELECT md5(string_agg(t::text, '|' ORDER BY t.{key})) FROM {table} AS t")
        for table, key in TABLES.items()
    }


@pytest.fixture(scope="module")
def demo_url(pg_server: Any) -> Iterator[str]:
    """One database with demo data at scale 1, seed 42, shared by the read-only tests."""
    name = f"demo_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name)
    try:
        load_demo_data(url, scale=1, seed=42, end=END, progress=quiet)
        yield url
    finally:
        pg_server.drop_database(name)


# -- volumes -----------------------------------------------------------------------------


def test_row_counts_are_proportional_to_scale(empty_db_url: str, demo_url: str) -> None:
    counts = load_demo_data(empty_db_url, scale=2, seed=42, end=END, progress=quiet)
    exact = {"crm.teams", "crm.users", "crm.clients", "crm.deals"}
    for table in TABLES:
        actual = one(empty_db_url, f"SELECT count(*) FROM {table}")
        assert counts[table] == actual, table
        if table == "crm.pipeline_stages":
            assert actual == 6
        elif table in exact:
            assert actual == 2 * SCALE_UNIT[table], table
            assert one(demo_url, f"SELECT count(*) FROM {table}") == SCALE_UNIT[table], table
        else:
            assert 0.9 * 2 * SCALE_UNIT[table] <= actual <= 1.1 * 2 * SCALE_UNIT[table], (table, actual)


def test_python_scale_unit_matches_the_sql_one(demo_url: str) -> None:
    unit_rows = rows(demo_url, "SELECT entity, rows_per_unit FROM reports_demo.scale_unit()")
    sql_unit = {r["entity"]: r["rows_per_unit"] for r in unit_rows}
    assert sql_unit == SCALE_UNIT
    assert f"{SCALE_UNIT['crm.deals']:,} deals" in SCALE_UNIT_HELP


def test_progress_reports_every_phase_with_seconds(empty_db_url: str) -> None:
    lines: list[str] = []
    load_demo_data(empty_db_url, scale=1, end=END, progress=lines.append)
    for phase in ("source contract", "deals and stage history", "payments", "audit events", "foreign keys"):
        assert any(phase in line for line in lines), (phase, lines)
    assert all(line.rstrip().endswith(" s") for line in lines), lines


# -- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_identical_rows_and_another_seed_does_not(pg_server: Any, demo_url: str) -> None:
    names = [f"demo_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    try:
        same, other = (pg_server.create_database(name) for name in names)
        # another session, another time zone and another plan shape must not matter
        with connect(same, autocommit=True) as conn:
            conn.execute("ALTER DATABASE " + names[0] + " SET TimeZone = 'Asia/Tokyo'")
            conn.execute("ALTER DATABASE " + names[0] + " SET enable_hashjoin = off")
        load_demo_data(same, scale=1, seed=42, end=END, progress=quiet)
        load_demo_data(other, scale=1, seed=7, end=END, progress=quiet)
        reference = table_digests(demo_url)
        assert table_digests(same) == reference
        different = table_digests(other)
        for table in ("crm.clients", "crm.deals", "crm.deal_stage_history", "crm.payments", "audit.events"):
            assert different[table] != reference[table], table
        assert different["crm.pipeline_stages"] == reference["crm.pipeline_stages"]
    finally:
        for name in names:
            pg_server.drop_database(name)


# -- people and clients --------------------------------------------------------------------


def test_every_role_is_present_and_some_users_are_inactive(demo_url: str) -> None:
    by_role = {
        r["role"]: r
        for r in rows(
            demo_url,
            "SELECT role, count(*) AS n, count(*) FILTER (WHERE NOT is_active) AS inactive"
            " FROM crm.users GROUP BY 1",
        )
    }
    assert set(by_role) == {"manager", "head", "admin", "analyst"}
    assert sum(r["inactive"] for r in by_role.values()) > 0
    assert one(demo_url, "SELECT count(DISTINCT email) = count(*) FROM crm.users")


def test_every_team_has_an_active_head_in_that_team(demo_url: str) -> None:
    teams = rows(
        demo_url,
        """
        SELECT t.id, u.role, u.team_id, u.is_active
        FROM crm.teams AS t LEFT JOIN crm.users AS u ON u.id = t.head_user_id
        """,
    )
    assert teams
    assert all(t["role"] == "head" and t["team_id"] == t["id"] and t["is_active"] for t in teams)


def test_clients_are_varied_and_some_are_soft_deleted(demo_url: str) -> None:
    stats = rows(
        demo_url,
        """
        SELECT count(DISTINCT industry) AS industries, count(DISTINCT country) AS countries,
               count(DISTINCT source) AS sources, count(deleted_at) AS deleted,
               count(*) FILTER (WHERE deleted_at < created_at OR updated_at < created_at) AS bad_times
        FROM crm.clients
        """,
    )[0]
    assert stats["industries"] >= 5 and stats["countries"] >= 5 and stats["sources"] >= 4
    assert stats["deleted"] > 0
    assert stats["bad_times"] == 0
    assert (
        one(
            demo_url,
            "SELECT count(*) FROM crm.deals AS d JOIN crm.clients AS c ON c.id = d.client_id"
            " WHERE c.deleted_at IS NOT NULL",
        )
        > 0
    )


# -- deals and their history ------------------------------------------------------------------


def test_deal_status_stage_and_closed_at_agree(demo_url: str) -> None:
    combos = {
        (r["status"], r["stage"]): r
        for r in rows(
            demo_url,
            """
            SELECT status, stage, count(*) AS n, count(closed_at) AS closed, count(lost_reason) AS reasons
            FROM crm.deals GROUP BY 1, 2
            """,
        )
    }
    assert set(combos) == {
        ("open", "lead"),
        ("open", "qualified"),
        ("open", "proposal"),
        ("open", "negotiation"),
        ("won", "won"),
        ("lost", "lost"),
    }
    for (status, _), r in combos.items():
        assert r["closed"] == (r["n"] if status in ("won", "lost") else 0), status
        assert r["reasons"] == (r["n"] if status == "lost" else 0), status
    assert one(demo_url, "SELECT count(*) FROM crm.deals WHERE deleted_at IS NOT NULL") > 0


def test_deals_span_about_three_years_up_to_the_end_date(demo_url: str) -> None:
    span = rows(
        demo_url,
        """
        SELECT min(created_at) AS first, max(greatest(created_at, updated_at, closed_at, deleted_at)) AS last,
               count(*) FILTER (WHERE updated_at < created_at OR closed_at < created_at) AS backwards
        FROM crm.deals
        """,
    )[0]
    end_of_end_date = one(demo_url, "SELECT (%s::date + 1)::timestamp AT TIME ZONE 'UTC'", (END,))
    assert span["last"] < end_of_end_date
    assert (end_of_end_date - span["last"]).days < 7
    assert 3 * 365 - 30 <= (end_of_end_date - span["first"]).days <= 3 * 366
    assert span["backwards"] == 0


def test_stage_history_tells_each_deal_s_story(demo_url: str) -> None:
    problems = one(
        demo_url,
        """
        WITH h AS (
            SELECT h.*,
                   row_number() OVER w AS n,
                   count(*) OVER (PARTITION BY h.deal_id) AS rows_of_deal,
                   lag(h.to_stage) OVER w AS previous_to,
                   lag(h.changed_at) OVER w AS previous_at
            FROM crm.deal_stage_history AS h
            WINDOW w AS (PARTITION BY h.deal_id ORDER BY h.changed_at, h.id)
        )
        SELECT count(*)
        FROM h JOIN crm.deals AS d ON d.id = h.deal_id
        WHERE (h.n = 1 AND (h.from_stage IS NOT NULL OR h.to_stage <> 'lead' OR h.changed_at <> d.created_at))
           OR (h.n > 1 AND (h.from_stage IS DISTINCT FROM h.previous_to OR h.changed_at <= h.previous_at))
           OR (h.n = h.rows_of_deal AND h.to_stage <> d.stage)
           OR (h.n = h.rows_of_deal AND d.closed_at IS NOT NULL AND h.changed_at <> d.closed_at)
           OR h.changed_at > coalesce(d.closed_at, 'infinity')
        """,
    )
    assert problems == 0
    assert (
        one(
            demo_url,
            "SELECT count(*) FROM crm.deals AS d"
            " WHERE NOT EXISTS (SELECT FROM crm.deal_stage_history AS h WHERE h.deal_id = d.id)",
        )
        == 0
    )
    # stages move forward one step at a time (lost may come from any open stage)
    moves = {
        (r["from_stage"], r["to_stage"])
        for r in rows(demo_url, "SELECT DISTINCT from_stage, to_stage FROM crm.deal_stage_history")
    }
    allowed = {
        (None, "lead"),
        ("lead", "qualified"),
        ("qualified", "proposal"),
        ("proposal", "negotiation"),
        ("negotiation", "won"),
        ("lead", "lost"),
        ("qualified", "lost"),
        ("proposal", "lost"),
        ("negotiation", "lost"),
    }
    assert moves <= allowed
    assert {("negotiation", "won"), ("lead", "lost")} <= moves
    assert one(demo_url, "SELECT count(*) FROM crm.deal_stage_history WHERE changed_by IS NULL") > 0


# -- payments -------------------------------------------------------------------------------


def test_payment_status_and_paid_at_agree(demo_url: str) -> None:
    by_status = {
        r["status"]: r
        for r in rows(
            demo_url,
            """
            SELECT status, count(*) AS n, count(paid_at) AS paid,
                   count(*) FILTER (WHERE due_date < %s) AS past_due
            FROM crm.payments GROUP BY 1
            """,
            (END,),
        )
    }
    assert set(by_status) == {"pending", "paid", "failed", "refunded"}
    for status, r in by_status.items():
        assert r["paid"] == (r["n"] if status in ("paid", "refunded") else 0), status
    assert by_status["pending"]["past_due"] > 0  # overdue
    assert by_status["pending"]["past_due"] < by_status["pending"]["n"]  # and some not yet due
    assert (
        one(
            demo_url,
            "SELECT count(*) FROM crm.payments WHERE paid_at < created_at OR updated_at < created_at",
        )
        == 0
    )


def test_payments_belong_to_won_deals_and_add_up_to_their_amount(demo_url: str) -> None:
    assert one(demo_url, "SELECT count(*) FROM crm.payments WHERE deal_id IS NULL") > 0
    mismatches = rows(
        demo_url,
        """
        SELECT d.id, d.status, d.amount, sum(p.amount) AS paid_total
        FROM crm.payments AS p JOIN crm.deals AS d ON d.id = p.deal_id
        GROUP BY d.id
        HAVING d.status <> 'won' OR sum(p.amount) <> d.amount OR NOT bool_and(p.client_id = d.client_id)
        """,
    )
    assert mismatches == []
    installments = "SELECT max(n) FROM (SELECT count(*) AS n FROM crm.payments GROUP BY deal_id) AS x"
    assert one(demo_url, installments) > 1


# -- audit events ------------------------------------------------------------------------------


def test_audit_events_cover_user_actions_in_time_order(demo_url: str) -> None:
    actions = {r["action"] for r in rows(demo_url, "SELECT DISTINCT action FROM audit.events")}
    user_actions = {"deal.created", "deal.stage_changed", "client.updated", "payment.recorded", "auth.login"}
    assert user_actions <= actions
    assert one(demo_url, "SELECT count(*) FROM audit.events WHERE actor_id IS NULL") > 0
    assert (
        one(
            demo_url,
            "SELECT count(*) FROM (SELECT occurred_at < lag(occurred_at) OVER (ORDER BY id) AS back"
            " FROM audit.events) AS x WHERE back",
        )
        == 0
    )
    assert one(demo_url, "SELECT count(*) FROM audit.events WHERE occurred_at >= %s::date + 1", (END,)) == 0
    assert (
        one(
            demo_url,
            "SELECT count(*) FROM audit.events WHERE action = 'deal.created'"
            " AND entity_id NOT IN (SELECT id::text FROM crm.deals)",
        )
        == 0
    )


# -- time zones --------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ZONES)
def test_closings_and_payments_fall_near_midnight_in_every_zone(demo_url: str, zone: str) -> None:
    near = """
        SELECT count(*) FROM {table}
        WHERE ({column} AT TIME ZONE %(zone)s)::time >= '23:30'
           OR ({column} AT TIME ZONE %(zone)s)::time <= '00:30'
    """
    closed = one(demo_url, near.format(table="crm.deals", column="closed_at"), {"zone": zone})
    paid = one(demo_url, near.format(table="crm.payments", column="paid_at"), {"zone": zone})
    # stage changes and payments happen during office hours (07:00-21:30 UTC), which holds no
    # midnight of these zones; the generator moves 4 % of them to within 30 minutes of one per zone
    total_closed = one(demo_url, "SELECT count(closed_at) FROM crm.deals")
    total_paid = one(demo_url, "SELECT count(paid_at) FROM crm.payments")
    assert 0.025 * total_closed <= closed <= 0.06 * total_closed, (zone, closed, total_closed)
    assert 0.025 * total_paid <= paid <= 0.06 * total_paid, (zone, paid, total_paid)


# -- contract and safety -------------------------------------------------------------------------


def test_ids_are_explicit_and_identity_sequences_moved_past_them(demo_url: str, empty_db_url: str) -> None:
    load_demo_data(empty_db_url, scale=1, end=END, progress=quiet)
    for table in ("crm.teams", "crm.clients", "crm.deals", "crm.payments", "audit.events"):
        assert one(empty_db_url, f"SELECT max(id) = count(*) FROM {table}"), table
        expected_next = one(empty_db_url, f"SELECT max(id) + 1 FROM {table}")
        seq = one(empty_db_url, "SELECT pg_get_serial_sequence(%s, 'id')", (table,))
        assert one(empty_db_url, "SELECT nextval(%s)", (seq,)) == expected_next, table


def test_generation_keeps_every_constraint_and_index_of_the_contract(empty_db_url: str) -> None:
    catalog = """
        SELECT c.conrelid::regclass::text || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
               || ' ' || c.convalidated::text AS item
        FROM pg_constraint AS c JOIN pg_namespace AS n ON n.oid = c.connamespace
        WHERE n.nspname IN ('crm', 'audit')
        UNION ALL
        SELECT indexrelid::regclass::text || ' ' || pg_get_indexdef(indexrelid)
        FROM pg_index AS i
        JOIN pg_class AS r ON r.oid = i.indrelid
        JOIN pg_namespace AS n ON n.oid = r.relnamespace
        WHERE n.nspname IN ('crm', 'audit')
        ORDER BY 1
    """
    with connect(empty_db_url, autocommit=True) as conn:
        conn.execute((sql_dir() / "dev" / "source_contract.sql").read_text())
        before = [r["item"] for r in conn.execute(catalog).fetchall()]
    load_demo_data(empty_db_url, scale=1, end=END, progress=quiet)
    after = [r["item"] for r in rows(empty_db_url, catalog)]
    assert after == before
    assert sum(" FOREIGN KEY " in item for item in after) >= 10
    assert all(item.endswith(" true") for item in after if " FOREIGN KEY " in item)


def test_refuses_to_overwrite_data_unless_replace(empty_db_url: str) -> None:
    load_demo_data(empty_db_url, scale=1, end=END, progress=quiet)
    with pytest.raises(ReportsError, match="already hold data"):
        load_demo_data(empty_db_url, scale=2, end=END, progress=quiet)
    assert one(empty_db_url, "SELECT count(*) FROM crm.deals") == 1000
    counts = load_demo_data(empty_db_url, scale=2, end=END, replace=True, progress=quiet)
    assert counts["crm.deals"] == one(empty_db_url, "SELECT count(*) FROM crm.deals") == 2000


def test_replace_refuses_schemas_without_the_dev_marker(empty_db_url: str) -> None:
    load_demo_data(empty_db_url, scale=1, end=END, progress=quiet)
    with connect(empty_db_url, autocommit=True) as conn:
        conn.execute("COMMENT ON SCHEMA crm IS 'owned by the CRM service'")
    with pytest.raises(ReportsError, match=r"crm .*not created by the reports dev source contract"):
        load_demo_data(empty_db_url, scale=1, end=END, replace=True, progress=quiet)
    with connect(empty_db_url, autocommit=True) as conn, pytest.raises(Exception, match="marker comment"):
        conn.execute("SELECT reports_demo.clear()")
    assert one(empty_db_url, "SELECT count(*) FROM crm.deals") == 1000


def test_contract_refuses_an_existing_foreign_crm_schema(empty_db_url: str) -> None:
    with connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA crm")
    with pytest.raises(ReportsError, match="schema crm exists and was not created"):
        load_demo_data(empty_db_url, scale=1, end=END, progress=quiet)
    assert one(empty_db_url, "SELECT count(*) FROM pg_class WHERE relnamespace = 'crm'::regnamespace") == 0
    assert one(empty_db_url, "SELECT to_regnamespace('audit') IS NULL")


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_dev_files_run_twice_with_psql_on_error_stop(empty_db_url: str) -> None:
    libpq_url = to_libpq(empty_db_url)
    for _ in range(2):
        for name in ("source_contract.sql", "demo_data.sql"):
            path = sql_dir() / "dev" / name
            command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", libpq_url, "-f", str(path)]
            subprocess.run(command, check=True, capture_output=True)
    assert one(empty_db_url, "SELECT count(*) FROM crm.pipeline_stages") == 6
    assert one(empty_db_url, "SELECT count(*) FROM crm.pipeline_stages WHERE is_closed") == 2
    generated = rows(empty_db_url, "SELECT * FROM reports_demo.generate(1, 1, %s)", (END,))
    counts = {r["table_name"]: r["row_count"] for r in generated}
    assert counts["crm.deals"] == 1000
