"""The outermost ASGI layer: a request id, ``Server-Timing`` and the request metrics of every request.

The id is the incoming ``X-Request-Id`` when it is a sane token (1 to 128 of ``A-Za-z0-9._:-``),
else a new one (:func:`new_request_id`: 32 hex digits, unique without a system call per request); it
is in the context of every log line written while serving the request (:mod:`reports_http.context`),
in ``request.state.request_id`` (error bodies of 5xx answers show it) and in the ``X-Request-Id``
response header. ``Server-Timing: db;dur=<ms>, total;dur=<ms>`` gives the time spent waiting for the
database (pool included) and in the service until the headers were sent (for a stream: its first
batch). The request is counted and timed in :class:`reports_http.metrics.Metrics` by route, report
and status once its last byte is sent.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import time

from reports_http import context
from reports_http.fastpath import PREFIX, ASGIApp, Message, Receive, Scope, Send
from reports_http.service import Service

_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: Routes by exact path (anything else is ``other``; report calls are ``/reports/{name}``).
ROUTES = frozenset({"/reports", "/refresh", "/metrics", "/health", "/ready", "/openapi.json", "/docs"})


_PROCESS_ID = secrets.token_hex(8)  # random per process: ids of two workers never collide
_SEQUENCE = itertools.count(1)


def _new_process() -> None:
    global _PROCESS_ID, _SEQUENCE
    _PROCESS_ID, _SEQUENCE = secrets.token_hex(8), itertools.count(1)


if hasattr(os, "register_at_fork"):  # POSIX: a forked worker must not repeat its parent's ids
    os.register_at_fork(after_in_child=_new_process)


def new_request_id() -> str:
    """32 hex digits: this process's random half, then a sequence number (not secret, only unique)."""
    return f"{_PROCESS_ID}{next(_SEQUENCE) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


def route_of(path: str) -> str:
    if path.startswith(PREFIX):
        return "/reports/{name}"
    if path.startswith("/refresh/"):
        return "/refresh/{job_id}"
    return path if path in ROUTES else "other"


def incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_ID.fullmatch(text) else None
    return None


class ObserveLayer:
    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope) or new_request_id()
        ctx = context.RequestContext(request_id)
        token = context.current.set(ctx)
        state = scope.get("state")
        if isinstance(state, dict):
            state["request_id"] = request_id
        else:
            scope["state"] = {"request_id": request_id}
        status = 500
        id_header = (b"x-request-id", request_id.encode())

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                timing = f"db;dur={ctx.db_s * 1000:.1f}, total;dur={ctx.total_ms:.1f}".encode()
                message = {
                    **message,
                    "headers": [*message.get("headers", []), id_header, (b"server-timing", timing)],
                }
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            context.current.reset(token)
            self._count(scope["path"], status, time.perf_counter() - ctx.started)

    def _count(self, path: str, status: int, seconds: float) -> None:
        report = ""
        if path.startswith(PREFIX):
            catalog = self.service.catalog.current
            name = path[len(PREFIX) :]
            if catalog is not None and name in catalog.reports:
                report = name
        self.service.metrics.observe_request(route_of(path), report, status, seconds)
