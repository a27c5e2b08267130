"""scripts/migrate-local.sh, the psql-only twin of `reports migrate`, against a real PostgreSQL.

Either runner after the other must be a no-op: same files, order, checksums, table and lock.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reports_core.db import connect
from reports_core.errors import ReportsError
from reports_core.migrate import ADVISORY_LOCK_KEY, GRANTS_LAYER, MigrationResult, discover, migrate
from reports_core.paths import PROJECT_ROOT, sql_dir

SCRIPT = PROJECT_ROOT / "scripts" / "migrate-local.sh"

# Catalog of schema reports (shape, ACLs, comments, function bodies) and the default privileges.
CATALOG = """
SELECT 'relation' AS kind, c.oid::regclass::text AS name,
       concat_ws(' ', c.relkind, c.relacl::text, obj_description(c.oid, 'pg_class')) AS detail
FROM pg_class AS c WHERE c.relnamespace = to_regnamespace('reports')
UNION ALL
SELECT 'column', a.attrelid::regclass::text || '.' || a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
WHERE c.relnamespace = to_regnamespace('reports') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'function', p.oid::regprocedure::text, concat_ws(' ', p.proacl::text, md5(p.prosrc), p.proconfig::text)
FROM pg_proc AS p WHERE p.pronamespace = to_regnamespace('reports')
UNION ALL
SELECT 'schema', n.nspname, concat_ws(' ', n.nspacl::text, obj_description(n.oid, 'pg_namespace'))
FROM pg_namespace AS n WHERE n.nspname = 'reports'
UNION ALL
SELECT 'default acl', d.defaclrole::regrole::text || ' ' || d.defaclobjtype::text, d.defaclacl::text
FROM pg_default_acl AS d
ORDER BY 1, 2, 3
"""


def query(url: str, sql: str) -> list[dict[str, Any]]:
    with connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def recorded(url: str) -> list[dict[str, Any]]:
    if not query(url, "SELECT to_regclass('reports.schema_migrations') IS NOT NULL AS e")[0]["e"]:
        return []
    return query(url, "SELECT * FROM reports.schema_migrations ORDER BY script")


def state(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return query(url, CATALOG), recorded(url)


def relation_exists(url: str, name: str) -> bool:
    return bool(query(url, f"SELECT to_regclass('{name}') IS NOT NULL AS e")[0]["e"])


def quiet(_: str) -> None:
    pass


def clean_env(url: str | None, sql: Path | None = None) -> dict[str, str]:
    """Only PATH, HOME, USER, the locale and what the test gives."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "USER", "LANG", "LC_ALL")}
    if url is not None:
        env["REPORTS_DATABASE_URL"] = url
    if sql is not None:
        env["REPORTS_SQL_DIR"] = str(sql)
    return env


def run_local(
    url: str | None, *args: str, cwd: Path, sql: Path | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the twin in ``cwd`` with a clean environment."""
    proc = subprocess.run(
        ["bash", str(SCRIPT), *args],
        cwd=cwd,
        env=clean_env(url, sql),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def sql_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "sql"
    shutil.copytree(sql_dir(), target)
    monkeypatch.setenv("REPORTS_SQL_DIR", str(target))
    return target


@pytest.fixture
def second_db_url(pg_server: Any) -> Iterator[str]:
    """Another fresh database with the dev source contract (no demo data)."""
    name = f"contract_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name)
    contract = PROJECT_ROOT / "sql" / "dev" / "source_contract.sql"
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url.split("?")[0], "-f", str(contract)],
        capture_output=True,
        check=True,
    )
    try:
        yield url
    finally:
        pg_server.drop_database(name)


def add_versioned(root: Path, what: str, text: str) -> str:
    script = f"versioned/V{max(f.version or 0 for f in discover()) + 1:04d}__{what}.sql"
    (root / script).write_text(text)
    return script


def sha256sum(path: Path) -> str:
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True).stdout
    return out.split()[0]


def test_twin_applies_everything_then_python_is_a_noop(
    contract_db_url: str, second_db_url: str, tmp_path: Path
) -> None:
    assert "?search_path=reports" in contract_db_url
    proc = run_local(contract_db_url, cwd=tmp_path, check=True)
    files = discover()
    for f in files:
        assert re.search(rf"^applied {re.escape(f.script)} \(\d+ ms\)$", proc.stdout, re.M), f.script
    assert proc.stdout.splitlines()[-1] == f"applied {len(files)} files (0 up to date)"
    rows = {r["script"]: r for r in recorded(contract_db_url)}
    assert list(rows) == sorted(f.script for f in files)
    for f in files:
        path = sql_dir() / f.script
        assert rows[f.script]["checksum"] == hashlib.sha256(path.read_bytes()).hexdigest() == sha256sum(path)
        assert (rows[f.script]["kind"], rows[f.script]["version"]) == (str(f.kind), f.version)
        assert re.fullmatch(r"migrate-local\.sh \(.+\)", rows[f.script]["runner"])
        assert rows[f.script]["applied_by"] == "postgres"
    applied_order = sorted(rows.values(), key=lambda r: r["applied_at"])
    assert [r["script"] for r in applied_order] == [f.script for f in files]

    before = state(contract_db_url)
    assert migrate(contract_db_url, progress=quiet) == MigrationResult((), len(files), False)
    assert state(contract_db_url) == before
    # and the result is the same database the Python runner builds
    migrate(second_db_url, progress=quiet)
    assert query(second_db_url, CATALOG) == before[0]


def test_python_then_twin_is_a_noop(contract_db_url: str, tmp_path: Path) -> None:
    migrate(contract_db_url, progress=quiet)
    before = state(contract_db_url)
    proc = run_local(contract_db_url, cwd=tmp_path, check=True)
    assert proc.stdout == f"nothing to apply: {len(discover())} files up to date\n"
    assert state(contract_db_url) == before


def test_changed_repeatable_file_is_reapplied_by_the_twin(
    contract_db_url: str, sql_copy: Path, tmp_path: Path
) -> None:
    migrate(contract_db_url, progress=quiet)
    path = sql_copy / "repeatable/80_comments/schema.sql"
    path.write_text(path.read_text().replace("Reports service of the CRM", "Reports service (twin)"))
    proc = run_local(contract_db_url, cwd=tmp_path, sql=sql_copy, check=True)
    assert re.match(r"re-applied repeatable/80_comments/schema\.sql \(\d+ ms\)\n", proc.stdout)
    comment = query(contract_db_url, "SELECT obj_description('reports'::regnamespace, 'pg_namespace') AS c")
    assert comment[0]["c"].startswith("Reports service (twin)")
    row = next(r for r in recorded(contract_db_url) if r["script"] == "repeatable/80_comments/schema.sql")
    assert row["checksum"] == sha256sum(path)
    assert migrate(contract_db_url, progress=quiet).applied == ()


def test_modified_versioned_file_is_refused_with_nothing_changed(
    contract_db_url: str, sql_copy: Path, tmp_path: Path
) -> None:
    run_local(contract_db_url, cwd=tmp_path, sql=sql_copy, check=True)
    with (sql_copy / "versioned/V0002__create_roles.sql").open("a") as fh:
        fh.write("-- edited after release\n")
    add_versioned(sql_copy, "after_edit", "CREATE TABLE reports.after_edit (id integer);\n")
    before = state(contract_db_url)
    proc = run_local(contract_db_url, cwd=tmp_path, sql=sql_copy)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith(
        "error: refusing to migrate: versioned file versioned/V0002__create_roles.sql "
    )
    assert state(contract_db_url) == before
    assert not relation_exists(contract_db_url, "reports.after_edit")


def test_failing_file_is_rolled_back_and_named(contract_db_url: str, sql_copy: Path, tmp_path: Path) -> None:
    run_local(contract_db_url, cwd=tmp_path, sql=sql_copy, check=True)
    script = add_versioned(
        sql_copy, "broken", "CREATE TABLE reports.broken_probe (id integer);\n\n-- then\nSELEC 1;\n"
    )
    before = state(contract_db_url)
    proc = run_local(contract_db_url, cwd=tmp_path, sql=sql_copy)
    assert proc.returncode == 1
    assert proc.stderr == (
        f'error: failed to apply {script} line 4: SQLSTATE 42601: syntax error at or near "SELEC" '
        "(rolled back: nothing of this file was applied)\n"
    )
    assert not relation_exists(contract_db_url, "reports.broken_probe")
    assert state(contract_db_url) == before


def test_dry_run_changes_nothing(empty_db_url: str, tmp_path: Path) -> None:
    before = state(empty_db_url)
    proc = run_local(empty_db_url, "--dry-run", cwd=tmp_path, check=True)
    files = discover()
    assert proc.stdout.splitlines() == [
        *(f"would apply {f.script}" for f in files),
        f"would apply {len(files)} files (0 up to date)",
    ]
    assert state(empty_db_url) == before
    assert not query(empty_db_url, "SELECT to_regnamespace('reports') IS NOT NULL AS e")[0]["e"]


def test_reads_dotenv_without_overriding_the_environment(contract_db_url: str, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f'# local settings\nexport REPORTS_DATABASE_URL="{contract_db_url}"\n')
    run_local(None, cwd=tmp_path, check=True)
    assert len(recorded(contract_db_url)) == len(discover())
    unreachable = re.sub(r":\d+/", ":1/", contract_db_url)
    proc = run_local(unreachable, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: cannot check the server version: connection to server")
    assert len(proc.stderr.splitlines()) == 1


def test_missing_url_is_a_one_line_error(tmp_path: Path) -> None:
    proc = run_local(None, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: REPORTS_DATABASE_URL is not set")
    assert len(proc.stderr.splitlines()) == 1
    assert run_local("mysql://h/db", cwd=tmp_path).returncode == 2


def test_twin_waits_for_the_lock_held_by_another_run(contract_db_url: str, tmp_path: Path) -> None:
    with connect(contract_db_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        proc = subprocess.Popen(
            ["bash", str(SCRIPT)],
            cwd=tmp_path,
            env=clean_env(contract_db_url),
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(1.5)
            assert proc.poll() is None, "the twin must wait for the advisory lock"
            assert not query(contract_db_url, "SELECT to_regnamespace('reports') IS NOT NULL AS e")[0]["e"]
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert out.splitlines()[-1] == f"applied {len(discover())} files (0 up to date)"


def test_twin_and_python_at_the_same_time_apply_each_file_once(contract_db_url: str, tmp_path: Path) -> None:
    barrier = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def python_run() -> None:
        barrier.wait()
        try:
            outcome["python"] = migrate(contract_db_url, progress=quiet)
        except Exception as exc:
            outcome["python"] = exc

    thread = threading.Thread(target=python_run)
    thread.start()
    barrier.wait()
    proc = run_local(contract_db_url, cwd=tmp_path)
    thread.join(timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert isinstance(outcome["python"], MigrationResult), outcome["python"]
    by_twin = re.findall(r"^(?:re-)?applied (\S+) \(\d+ ms\)$", proc.stdout, re.M)
    by_python = [a.script for a in outcome["python"].applied]
    # Every file once; the grants files once or twice: a runner that applied any repeatable file
    # re-applies the grants after it, so both do when the other took the lock between two files.
    applied = Counter(by_twin + by_python)
    grants = {f.script for f in discover() if f.script.startswith(GRANTS_LAYER)}
    assert set(applied) == {f.script for f in discover()}
    assert all(n == 1 for script, n in applied.items() if script not in grants), applied
    assert all(applied[g] in (1, 2) for g in grants) and len({applied[g] for g in grants}) == 1, applied
    assert len(recorded(contract_db_url)) == len(discover())


def test_twin_keeps_the_grants_of_a_function_dropped_and_recreated(
    contract_db_url: str, sql_copy: Path, tmp_path: Path
) -> None:
    granted = (
        "SELECT has_function_privilege('reports_reader', 'reports.sales_pipeline(bigint)', 'EXECUTE') AS ok"
    )
    run_local(contract_db_url, cwd=tmp_path, sql=sql_copy, check=True)
    path = sql_copy / "repeatable/60_reports/sales_pipeline.sql"
    path.write_text("DROP FUNCTION IF EXISTS reports.sales_pipeline(bigint);\n" + path.read_text())
    proc = run_local(contract_db_url, cwd=tmp_path, sql=sql_copy, check=True)
    assert "re-applied repeatable/60_reports/sales_pipeline.sql" in proc.stdout
    assert "re-applied repeatable/90_grants/grants.sql" in proc.stdout
    assert query(contract_db_url, granted) == [{"ok": True}]
    assert migrate(contract_db_url, progress=quiet).applied == ()


def test_both_runners_refuse_an_applied_versioned_file_missing_from_sql(
    contract_db_url: str, sql_copy: Path, tmp_path: Path
) -> None:
    run_local(contract_db_url, cwd=tmp_path, sql=sql_copy, check=True)
    versioned = sorted((sql_copy / "versioned").glob("V*.sql"))
    gone = versioned[len(versioned) // 2]
    gone.unlink()
    (sql_copy / "versioned" / "V9999__after_the_gap.sql").write_text(
        "CREATE TABLE reports.after_gap (id int);\n"
    )
    script = f"versioned/{gone.name}"
    before = state(contract_db_url)
    refusal = (
        f"error: refusing to migrate: versioned file {script} is recorded as applied but missing from sql/; "
        "restore it from version control (applied history is never deleted); nothing was applied\n"
    )
    for flags in ([], ["--dry-run"]):
        proc = run_local(contract_db_url, *flags, cwd=tmp_path, sql=sql_copy)
        assert (proc.returncode, proc.stderr, proc.stdout) == (1, refusal, "")
    for dry_run in (False, True):
        with pytest.raises(ReportsError) as caught:
            migrate(contract_db_url, dry_run=dry_run, progress=quiet)
        assert f"error: {caught.value}\n" == refusal
    assert state(contract_db_url) == before
    assert not relation_exists(contract_db_url, "reports.after_gap")


def test_a_repeatable_file_missing_from_sql_is_a_warning_of_both_runners(
    contract_db_url: str, sql_copy: Path, tmp_path: Path
) -> None:
    run_local(contract_db_url, cwd=tmp_path, sql=sql_copy, check=True)
    (sql_copy / "repeatable/80_comments/schema.sql").unlink()
    warning = (
        "warning: repeatable/80_comments/schema.sql is recorded as applied but no longer exists "
        "(its objects stay until a file drops them)"
    )
    proc = run_local(contract_db_url, cwd=tmp_path, sql=sql_copy, check=True)
    assert proc.stderr.splitlines() == [warning]
    lines: list[str] = []
    migrate(contract_db_url, progress=lines.append)
    assert warning in lines
