"""Several statements in one round trip: libpq's pipeline mode, driven directly.

A report call is six short statements (:mod:`reports_http.execute`). psycopg's own pipeline
(``Connection.pipeline()``) sends them in one round trip too, but its bookkeeping costs about
0.1 ms of client CPU per statement; sending them with ``PGconn.send_query_params`` and reading
the ``PGresult`` objects back costs about a sixth of that (``docs/benchmarks.md``, HTTP API). Values
are still bound parameters, dumped by psycopg's own adapters (:class:`psycopg.adapt.Transformer`,
exactly as ``Connection.execute`` dumps them), and rows are loaded by its loaders, so types and
values are the same as through the ordinary API.

:func:`run` waits for the server by blocking (in a worker thread), :func:`run_async` on the event
loop. Both leave the connection out of pipeline mode with every result read, or closed when they
could not read them all (the pool then replaces it). A statement that fails raises its
:class:`psycopg.Error` (SQLSTATE and diagnostics as psycopg gives them) once the whole pipeline
has been read: the statements after it were not run, and a transaction the pipeline opened is
left aborted for the caller to roll back. A connection that breaks raises :class:`psycopg.OperationalError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.errors import error_from_result

#: What the exchange waits for: the socket readable or writable.
READ, WRITE = select.POLLIN, select.POLLOUT

Exchange = Generator[int, None, list[pq.abc.PGresult]]


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a pipeline: SQL with ``$1, $2, ...`` placeholders and their values."""

    query: bytes
    params: Sequence[Any] = ()


def _send(pgconn: pq.abc.PGconn, tx: Transformer, statements: Sequence[Statement]) -> None:
    for statement in statements:
        if statement.params:
            values = tx.dump_sequence(statement.params, [PyFormat.AUTO] * len(statement.params))
            pgconn.send_query_params(statement.query, values, tx.types, tx.formats)
        else:
            pgconn.send_query_params(statement.query, None)
    pgconn.pipeline_sync()


def _exchange(pgconn: pq.abc.PGconn, tx: Transformer, statements: Sequence[Statement]) -> Exchange:
    """Send the statements and read every result up to the pipeline's sync; yields what to wait for."""
    pgconn.enter_pipeline_mode()
    try:
        _send(pgconn, tx, statements)
        while pgconn.flush():
            yield WRITE
        results: list[pq.abc.PGresult] = []
        while True:
            while pgconn.is_busy():
                yield READ
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:
                continue  # the end of one statement's results
            if result.status == pq.ExecStatus.PIPELINE_SYNC:
                return results
            results.append(result)
    finally:
        if pgconn.status == pq.ConnStatus.OK and pgconn.pipeline_status != pq.PipelineStatus.OFF:
            with contextlib.suppress(psycopg.OperationalError):  # results left unread: closed below
                pgconn.exit_pipeline_mode()
        if pgconn.pipeline_status != pq.PipelineStatus.OFF:
            pgconn.finish()  # half-read: unusable; the pool discards a closed connection


def _checked(results: list[pq.abc.PGresult], encoding: str) -> list[pq.abc.PGresult]:
    for result in results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise error_from_result(result, encoding=encoding)
    return results


def run(conn: psycopg.Connection[Any], statements: Sequence[Statement]) -> list[pq.abc.PGresult]:
    """The statements' results, in order (one per statement), waiting by blocking."""
    pgconn = conn.pgconn
    exchange = _exchange(pgconn, Transformer(conn), statements)
    poller = select.poll()
    poller.register(pgconn.socket, READ)
    try:
        event = next(exchange)
        while True:
            poller.modify(pgconn.socket, event)
            poller.poll()
            event = exchange.send(None)
    except StopIteration as done:
        return _checked(done.value, conn.info.encoding)
    finally:
        exchange.close()


async def run_async(conn: psycopg.Connection[Any], statements: Sequence[Statement]) -> list[pq.abc.PGresult]:
    """As :func:`run`, waiting on the running event loop instead of blocking (the connection is the
    caller's alone: nothing else may use it meanwhile). Cancelled while waiting, the connection is
    closed unless it was left clean."""
    pgconn = conn.pgconn
    loop = asyncio.get_running_loop()
    exchange = _exchange(pgconn, Transformer(conn), statements)
    try:
        event = next(exchange)
        while True:
            ready = loop.create_future()
            fd = pgconn.socket
            watch, unwatch = (
                (loop.add_reader, loop.remove_reader)
                if event == READ
                else (loop.add_writer, loop.remove_writer)
            )
            watch(fd, ready.set_result, None)
            try:
                await ready
            finally:
                unwatch(fd)
            event = exchange.send(None)
    except StopIteration as done:
        return _checked(done.value, conn.info.encoding)
    finally:
        exchange.close()


#: OIDs of ``numeric`` and ``text`` (``pg_type``).
NUMERIC_OID, TEXT_OID = 1700, 25


def load_rows(
    conn: psycopg.Connection[Any], result: pq.abc.PGresult, *, numeric_as_text: bool = False
) -> list[dict[str, Any]]:
    """The rows of a result as dicts by column name, loaded by psycopg's loaders (as ``dict_row``).

    With ``numeric_as_text``, ``numeric`` columns of a text-format result come as the server's
    text (``12.50``, ``NaN``: the exact digits, which is all JSON needs) instead of a ``Decimal``.
    """
    tx = Transformer(conn)
    tx.set_pgresult(result)
    if numeric_as_text:
        types = [result.ftype(i) for i in range(result.nfields)]
        if NUMERIC_OID in types and all(result.fformat(i) == pq.Format.TEXT for i in range(result.nfields)):
            tx.set_loader_types([TEXT_OID if t == NUMERIC_OID else t for t in types], pq.Format.TEXT)
    encoding = conn.info.encoding
    names = [(result.fname(i) or b"").decode(encoding) for i in range(result.nfields)]
    rows: list[dict[str, Any]] = tx.load_rows(
        0, result.ntuples, lambda values: dict(zip(names, values, strict=True))
    )
    return rows
