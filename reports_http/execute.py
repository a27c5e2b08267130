"""Running a report call: one READ ONLY transaction on a pooled connection, rows from a cursor.

Every call sends, in ONE round trip (libpq's pipeline mode, :mod:`reports_http.pipeline`)::

    BEGIN READ ONLY
    SELECT set_config('statement_timeout', ..., true), reports.set_caller(user, roles),
           reports.api_refreshed_at(<the summaries the report reads>)
    DECLARE reports_rows NO SCROLL CURSOR FOR SELECT * FROM reports.<fn>(p_x => $1, ...)
    MOVE FORWARD <offset> IN reports_rows            -- when paging
    FETCH FORWARD <n> FROM reports_rows               -- a page, or the first batch of a stream
    MOVE FORWARD ALL IN reports_rows; COMMIT          -- a page: the rest is counted, not sent

The function name comes from the catalog (``psycopg.sql.Identifier``), parameter names too, and
values are bound parameters; omitted parameters keep their SQL defaults (named notation). A
stream (:class:`RowStream`) then FETCHes further batches of :data:`BATCH_ROWS` as it is read, so
memory stays flat whatever the result size. A call that fails because its connection was dead
(database restarted) is retried once on a checked connection; database errors propagate as
psycopg exceptions for :mod:`reports_http.errors` to map.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import anyio
import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.pq.abc import PGresult
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from reports_core.catalog import Report
from reports_core.dburl import to_libpq
from reports_core.settings import Settings
from reports_http import pipeline
from reports_http.auth import Caller
from reports_http.context import database_time
from reports_http.errors import is_connection_failure
from reports_http.pipeline import Statement

log = logging.getLogger("reports_http.execute")

Conn = psycopg.Connection[dict[str, Any]]
Row = dict[str, Any]
T = TypeVar("T")

#: Rows per FETCH of a stream.
BATCH_ROWS = 2000
#: Wait for a connection when retrying after a dead one (seconds; the pool's own timeout otherwise).
RETRY_TIMEOUT_S = 1.0

_CONTEXT = b"""
SELECT
    pg_catalog.set_config('statement_timeout', $1, true) AS statement_timeout,
    reports.set_caller($2, $3::text []) AS caller,
    reports.api_refreshed_at($4::text []) AS refreshed_at
"""
_BEGIN = Statement(b"BEGIN READ ONLY")
_COMMIT = Statement(b"COMMIT")
_MOVE_ALL = Statement(b"MOVE FORWARD ALL IN reports_rows")


def make_pool(settings: Settings) -> ConnectionPool[Conn]:
    """The service's pool (not opened): ``REPORTS_POOL_SIZE`` autocommit connections with dict rows."""
    return ConnectionPool(
        to_libpq(settings.require_database_url()),
        min_size=settings.pool_size,
        max_size=settings.pool_size,
        timeout=settings.pool_timeout_s,
        open=False,
        name="reports-api",
        kwargs={"autocommit": True, "row_factory": dict_row, "application_name": "reports-api"},
    )


def report_query(name: str, params: Iterable[str]) -> sql.Composed:
    """``SELECT * FROM reports.<name>(p_x => $1, ...)`` for the given parameter names, in order."""
    args = sql.SQL(", ").join(
        sql.SQL("{} => ${}").format(sql.Identifier(param), sql.SQL(str(number)))
        for number, param in enumerate(params, start=1)
    )
    return sql.SQL("SELECT * FROM reports.{}({})").format(sql.Identifier(name), args)


@functools.lru_cache(maxsize=1024)
def _declare(name: str, params: tuple[str, ...]) -> bytes:
    """``DECLARE reports_rows NO SCROLL CURSOR FOR`` :func:`report_query` (memoized: a report is called
    with few different sets of parameters)."""
    query = sql.SQL("DECLARE reports_rows NO SCROLL CURSOR FOR {}").format(report_query(name, params))
    return query.as_bytes(None)


@dataclass(frozen=True)
class Call:
    """One report call: what, with which parameters (parsed, SQL names), for whom, how long at most."""

    report: Report
    values: Mapping[str, Any]
    caller: Caller
    timeout_ms: int


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    total: int  # rows of the whole result
    refreshed_at: datetime | None  # oldest refresh of the summaries the report reads (None: unknown)


def _fetch_statement(count: int | None) -> Statement:
    return Statement(
        b"FETCH FORWARD %s FROM reports_rows" % (b"ALL" if count is None else str(count).encode())
    )


@dataclass(frozen=True)
class _FirstTrip:
    """The statements that start a call, in one round trip, and where their results are.

    BEGIN READ ONLY; the caller context; DECLARE; MOVE <offset> (when paging); FETCH <count>
    (unless 0: FETCH 0 would re-fetch the current row); then, for a page, MOVE ALL (the rest is
    counted, not sent) and COMMIT."""

    statements: list[Statement]
    moved: int | None  # index of the result of each statement (None: not sent)
    fetched: int | None
    rest: int | None

    CONTEXT = 1  # BEGIN is result 0

    @classmethod
    def of(cls, call: Call, *, offset: int, count: int | None, finish: bool) -> _FirstTrip:
        context = (
            str(call.timeout_ms),
            call.caller.user_id,
            list(call.caller.roles),
            list(call.report.summaries),
        )
        statements = [
            _BEGIN,
            Statement(_CONTEXT, context),
            Statement(_declare(call.report.name, tuple(call.values)), list(call.values.values())),
        ]

        def add(statement: Statement) -> int:
            statements.append(statement)
            return len(statements) - 1

        moved = add(Statement(b"MOVE FORWARD %d IN reports_rows" % offset)) if offset else None
        fetched = add(_fetch_statement(count)) if count != 0 else None
        rest = add(_MOVE_ALL) if finish and count is not None else None
        if finish:
            add(_COMMIT)
        return cls(statements, moved, fetched, rest)

    def run(self, conn: Conn) -> list[PGresult]:
        """The results; after a failure the transaction is rolled back before the error is raised."""
        try:
            return pipeline.run(conn, self.statements)
        except psycopg.Error:
            _discard_transaction(conn)
            raise

    def rows(self, conn: Conn, results: list[PGresult], *, numeric_as_text: bool = False) -> list[Row]:
        if self.fetched is None:
            return []
        return pipeline.load_rows(conn, results[self.fetched], numeric_as_text=numeric_as_text)

    def total(self, results: list[PGresult], fetched: int) -> int:
        """Rows of the whole result (a finished page): skipped + sent + counted."""
        counted = [results[i].command_tuples for i in (self.moved, self.rest) if i is not None]
        return fetched + sum(n or 0 for n in counted)

    def page(self, conn: Conn, results: list[PGresult]) -> Page:
        """The page of a finished trip: its rows, the total and the refresh time."""
        rows = self.rows(conn, results, numeric_as_text=True)  # only rendered as JSON
        return Page(rows, self.total(results, len(rows)), self.refreshed_at(conn, results))

    def refreshed_at(self, conn: Conn, results: list[PGresult]) -> datetime | None:
        context = pipeline.load_rows(conn, results[self.CONTEXT])
        return context[0]["refreshed_at"] if context else None


def _with_retry(pool: ConnectionPool[Conn], work: Callable[[float | None], T]) -> T:
    """``work(timeout)``; once more after a dead connection, with the pool's idle connections checked.
    The time is the request's database time (``Server-Timing: db``)."""
    with database_time():
        try:
            return work(None)
        except psycopg.OperationalError as exc:
            if isinstance(exc, PoolTimeout) or not is_connection_failure(exc):
                raise  # the pool already waited for a connection
            reason = " ".join(str(exc).split())
            log.info("connection failed (%s): checking the pool and retrying once", reason)
            pool.check()
            return work(min(RETRY_TIMEOUT_S, pool.timeout))


def fetch_page(pool: ConnectionPool[Conn], call: Call, *, limit: int | None, offset: int) -> Page:
    """Rows ``offset`` to ``offset + limit`` (None: all) of the call, and how many rows it has in all."""

    def work(timeout: float | None) -> Page:
        with pool.connection(timeout) as conn:
            trip = _FirstTrip.of(call, offset=offset, count=limit, finish=True)
            return trip.page(conn, trip.run(conn))

    return _with_retry(pool, work)


#: Rows a result may have for the event loop to load and render them itself (more: a worker thread does).
ROWS_ON_LOOP = 500


#: How long :func:`idle_connection` may wait (psycopg_pool refuses a zero timeout outright).
IDLE_WAIT_S = 0.0005


def idle_connection(pool: ConnectionPool[Conn]) -> Conn | None:
    """A connection of the pool if one is idle now, else None, for the event loop: it waits at most
    :data:`IDLE_WAIT_S`, and only when another thread took the last idle one since the check."""
    if not pool.get_stats().get("pool_available"):
        return None
    try:
        return pool.getconn(timeout=IDLE_WAIT_S)
    except PoolTimeout:
        return None


async def fetch_page_on_loop(
    pool: ConnectionPool[Conn], call: Call, *, limit: int | None, offset: int
) -> Page | None:
    """:func:`fetch_page` without a worker thread: on a connection that is idle now, waiting on the event
    loop (a page of more than :data:`ROWS_ON_LOOP` rows is loaded in a worker thread). None when no
    connection is idle or the one taken was dead: the caller then uses :func:`fetch_page`, which waits for
    a connection and retries. Database errors are raised."""
    conn = idle_connection(pool)
    if conn is None:
        return None
    trip = _FirstTrip.of(call, offset=offset, count=limit, finish=True)
    try:
        with database_time():
            results = await pipeline.run_async(conn, trip.statements)
        if trip.fetched is not None and results[trip.fetched].ntuples > ROWS_ON_LOOP:
            return await anyio.to_thread.run_sync(trip.page, conn, results)
        return trip.page(conn, results)
    except psycopg.Error as exc:
        if conn.closed or is_connection_failure(exc):
            log.info("connection failed (%s): retrying through the pool", " ".join(str(exc).split()))
            return None
        await _discard_transaction_async(conn)
        raise
    finally:
        pool.putconn(conn)  # never blocks: the connection is idle, rolled back (above) or closed


async def _discard_transaction_async(conn: Conn) -> None:
    if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
        with contextlib.suppress(psycopg.Error):  # a broken connection: the pool discards it
            await pipeline.run_async(conn, [Statement(b"ROLLBACK")])


class RowStream:
    """The rows of a call, read from its cursor batch by batch; iterate once; ``close`` always (idempotent,
    thread-safe: a response whose client went away closes it from another thread)."""

    def __init__(
        self,
        pool: ConnectionPool[Conn],
        conn: Conn,
        first: list[Row],
        refreshed_at: datetime | None,
        limit: int | None,
    ) -> None:
        self._pool, self._conn = pool, conn
        self._first = first
        self._left = None if limit is None else limit - len(first)
        self._lock = threading.Lock()
        self.refreshed_at = refreshed_at

    def __iter__(self) -> Iterator[Row]:
        try:
            batch, self._first = self._first, []
            while batch:
                yield from batch
                batch = self._next_batch(len(batch))
        finally:
            self.close()

    def _next_batch(self, previous: int) -> list[Row]:
        with self._lock:
            count = BATCH_ROWS if self._left is None else min(BATCH_ROWS, self._left)
            if self._conn is None or previous < BATCH_ROWS or count <= 0:
                return []
            [fetched] = pipeline.run(self._conn, [_fetch_statement(count)])
            rows = pipeline.load_rows(self._conn, fetched)
            if self._left is not None:
                self._left -= len(rows)
            return rows

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.rollback()  # a read-only transaction: nothing to keep
        except psycopg.Error as exc:
            log.warning("closing a report stream failed: %s", " ".join(str(exc).split()))
        finally:
            self._pool.putconn(conn)


def open_stream(pool: ConnectionPool[Conn], call: Call, *, limit: int | None, offset: int) -> RowStream:
    """Start the call and read its first batch (so its errors come before any byte is sent)."""

    def work(timeout: float | None) -> RowStream:
        conn = pool.getconn(timeout)
        try:
            count = BATCH_ROWS if limit is None else min(BATCH_ROWS, limit)
            trip = _FirstTrip.of(call, offset=offset, count=count, finish=False)
            results = trip.run(conn)
            return RowStream(pool, conn, trip.rows(conn, results), trip.refreshed_at(conn, results), limit)
        except BaseException:
            _discard_transaction(conn)
            pool.putconn(conn)
            raise

    return _with_retry(pool, work)


def _discard_transaction(conn: Conn) -> None:
    try:
        if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
            conn.rollback()
    except psycopg.Error:
        pass  # a broken connection: the pool discards it
