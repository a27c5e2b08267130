"""The migration runner (reports_core.migrate) against a real PostgreSQL.

Tests that change sql/ work on a copy (``REPORTS_SQL_DIR``); every database is a fresh one, with the
dev source contract (the repeatable adapter views read crm and audit) and no reports migrations.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql as psql

from reports_core.db import connect
from reports_core.errors import ReportsError
from reports_core.migrate import (
    ADVISORY_LOCK_KEY,
    BOOTSTRAP,
    GRANTS_LAYER,
    NOTIFY_CHANNEL,
    Kind,
    MigrationError,
    MigrationResult,
    State,
    discover,
    migrate,
    plan,
    status,
)
from reports_core.paths import sql_dir

ROLES = ("reports_reader", "reports_refresher", "reports_admin", "reports_api")

# Every object a migration could create or change, outside PostgreSQL's own schemas.
FINGERPRINT = """
WITH ns AS (
    SELECT n.oid, n.nspname FROM pg_namespace AS n
    WHERE left(n.nspname, 3) <> 'pg_' AND n.nspname <> 'information_schema'
      AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY(%(schemas)s::text[]))
)
SELECT 'schema' AS kind, ns.nspname AS name,
       concat_ws(' ', n.nspacl::text, obj_description(ns.oid, 'pg_namespace')) AS detail
FROM ns JOIN pg_namespace AS n ON n.oid = ns.oid
UNION ALL
SELECT 'relation', ns.nspname || '.' || c.relname,
       concat_ws(' ', c.relkind, c.relacl::text, obj_description(c.oid, 'pg_class'))
FROM pg_class AS c JOIN ns ON ns.oid = c.relnamespace
UNION ALL
SELECT 'column', ns.nspname || '.' || c.relname || '.' || a.attname,
       concat_ws(' ', format_type(a.atttypid, a.atttypmod), a.attnotnull, col_description(c.oid, a.attnum))
FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'function', p.oid::regprocedure::text,
       concat_ws(' ', p.proacl::text, md5(p.prosrc), p.proconfig::text, obj_description(p.oid, 'pg_proc'))
FROM pg_proc AS p JOIN ns ON ns.oid = p.pronamespace
UNION ALL
SELECT 'constraint', ns.nspname || '.' || con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint AS con JOIN ns ON ns.oid = con.connamespace
UNION ALL
SELECT 'type', ns.nspname || '.' || t.typname, t.typtype::text
FROM pg_type AS t JOIN ns ON ns.oid = t.typnamespace
UNION ALL
SELECT 'trigger', tg.tgrelid::regclass::text || '.' || tg.tgname, md5(pg_get_triggerdef(tg.oid))
FROM pg_trigger AS tg JOIN pg_class AS c ON c.oid = tg.tgrelid JOIN ns ON ns.oid = c.relnamespace
WHERE NOT tg.tgisinternal
UNION ALL
SELECT 'default acl', concat_ws(' ', d.defaclrole::regrole::text, ns.nspname, d.defaclobjtype),
       d.defaclacl::text
FROM pg_default_acl AS d LEFT JOIN ns ON ns.oid = d.defaclnamespace
WHERE ns.oid IS NOT NULL OR (d.defaclnamespace = 0 AND %(schemas)s::text[] IS NULL)
ORDER BY 1, 2, 3
"""


def query(url: str, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def fingerprint(url: str, schemas: list[str] | None = None) -> list[dict[str, Any]]:
    return query(url, FINGERPRINT, {"schemas": schemas})


def recorded(url: str) -> list[dict[str, Any]]:
    if not query(url, "SELECT to_regclass('reports.schema_migrations') IS NOT NULL AS present")[0]["present"]:
        return []
    return query(url, "SELECT * FROM reports.schema_migrations ORDER BY script")


def state(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Catalog fingerprint and schema_migrations rows: 'the database is unchanged' compares these."""
    return fingerprint(url), recorded(url)


def relation_exists(url: str, name: str) -> bool:
    return bool(query(url, "SELECT to_regclass(%(n)s) IS NOT NULL AS e", {"n": name})[0]["e"])


def quiet(_: str) -> None:
    pass


def next_version() -> int:
    return max(f.version or 0 for f in discover()) + 1


@pytest.fixture
def sql_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of sql/ that the runner uses for this test."""
    target = tmp_path / "sql"
    shutil.copytree(sql_dir(), target)
    monkeypatch.setenv("REPORTS_SQL_DIR", str(target))
    return target


def add_versioned(root: Path, what: str, text: str) -> str:
    script = f"versioned/V{next_version():04d}__{what}.sql"
    (root / script).write_text(text)
    return script


def test_fresh_database_applies_every_file_once_in_order_with_its_sha256(contract_db_url: str) -> None:
    lines: list[str] = []
    result = migrate(contract_db_url, progress=lines.append)
    files = discover()
    versioned = [f for f in files if f.kind is Kind.VERSIONED]
    assert [f.version for f in versioned] == sorted(f.version or 0 for f in versioned)
    assert files[: len(versioned)] == versioned, "versioned files come before repeatable ones"
    repeatable = [f.script for f in files[len(versioned) :]]
    assert repeatable == sorted(repeatable)
    assert [a.script for a in result.applied] == [f.script for f in files]
    assert all(a.state is State.PENDING for a in result.applied)

    rows = {r["script"]: r for r in recorded(contract_db_url)}
    assert set(rows) == {f.script for f in files}
    assert not any(s.startswith(("bootstrap/", "dev/", "checks/")) for s in rows)
    for f in files:
        row = rows[f.script]
        assert row["checksum"] == hashlib.sha256((sql_dir() / f.script).read_bytes()).hexdigest()
        assert (row["kind"], row["version"]) == (str(f.kind), f.version)
        assert row["applied_by"] == "postgres"
        assert re.fullmatch(r"reports migrate \(.+\)", row["runner"])
        assert row["duration_ms"] >= 0 and row["applied_at"] is not None
    for f in files:
        assert any(re.fullmatch(rf"applied {re.escape(f.script)} \(\d+ ms\)", line) for line in lines), (
            f.script
        )
    assert lines[-1] == f"applied {len(files)} files (0 up to date)"


def test_second_run_is_a_noop_that_says_so(contract_db_url: str) -> None:
    migrate(contract_db_url, progress=quiet)
    before = state(contract_db_url)
    lines: list[str] = []
    result = migrate(contract_db_url, progress=lines.append)
    assert result == MigrationResult(applied=(), up_to_date=len(discover()), dry_run=False)
    assert lines == [f"nothing to apply: {len(discover())} files up to date"]
    assert state(contract_db_url) == before


def test_dry_run_on_a_fresh_database_changes_nothing(empty_db_url: str) -> None:
    before = state(empty_db_url)
    lines: list[str] = []
    result = migrate(empty_db_url, dry_run=True, progress=lines.append)
    assert result.dry_run
    assert [a.script for a in result.applied] == [f.script for f in discover()]
    assert lines[0] == f"would apply {discover()[0].script}"
    assert not query(empty_db_url, "SELECT to_regnamespace('reports') IS NOT NULL AS e")[0]["e"]
    assert state(empty_db_url) == before


def test_dry_run_lists_pending_and_changed_files_and_changes_nothing(
    contract_db_url: str, sql_copy: Path
) -> None:
    migrate(contract_db_url, progress=quiet)
    new = add_versioned(sql_copy, "dry_probe", "CREATE TABLE reports.dry_probe (id integer);\n")
    with (sql_copy / "repeatable/80_comments/schema.sql").open("a") as fh:
        fh.write("\n-- edited\n")
    before = state(contract_db_url)
    lines: list[str] = []
    result = migrate(contract_db_url, dry_run=True, progress=lines.append)
    grants = [f.script for f in discover() if f.script.startswith(GRANTS_LAYER)]
    assert [(a.script, a.state) for a in result.applied] == [
        (new, State.PENDING),
        ("repeatable/80_comments/schema.sql", State.CHANGED),
        *[(g, State.APPLIED) for g in grants],  # re-applied with any repeatable file
    ]
    assert lines[:2] == [f"would apply {new}", "would re-apply repeatable/80_comments/schema.sql"]
    assert state(contract_db_url) == before
    assert not relation_exists(contract_db_url, "reports.dry_probe")


def test_status_reports_each_file_state(contract_db_url: str, sql_copy: Path) -> None:
    fresh = status(contract_db_url)
    assert [s.script for s in fresh] == [f.script for f in discover()]
    assert {s.state for s in fresh} == {State.PENDING}
    assert all(s.applied_at is None for s in fresh)

    migrate(contract_db_url, progress=quiet)
    applied = status(contract_db_url)
    assert {s.state for s in applied} == {State.APPLIED}
    assert all(s.applied_at is not None and s.applied_checksum == s.checksum for s in applied)

    with (sql_copy / "versioned/V0002__create_roles.sql").open("a") as fh:
        fh.write("-- edited\n")
    with (sql_copy / "repeatable/80_comments/schema.sql").open("a") as fh:
        fh.write("-- edited\n")
    (sql_copy / "repeatable/90_grants/revoke_public.sql").unlink()
    new = add_versioned(sql_copy, "status_probe", "SELECT 1;\n")
    states = {s.script: s.state for s in status(contract_db_url)}
    assert states["versioned/V0001__create_schema.sql"] is State.APPLIED
    assert states["versioned/V0002__create_roles.sql"] is State.MODIFIED
    assert states["repeatable/80_comments/schema.sql"] is State.CHANGED
    assert states["repeatable/90_grants/revoke_public.sql"] is State.MISSING
    assert states[new] is State.PENDING
    assert plan(contract_db_url).modified[0].script == "versioned/V0002__create_roles.sql"


def test_modified_versioned_file_is_refused_before_anything_is_applied(
    contract_db_url: str, sql_copy: Path
) -> None:
    migrate(contract_db_url, progress=quiet)
    with (sql_copy / "versioned/V0003__create_settings.sql").open("a") as fh:
        fh.write("\n-- an innocent-looking edit\n")
    add_versioned(sql_copy, "after_edit", "CREATE TABLE reports.after_edit (id integer);\n")
    with (sql_copy / "repeatable/80_comments/schema.sql").open("a") as fh:
        fh.write("-- edited\n")
    before = state(contract_db_url)
    with pytest.raises(ReportsError, match=r"versioned/V0003__create_settings\.sql") as caught:
        migrate(contract_db_url, progress=quiet)
    assert "\n" not in str(caught.value)
    assert "changed after it was applied" in str(caught.value)
    assert state(contract_db_url) == before
    assert not relation_exists(contract_db_url, "reports.after_edit")


def test_pending_versioned_file_below_the_applied_versions_is_refused(
    contract_db_url: str, sql_copy: Path
) -> None:
    migrate(contract_db_url, progress=quiet)
    used = {f.version for f in discover()}
    free = [v for v in range(1, max(v or 0 for v in used)) if v not in used]
    if not free:
        pytest.skip("no unused version below the highest one")
    script = f"versioned/V{free[0]:04d}__late.sql"
    (sql_copy / script).write_text("CREATE TABLE reports.late (id integer);\n")
    before = state(contract_db_url)
    with pytest.raises(ReportsError, match=re.escape(script)):
        migrate(contract_db_url, progress=quiet)
    assert state(contract_db_url) == before


def test_failing_file_is_rolled_back_and_named_with_line_and_sqlstate(
    contract_db_url: str, sql_copy: Path
) -> None:
    text = (
        "-- creates a table, then fails\n"
        "CREATE TABLE reports.broken_probe (id integer);\n"
        "\n"
        "SELECT 'a;b', $$;$$ /* ; */;\n"
        "SELEC 1;\n"
        "CREATE TABLE reports.never_reached (id integer);\n"
    )
    script = add_versioned(sql_copy, "broken", text)
    lines: list[str] = []
    with pytest.raises(MigrationError) as caught:
        migrate(contract_db_url, progress=lines.append)
    message = str(caught.value)
    assert f"{script} line 5: SQLSTATE 42601: " in message
    assert "SELEC" in message and "\n" not in message
    assert (caught.value.script, caught.value.line, caught.value.sqlstate) == (script, 5, "42601")
    assert not relation_exists(contract_db_url, "reports.broken_probe")
    assert not relation_exists(contract_db_url, "reports.never_reached")
    rows = {r["script"] for r in recorded(contract_db_url)}
    assert script not in rows
    # files before it in the same run stay applied; the ones after it wait
    assert {f.script for f in discover() if f.kind is Kind.VERSIONED} - {script} <= rows
    assert not any(s.startswith("repeatable/") for s in rows)


@pytest.mark.parametrize(
    ("text", "line", "sqlstate"),
    [
        pytest.param(
            "SELECT 1;\n\n-- ;\nSELECT\n    1 / 0;\n", 4, "22012", id="no position: statement start"
        ),
        pytest.param(
            "SELECT E'\\';', 'x';\nDO $body$\nBEGIN\n    PERFORM 1;\n"
            "    RAISE EXCEPTION 'boom';\nEND\n$body$;\n",
            5,
            "P0001",
            id="DO block: line inside the body",
        ),
        pytest.param(
            "CREATE FUNCTION reports.probe_fail() RETURNS integer LANGUAGE plpgsql\n"
            "SET search_path = pg_catalog AS $$\nBEGIN\n    RETURN 1 / 0;\nEND\n$$;\n"
            "\nSELECT reports.probe_fail();\n",
            8,
            "22012",
            id="error inside a function body: calling statement",
        ),
        pytest.param(
            "CREATE TABLE reports.probe_t (id integer);\nINSERT INTO reports.probe_t\nVALUES (1), ('x');\n",
            3,
            "22P02",
            id="position inside a multi-line statement",
        ),
    ],
)
def test_error_line_in_the_file(
    contract_db_url: str, sql_copy: Path, text: str, line: int, sqlstate: str
) -> None:
    script = add_versioned(sql_copy, "probe", text)
    with pytest.raises(MigrationError) as caught:
        migrate(contract_db_url, progress=quiet)
    assert f"{script} line {line}: SQLSTATE {sqlstate}: " in str(caught.value)
    assert not relation_exists(contract_db_url, "reports.probe_t")


def test_changed_repeatable_file_is_reapplied_and_its_checksum_updated(
    contract_db_url: str, sql_copy: Path
) -> None:
    migrate(contract_db_url, progress=quiet)
    path = sql_copy / "repeatable/80_comments/schema.sql"
    path.write_text(path.read_text().replace("Reports service of the CRM", "Reports service (edited)"))
    lines: list[str] = []
    result = migrate(contract_db_url, progress=lines.append)
    grants = [f.script for f in discover() if f.script.startswith(GRANTS_LAYER)]
    assert grants, "expected grants files under repeatable/90_grants/"
    assert [(a.script, a.state) for a in result.applied] == [
        ("repeatable/80_comments/schema.sql", State.CHANGED),
        *[(g, State.APPLIED) for g in grants],  # re-applied with any repeatable file
    ]
    assert re.fullmatch(r"re-applied repeatable/80_comments/schema\.sql \(\d+ ms\)", lines[0])
    sql = "SELECT obj_description('reports'::regnamespace, 'pg_namespace') AS c"
    comment = query(contract_db_url, sql)[0]["c"]
    assert comment.startswith("Reports service (edited)")
    row = next(r for r in recorded(contract_db_url) if r["script"] == "repeatable/80_comments/schema.sql")
    assert row["checksum"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert migrate(contract_db_url, progress=quiet).applied == ()


def test_concurrent_runs_both_succeed_and_apply_each_file_once(contract_db_url: str) -> None:
    runs = 3
    barrier = threading.Barrier(runs)
    results: list[MigrationResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(migrate(contract_db_url, progress=quiet))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    applied = sorted(a.script for r in results for a in r.applied)
    assert applied == sorted(f.script for f in discover()), "every file applied by exactly one run"
    assert len(recorded(contract_db_url)) == len(discover())


def test_waits_for_the_advisory_lock_before_the_bootstrap(contract_db_url: str) -> None:
    lines: list[str] = []
    results: list[MigrationResult] = []
    with connect(contract_db_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        thread = threading.Thread(
            target=lambda: results.append(migrate(contract_db_url, progress=lines.append))
        )
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive()
        assert lines == [
            f"waiting for another migration run to finish (advisory lock {ADVISORY_LOCK_KEY}) ..."
        ]
        assert not query(contract_db_url, "SELECT to_regnamespace('reports') IS NOT NULL AS e")[0]["e"]
        holder.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        thread.join(timeout=120)
    assert [a.script for a in results[0].applied] == [f.script for f in discover()]


def test_roles_exist_nologin_with_their_memberships(contract_db_url: str) -> None:
    migrate(contract_db_url, progress=quiet)
    roles = query(
        contract_db_url,
        "SELECT rolname, rolcanlogin, rolpassword IS NULL AS no_password FROM pg_authid "
        "WHERE rolname = ANY(%(r)s) ORDER BY rolname",
        {"r": list(ROLES)},
    )
    assert [r["rolname"] for r in roles] == sorted(ROLES)
    assert all(not r["rolcanlogin"] and r["no_password"] for r in roles)
    members = query(
        contract_db_url,
        "SELECT pg_has_role('reports_admin', 'reports_reader', 'MEMBER') AS admin_reads, "
        "pg_has_role('reports_admin', 'reports_refresher', 'MEMBER') AS admin_refreshes, "
        "pg_has_role('reports_api', 'reports_reader', 'MEMBER') AS api_reads, "
        "pg_has_role('reports_reader', 'reports_refresher', 'MEMBER') AS reader_refreshes",
    )[0]
    assert members == {
        "admin_reads": True,
        "admin_refreshes": True,
        "api_reads": True,
        "reader_refreshes": False,
    }
    usage = query(
        contract_db_url,
        "SELECT bool_and(has_schema_privilege(r, 'reports', 'USAGE')) AS u FROM unnest(%(r)s::text[]) AS r",
        {"r": list(ROLES)},
    )
    assert usage[0]["u"]


def test_public_cannot_execute_functions_in_schema_reports(contract_db_url: str, sql_copy: Path) -> None:
    function = (
        "CREATE OR REPLACE FUNCTION reports.{name}() RETURNS integer LANGUAGE sql\n"
        "SET search_path = pg_catalog AS $$ SELECT 1 $$;\n"
    )
    (sql_copy / "repeatable/40_probe").mkdir()
    (sql_copy / "repeatable/40_probe/first.sql").write_text(function.format(name="probe_first"))
    migrate(contract_db_url, progress=quiet)
    # added after 90_grants was applied: only the default privileges can cover it
    (sql_copy / "repeatable/40_probe/later.sql").write_text(function.format(name="probe_later"))
    grants = [f.script for f in discover() if f.script.startswith(GRANTS_LAYER)]
    assert [a.script for a in migrate(contract_db_url, progress=quiet).applied] == [
        "repeatable/40_probe/later.sql",
        *grants,
    ]
    query(
        contract_db_url,
        "DO $$ BEGIN CREATE ROLE reports_test_nobody NOLOGIN; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    )
    executable = query(
        contract_db_url,
        "SELECT p.oid::regprocedure::text AS f FROM pg_proc AS p "
        "WHERE p.pronamespace = 'reports'::regnamespace "
        "AND has_function_privilege('reports_test_nobody', p.oid, 'EXECUTE') ORDER BY 1",
    )
    assert executable == []
    probes = query(contract_db_url, "SELECT count(*) AS n FROM pg_proc WHERE proname LIKE 'probe\\_%%'")
    assert probes[0]["n"] == 2


def row_counts(url: str) -> dict[str, int]:
    """Rows of every crm and audit table (one count each: no XML functions, which some builds lack)."""
    tables = query(
        url,
        "SELECT n.nspname AS s, c.relname AS t FROM pg_class AS c "
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname IN ('crm', 'audit') AND c.relkind IN ('r', 'p') ORDER BY 1, 2",
    )
    counts = {}
    with connect(url, autocommit=True) as conn:
        for t in tables:
            statement = psql.SQL("SELECT count(*) AS n FROM {}.{}").format(
                psql.Identifier(t["s"]), psql.Identifier(t["t"])
            )
            row = conn.execute(statement).fetchone()
            counts[f"{t['s']}.{t['t']}"] = row["n"] if row else -1
    return counts


def test_migrations_create_nothing_in_crm_or_audit(contract_db_url: str) -> None:
    before = fingerprint(contract_db_url, ["crm", "audit"]), row_counts(contract_db_url)
    assert before[0], "the contract database has crm and audit objects"
    assert before[1] and all(n > 0 for n in before[1].values()), before[1]
    migrate(contract_db_url, progress=quiet)
    assert (fingerprint(contract_db_url, ["crm", "audit"]), row_counts(contract_db_url)) == before


def test_notifies_the_catalog_channel_only_when_something_was_applied(contract_db_url: str) -> None:
    with connect(contract_db_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        migrate(contract_db_url, progress=quiet)
        first = list(listener.notifies(timeout=2, stop_after=1))
        assert [n.channel for n in first] == [NOTIFY_CHANNEL]
        assert first[0].payload.startswith("reports migrate")
        migrate(contract_db_url, progress=quiet)
        assert list(listener.notifies(timeout=0.5)) == []


def test_only_versioned_and_repeatable_files_are_applied(contract_db_url: str, sql_copy: Path) -> None:
    for other in ("dev", "checks"):
        (sql_copy / other).mkdir(exist_ok=True)
        (sql_copy / other / "zz_not_a_migration.sql").write_text("SELEC broken;\n")
    migrate(contract_db_url, progress=quiet)
    assert {r["script"].split("/")[0] for r in recorded(contract_db_url)} == {"versioned", "repeatable"}
    assert BOOTSTRAP not in {r["script"] for r in recorded(contract_db_url)}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("versioned/V12__short_version.sql", "V<4 digits>__<what>.sql"),
        ("versioned/V0002__same_version.sql", "version 2 is also used by versioned/V0002__create_roles.sql"),
        ("repeatable/stray.sql", "repeatable/<NN>_<layer>/<concept>.sql"),
        ("repeatable/ab_layer/x.sql", "repeatable/<NN>_<layer>/<concept>.sql"),
    ],
)
def test_badly_placed_files_are_refused(sql_copy: Path, name: str, expected: str) -> None:
    (sql_copy / name).parent.mkdir(parents=True, exist_ok=True)
    (sql_copy / name).write_text("SELECT 1;\n")
    with pytest.raises(ReportsError, match=re.escape(name)) as caught:
        discover()
    assert expected in str(caught.value)


def test_runner_works_on_a_connection_without_search_path(contract_db_url: str) -> None:
    plain = contract_db_url.split("?")[0]
    migrate(plain, progress=quiet)
    assert len(recorded(contract_db_url)) == len(discover())
    with psycopg.connect(plain) as conn:
        assert conn.execute("SHOW search_path").fetchone() == ('"$user", public',)


GRANTED = """
SELECT has_function_privilege('reports_reader', 'reports.sales_pipeline(bigint)', 'EXECUTE') AS reader,
       has_function_privilege('public', 'reports.sales_pipeline(bigint)', 'EXECUTE') AS public
"""


def test_function_dropped_and_recreated_by_a_repeatable_file_keeps_its_grants(
    contract_db_url: str, sql_copy: Path
) -> None:
    migrate(contract_db_url, progress=quiet)
    assert query(contract_db_url, GRANTED) == [{"reader": True, "public": False}]
    path = sql_copy / "repeatable/60_reports/sales_pipeline.sql"
    path.write_text("DROP FUNCTION IF EXISTS reports.sales_pipeline(bigint);\n" + path.read_text())
    result = migrate(contract_db_url, progress=quiet)
    assert "repeatable/60_reports/sales_pipeline.sql" in [a.script for a in result.applied]
    assert query(contract_db_url, GRANTED) == [{"reader": True, "public": False}]
