"""reports_http.pipeline: statements sent through libpq's pipeline mode give what psycopg's ordinary
``execute`` gives (same bound values, same loaded types), errors carry their SQLSTATE, and the connection is
left usable (or closed) whatever happens."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from numeric_samples import NUMERIC_TEXTS
from psycopg import pq

from reports_core.db import connect
from reports_http import pipeline
from reports_http.pipeline import Statement

VALUES: list[Any] = [
    7,
    2**40,
    -(2**63),
    Decimal("12.50"),
    Decimal("-0.0001"),
    dt.date(2026, 2, 28),
    dt.datetime(2026, 1, 31, 9, 30, tzinfo=dt.UTC),
    "plain",
    'é "quoted" \\ and\nnewline',
    ["admin", "head,with comma", 'say "hi"'],
    True,
    None,
]


@pytest.fixture
def conn(empty_db_url: str) -> Any:
    with connect(empty_db_url, autocommit=True) as conn:
        yield conn


def test_values_round_trip_as_through_psycopg_execute(conn: psycopg.Connection[Any]) -> None:
    columns = [f"c{n}" for n in range(1, len(VALUES) + 1)]
    casts = ["::text[]" if isinstance(v, list) else "" for v in VALUES]  # else a list is an untyped literal
    query = "SELECT " + ", ".join(
        f"${n}{cast} AS {c}" for n, (c, cast) in enumerate(zip(columns, casts, strict=True), 1)
    )
    [result] = pipeline.run(conn, [Statement(query.encode(), VALUES)])
    [row] = pipeline.load_rows(conn, result)
    ordinary_query = "SELECT " + ", ".join(f"%s{cast} AS {c}" for c, cast in zip(columns, casts, strict=True))
    ordinary = conn.execute(ordinary_query, VALUES).fetchone()
    assert row == ordinary
    assert list(row) == columns
    assert list(row.values()) == VALUES


def test_numeric_as_text_gives_the_servers_digits_and_leaves_other_types_alone(
    conn: psycopg.Connection[Any],
) -> None:
    query = (
        "SELECT v::numeric AS n, v::numeric::text AS server_text, ARRAY[1.50, 2]::numeric[] AS arr, 7 AS i"
        " FROM unnest($1::text[]) WITH ORDINALITY AS t (v, k) ORDER BY k"
    )
    [result] = pipeline.run(conn, [Statement(query.encode(), [NUMERIC_TEXTS])])
    as_text = pipeline.load_rows(conn, result, numeric_as_text=True)
    as_decimal = pipeline.load_rows(conn, result)
    assert [r["n"] for r in as_text] == [r["server_text"] for r in as_text]
    assert all(type(r["n"]) is str for r in as_text)
    assert [Decimal(r["n"]) for r in as_text[:4]] == [r["n"] for r in as_decimal[:4]]
    assert all(r["arr"] == [Decimal("1.50"), Decimal("2")] and r["i"] == 7 for r in as_text)


def test_results_come_back_in_order_with_their_counts(conn: psycopg.Connection[Any]) -> None:
    statements = [
        Statement(b"BEGIN READ ONLY"),
        Statement(b"DECLARE c NO SCROLL CURSOR FOR SELECT g FROM generate_series(1, $1::int) AS g", [5000]),
        Statement(b"MOVE FORWARD 10 IN c"),
        Statement(b"FETCH FORWARD 2500 FROM c"),
        Statement(b"MOVE FORWARD ALL IN c"),
        Statement(b"COMMIT"),
    ]
    results = pipeline.run(conn, statements)
    assert len(results) == len(statements)
    assert results[2].command_tuples == 10
    assert [r["g"] for r in pipeline.load_rows(conn, results[3])] == list(range(11, 2511))
    assert results[4].command_tuples == 5000 - 10 - 2500
    assert conn.pgconn.pipeline_status == pq.PipelineStatus.OFF
    assert conn.info.transaction_status == pq.TransactionStatus.IDLE


def test_a_failing_statement_raises_its_sqlstate_and_stops_the_rest(conn: psycopg.Connection[Any]) -> None:
    conn.execute("CREATE TEMPORARY TABLE pipeline_marks (n int)")
    statements = [
        Statement(b"BEGIN"),
        Statement(b"INSERT INTO pipeline_marks VALUES (1)"),
        Statement(b"SELECT 1 / $1::int", [0]),
        Statement(b"INSERT INTO pipeline_marks VALUES (2)"),
    ]
    with pytest.raises(psycopg.errors.DivisionByZero) as raised:
        pipeline.run(conn, statements)
    assert raised.value.sqlstate == "22012"
    assert conn.pgconn.pipeline_status == pq.PipelineStatus.OFF
    assert conn.info.transaction_status == pq.TransactionStatus.INERROR
    conn.rollback()
    assert conn.execute("SELECT count(*) AS n FROM pipeline_marks").fetchone() == {"n": 0}


def test_an_error_without_a_transaction_leaves_the_connection_idle(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.UndefinedFunction):
        pipeline.run(conn, [Statement(b"SELECT no_such_function()")])
    assert conn.info.transaction_status == pq.TransactionStatus.IDLE
    assert conn.execute("SELECT 41 + 1 AS n").fetchone() == {"n": 42}


def test_a_broken_connection_raises_operational_error_and_is_closed(
    conn: psycopg.Connection[Any], empty_db_url: str
) -> None:
    pid = conn.info.backend_pid
    with connect(empty_db_url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(psycopg.OperationalError):
        pipeline.run(conn, [Statement(b"SELECT 1"), Statement(b"SELECT 2")])
    assert conn.closed


def test_run_async_gives_what_run_gives(conn: psycopg.Connection[Any]) -> None:
    statements = [
        Statement(b"BEGIN READ ONLY"),
        Statement(b"SELECT g, g::text || $1 AS label FROM generate_series(1, 3000) AS g", ["x"]),
        Statement(b"COMMIT"),
    ]
    blocking = pipeline.load_rows(conn, pipeline.run(conn, statements)[1])
    on_the_loop = pipeline.load_rows(conn, asyncio.run(pipeline.run_async(conn, statements))[1])
    assert on_the_loop == blocking
    assert [row["label"] for row in on_the_loop[:2]] == ["1x", "2x"]
    with pytest.raises(psycopg.errors.DivisionByZero):
        asyncio.run(pipeline.run_async(conn, [Statement(b"SELECT 1 / 0")]))
    assert conn.execute("SELECT 1 AS n").fetchone() == {"n": 1}


def test_run_async_cancelled_while_waiting_closes_the_connection(conn: psycopg.Connection[Any]) -> None:
    async def cancelled() -> None:
        task = asyncio.create_task(pipeline.run_async(conn, [Statement(b"SELECT pg_sleep(5)")]))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled())
    assert conn.closed  # results were left unread: not reusable, so the pool would replace it
