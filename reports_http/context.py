"""The context of the request being served: its id (for every log line) and its database time.

:mod:`reports_http.observe` opens a :class:`RequestContext` per HTTP request in a context
variable; :func:`database_time` (used by :mod:`reports_http.execute` around each round trip)
adds to it, also from the worker threads the calls run in (``run_in_threadpool`` copies the
context, and the object is shared, not copied). :func:`install_log_record_factory` gives every
log record a ``request_id`` attribute (``-`` outside a request), so a log format can show it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

NO_REQUEST = "-"


@dataclass
class RequestContext:
    request_id: str
    started: float = field(default_factory=time.perf_counter)
    db_s: float = 0.0  # seconds spent waiting for the database (pool wait included)

    @property
    def total_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


current: ContextVar[RequestContext | None] = ContextVar("reports_request", default=None)


def request_id() -> str:
    """The id of the request being served (``-`` outside a request)."""
    ctx = current.get()
    return ctx.request_id if ctx is not None else NO_REQUEST


@contextmanager
def database_time() -> Iterator[None]:
    """Count the time of the block as database time of the current request (if any)."""
    ctx = current.get()
    if ctx is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        ctx.db_s += time.perf_counter() - start


_installed = False


def install_log_record_factory() -> None:
    """Every ``LogRecord`` gets ``request_id`` (idempotent; wraps the current factory)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = request_id()
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
