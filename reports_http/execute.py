"""Running a report call: one READ ONLY transaction on a pooled connection, rows from a cursor.

Every call sends, in ONE round trip (psycopg pipeline mode)::

    BEGIN READ ONLY
    SELECT set_config('statement_timeout', ..., true), reports.set_caller(user, roles), <data age>
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

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from reports_cli.dburl import to_libpq
from reports_cli.settings import Settings
from reports_http.auth import Caller
from reports_http.catalog import Report
from reports_http.context import database_time
from reports_http.errors import is_connection_failure

log = logging.getLogger("reports_http.execute")

Conn = psycopg.Connection[dict[str, Any]]
Row = dict[str, Any]
T = TypeVar("T")

#: Rows per FETCH of a stream.
BATCH_ROWS = 2000
#: Wait for a connection when retrying after a dead one (seconds; the pool's own timeout otherwise).
RETRY_TIMEOUT_S = 1.0
CURSOR = sql.Identifier("reports_rows")
_MOVE_ALL = sql.SQL("MOVE FORWARD ALL IN {}").format(CURSOR)

_CONTEXT = """
SELECT
    pg_catalog.set_config('statement_timeout', %(timeout)s, true) AS statement_timeout,
    reports.set_caller(%(user_id)s, %(roles)s::text []) AS caller,
    (
        SELECT CASE WHEN bool_and(v.refreshed_at IS NOT NULL) THEN pg_catalog.min(v.refreshed_at) END
        FROM reports.api_data_versions() AS v
        WHERE v.summary = ANY(%(summaries)s::text [])
    ) AS refreshed_at
"""


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


def report_query(report: Report, values: Mapping[str, Any]) -> sql.Composed:
    """``SELECT * FROM reports.<fn>(p_x => %s, ...)`` for the given parameters, in ``values`` order."""
    args = sql.SQL(", ").join(sql.SQL("{} => %s").format(sql.Identifier(name)) for name in values)
    return sql.SQL("SELECT * FROM reports.{}({})").format(sql.Identifier(report.name), args)


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


def _begin(conn: Conn, call: Call, offset: int) -> tuple[psycopg.Cursor[Row], psycopg.Cursor[Row] | None]:
    """Queue BEGIN, the caller context, DECLARE and MOVE <offset> (in a pipeline); the context and MOVE
    cursors."""
    conn.execute("BEGIN READ ONLY")
    context = conn.execute(
        _CONTEXT,
        {
            "timeout": str(call.timeout_ms),
            "user_id": call.caller.user_id,
            "roles": list(call.caller.roles),
            "summaries": list(call.report.summaries),
        },
    )
    declare = sql.SQL("DECLARE {} NO SCROLL CURSOR FOR ").format(CURSOR)
    declare += report_query(call.report, call.values)
    conn.execute(declare, list(call.values.values()), prepare=False)
    if offset == 0:  # MOVE 0 would stay on the current row
        return context, None
    move = sql.SQL("MOVE FORWARD {} IN {}").format(sql.Literal(offset), CURSOR)
    return context, conn.execute(move, prepare=False)


def _fetch(conn: Conn, count: int | None) -> psycopg.Cursor[Row] | None:
    if count == 0:  # FETCH 0 would re-fetch the current row
        return None
    how = sql.SQL("ALL") if count is None else sql.Literal(count)
    return conn.execute(sql.SQL("FETCH FORWARD {} FROM {}").format(how, CURSOR), prepare=False)


def _refreshed_at(context: psycopg.Cursor[Row]) -> datetime | None:
    row = context.fetchone()
    return row["refreshed_at"] if row else None


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
            with conn.pipeline():
                context, moved = _begin(conn, call, offset)
                fetched = _fetch(conn, limit)
                rest = None if limit is None else conn.execute(_MOVE_ALL)
                conn.execute("COMMIT")
            rows = fetched.fetchall() if fetched else []
            total = (moved.rowcount if moved else 0) + len(rows) + (rest.rowcount if rest else 0)
            return Page(rows, total, _refreshed_at(context))

    return _with_retry(pool, work)


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
            cursor = _fetch(self._conn, count)
            rows = cursor.fetchall() if cursor else []
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
            with conn.pipeline():
                context, _ = _begin(conn, call, offset)
                fetched = _fetch(conn, BATCH_ROWS if limit is None else min(BATCH_ROWS, limit))
            first = fetched.fetchall() if fetched else []
            return RowStream(pool, conn, first, _refreshed_at(context), limit)
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
