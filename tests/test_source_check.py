"""The source contract check (sql/checks/source_contract_check.sql) against a real PostgreSQL.

Each test breaks the dev copy of the contract in one way and expects the check to name
exactly the broken object, and nothing else.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from reports_cli.sources import SourceProblem, check_file, check_sources, format_problems
from reports_core.db import connect
from reports_core.dburl import to_libpq
from reports_core.errors import ReportsError
from reports_core.paths import sql_dir

# The contract as docs/source-contract.md states it, written out independently of the check.
CONTRACT = {
    "crm.teams": "id name head_user_id",
    "crm.users": "id full_name email team_id role is_active created_at",
    "crm.clients": "id name industry country source owner_id created_at updated_at deleted_at",
    "crm.pipeline_stages": "code name position probability is_closed",
    "crm.deals": (
        "id client_id owner_id title stage status amount currency created_at updated_at closed_at"
        " expected_close_date lost_reason deleted_at"
    ),
    "crm.deal_stage_history": "id deal_id from_stage to_stage changed_at changed_by",
    "crm.payments": "id deal_id client_id amount currency status due_date paid_at created_at updated_at",
    "audit.events": "id occurred_at actor_id service action entity_type entity_id payload request_id",
}


@pytest.fixture
def contract_url(empty_db_url: str) -> str:
    """A fresh database holding only the dev source contract (no rows needed for the check)."""
    with connect(empty_db_url, autocommit=True) as conn:
        conn.execute((sql_dir() / "dev" / "source_contract.sql").read_text())
    return empty_db_url


def alter(url: str, *statements: str) -> None:
    with connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def problems_by_object(url: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in check_sources(url):
        found.setdefault(problem.object, []).append(problem.problem)
    return found


def test_the_dev_contract_satisfies_the_check(contract_url: str) -> None:
    assert check_sources(contract_url) == []


def test_the_check_knows_every_column_of_the_contract(contract_url: str) -> None:
    text = check_file().read_text()
    listed = set(re.findall(r"\('(crm|audit)', '(\w+)', '(\w+)', '[^']+'\)", text))
    expected = {
        (table.split(".")[0], table.split(".")[1], column)
        for table, columns in CONTRACT.items()
        for column in columns.split()
    }
    assert listed == expected


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("crm.deals", "closed_at"),
        ("crm.payments", "paid_at"),
        ("audit.events", "occurred_at"),
        ("crm.users", "role"),
    ],
)
def test_a_dropped_column_is_named(contract_url: str, table: str, column: str) -> None:
    alter(contract_url, f"ALTER TABLE {table} DROP COLUMN {column}")
    problems = check_sources(contract_url)
    assert [(p.object, p.problem, p.actual) for p in problems] == [
        (f"{table}.{column}", "missing column", "no such column")
    ]


def test_timestamp_without_time_zone_is_not_a_timestamptz(contract_url: str) -> None:
    alter(contract_url, "ALTER TABLE crm.deals ALTER COLUMN closed_at TYPE timestamp")
    assert check_sources(contract_url) == [
        SourceProblem(
            object="crm.deals.closed_at",
            problem="incompatible type",
            expected="timestamptz (accepted: timestamp with time zone)",
            actual="timestamp without time zone",
        )
    ]


def test_narrower_or_different_types_are_named(contract_url: str) -> None:
    alter(
        contract_url,
        "ALTER TABLE crm.pipeline_stages ALTER COLUMN position TYPE smallint",
        "ALTER TABLE crm.payments ALTER COLUMN amount TYPE double precision",
        "ALTER TABLE audit.events ALTER COLUMN payload TYPE json",
        "ALTER TABLE audit.events ALTER COLUMN request_id TYPE text",
    )
    found = {p.object: p.actual for p in check_sources(contract_url) if p.problem == "incompatible type"}
    assert found == {
        "crm.pipeline_stages.position": "smallint",
        "crm.payments.amount": "double precision",
        "audit.events.payload": "json",
        "audit.events.request_id": "text",
    }


def test_wider_types_and_domains_are_compatible(contract_url: str) -> None:
    alter(
        contract_url,
        "ALTER TABLE crm.teams ALTER COLUMN head_user_id TYPE numeric",
        "ALTER TABLE crm.pipeline_stages ALTER COLUMN position TYPE bigint",
        "ALTER TABLE crm.pipeline_stages ALTER COLUMN probability TYPE numeric",
        "ALTER TABLE crm.deals ALTER COLUMN amount TYPE numeric(18, 4)",
        "ALTER TABLE crm.deals ALTER COLUMN currency TYPE text",
        "ALTER TABLE crm.payments ALTER COLUMN currency TYPE varchar(3)",
        "ALTER TABLE crm.clients ALTER COLUMN name TYPE varchar(200)",
        "CREATE DOMAIN crm.email_address AS text CHECK (VALUE LIKE '%@%')",
        "ALTER TABLE crm.users ALTER COLUMN email TYPE crm.email_address",
    )
    assert check_sources(contract_url) == []


def test_a_dropped_table_is_named_once(contract_url: str) -> None:
    alter(contract_url, "DROP TABLE crm.deal_stage_history")
    assert problems_by_object(contract_url) == {"crm.deal_stage_history": ["missing table"]}


def test_a_view_may_stand_in_for_a_table(contract_url: str) -> None:
    alter(
        contract_url,
        "ALTER TABLE crm.teams RENAME TO teams_base",
        "CREATE VIEW crm.teams AS SELECT id, name, head_user_id FROM crm.teams_base",
    )
    assert check_sources(contract_url) == []


def test_a_missing_schema_is_named_once(contract_url: str) -> None:
    alter(contract_url, "DROP SCHEMA audit CASCADE")
    assert problems_by_object(contract_url) == {"audit": ["missing schema"]}


@pytest.fixture
def reader(contract_url: str) -> Iterator[tuple[str, str]]:
    """A login role that may read the whole contract; yields (role, URL connecting as it)."""
    role = f"reader_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    alter(
        contract_url,
        f"CREATE ROLE {role} LOGIN PASSWORD '{password}'",
        f"GRANT USAGE ON SCHEMA crm, audit TO {role}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA crm, audit TO {role}",
    )
    parts = urlsplit(contract_url)
    netloc = f"{quote(role)}:{password}@{parts.hostname}:{parts.port}"
    try:
        yield role, urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    finally:
        alter(contract_url, f"DROP OWNED BY {role}", f"DROP ROLE {role}")


def test_a_reader_with_every_grant_sees_no_problem(reader: tuple[str, str]) -> None:
    role, url = reader
    with connect(url) as conn:
        assert conn.execute("SELECT current_user AS u").fetchone() == {"u": role}
    assert check_sources(url) == []


def test_revoked_select_on_a_table_is_named(contract_url: str, reader: tuple[str, str]) -> None:
    role, url = reader
    alter(contract_url, f"REVOKE SELECT ON crm.payments FROM {role}")
    assert [(p.object, p.problem, p.expected) for p in check_sources(url)] == [
        ("crm.payments", "no SELECT on table", f"SELECT for {role}")
    ]
    # the superuser still sees no problem: the check is about the connecting role
    assert check_sources(contract_url) == []


def test_revoked_select_on_some_columns_names_those_columns(
    contract_url: str, reader: tuple[str, str]
) -> None:
    role, url = reader
    alter(
        contract_url,
        f"REVOKE SELECT ON crm.clients FROM {role}",
        "GRANT SELECT (id, name, industry, country, source, owner_id, created_at, updated_at)"
        f" ON crm.clients TO {role}",
    )
    assert problems_by_object(url) == {"crm.clients.deleted_at": ["no SELECT on column"]}


def test_revoked_usage_on_a_schema_is_named(contract_url: str, reader: tuple[str, str]) -> None:
    role, url = reader
    alter(contract_url, f"REVOKE USAGE ON SCHEMA audit FROM {role}")
    assert problems_by_object(url) == {"audit": ["no USAGE on schema"]}


def test_problems_read_as_one_line_each() -> None:
    problem = SourceProblem(
        "crm.deals.closed_at", "incompatible type", "timestamptz", "timestamp without time zone"
    )
    assert problem.describe() == (
        "crm.deals.closed_at: incompatible type (expected timestamptz; actual timestamp without time zone)"
    )
    text = format_problems(
        [problem, SourceProblem("audit", "missing schema", "schema audit", "no such schema")]
    )
    lines = text.splitlines()
    assert len(lines) == 3
    assert "2 problems" in lines[0]
    assert lines[1].strip() == problem.describe()
    assert "OK" in format_problems([])


def test_an_unreachable_database_is_a_one_line_error(contract_url: str) -> None:
    parts = urlsplit(contract_url)
    missing = urlunsplit((parts.scheme, parts.netloc, "/no_such_database_here", parts.query, ""))
    with pytest.raises(ReportsError, match="cannot connect") as info:
        check_sources(missing)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_psql_runs_the_same_file_in_a_read_only_session(contract_url: str) -> None:
    alter(contract_url, "ALTER TABLE crm.deals DROP COLUMN lost_reason")
    command = [
        "psql",
        "-X",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-f",
        str(check_file()),
        to_libpq(contract_url),
    ]
    env = {**os.environ, "PGOPTIONS": "-c default_transaction_read_only=on"}
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    assert out.strip() == "crm.deals.lost_reason|missing column|lost_reason text|no such column"
