"""The ASGI layer in front of FastAPI that answers report calls: from the cache, with 304, or as JSON.

For ``GET /reports/<name>`` it does, with no database access and without FastAPI's routing and
validation: find the report in the current catalog, authenticate the caller, parse the
parameters, format and paging exactly as the route would (:mod:`reports_core.params`,
:mod:`reports_core.formats`), build the cache key (:func:`reports_http.cache.cache_key`) and the
ETag of the current data version (:mod:`reports_http.versions`). Then:

- ``If-None-Match`` matches the ETag: ``304`` (no body);
- a cached response of this version: sent from memory (a hit);
- otherwise (a miss) the report runs: a JSON page here, on a connection that is idle now and
  without leaving the event loop (:func:`reports_http.execute.fetch_page_on_loop`; else in a
  worker thread, as the route runs it), the streamed formats in the route. A ``200`` gets the ETag headers
  and, when complete and no larger than ``REPORTS_CACHE_MAX_BYTES``, is stored.

A report with no data version (it reads no summary, or the LISTEN connection is down so the
version is not known) is answered the same way but neither cached nor given an ETag.

What a query string asks (parameters, format, page: :func:`reports_http.cache.call_key`) is
remembered per report, query string and ``Accept`` (at most :data:`REMEMBERED_CALLS`), so a repeated
request is parsed once, and so is the ETag of a cache key at a data version; the caller is
authenticated on every request (a verified token is remembered by the authenticator until it
expires).

Anything it cannot decide (no catalog yet, unknown report, no identity, invalid parameter) goes
on to FastAPI untouched, which answers it as usual (404, 401, 400, ...) without caching.
Every cacheable report response (200 or 304) carries ``ETag``, ``Cache-Control: private,
max-age=<REPORTS_CACHE_TTL>``, ``Vary`` and, when the data was ever refreshed, ``Last-Modified``
(the oldest refresh time of the report's summaries).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool

from reports_core import formats
from reports_core.catalog import Report
from reports_core.params import Paging, ParamError, params_used, parse_paging, parse_params
from reports_http import context
from reports_http.auth import AuthError, Caller, check_identity_headers
from reports_http.cache import Header, Headers, cache_key, call_key, etag, if_none_match
from reports_http.errors import from_exception
from reports_http.execute import ROWS_ON_LOOP, fetch_page_on_loop
from reports_http.routes import DATABASE_ERRORS, call_of, json_page, page_response
from reports_http.service import Service
from reports_http.versions import SummaryVersion

log = logging.getLogger("reports_http.fastpath")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREFIX = "/reports/"
_VARY = {
    "jwt": b"Accept, Authorization",
    "gateway-headers": b"Accept, X-User-Id, X-User-Roles",
    "insecure-dev": b"Accept",
}
#: Query strings remembered with what they ask, and cache keys with their ETag headers per data
#: version (each memo is emptied when full).
REMEMBERED_CALLS = 4096


@dataclass(frozen=True, slots=True)
class Request:
    """What a query string asks of a report, parsed and validated as the route would."""

    values: dict[str, Any]  # parameters given (SQL names, parsed values)
    format: formats.Format
    paging: Paging
    call: str  # :func:`call_key`


@dataclass(frozen=True, slots=True)
class Plan:
    """A valid report call the layer answers: what it is, for whom and, when its data has a version,
    how it is cached (``key`` and ``headers`` None: not cacheable)."""

    report: Report
    request: Request
    caller: Caller
    key: str | None
    version: str | None
    etag: str | None
    if_none_match: str | None
    headers: Headers  # ETag, Cache-Control, Vary, Last-Modified (empty when not cacheable)


def header_map(scope: Scope) -> dict[str, str]:
    """The request headers by lower-case name (the first of repeated ones, as Starlette's ``get``)."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return headers


class ReportCacheLayer:
    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service
        settings = service.settings
        self._cache_control = f"private, max-age={settings.cache_ttl}".encode()
        self._vary = _VARY.get(settings.auth, b"Accept")
        self._requests: dict[tuple[str, bytes, str | None], tuple[Report, Request]] = {}
        # (cache key, version) -> (the summaries' versions they were made from, ETag, its headers)
        self._tags: dict[tuple[str, str], tuple[Mapping[str, SummaryVersion], str, tuple[Header, ...]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        try:
            plan = self._plan(scope)
        except Exception:
            log.exception("report cache layer: could not plan the request; passing it on")
            plan = None
        if plan is None:
            await self.app(scope, receive, send)
            return
        if plan.key is not None and plan.version is not None:
            metrics, cache = self.service.metrics, self.service.cache
            if plan.if_none_match is not None and plan.etag and if_none_match(plan.if_none_match, plan.etag):
                metrics.cache_result(plan.report.name, "not_modified")
                await send({"type": "http.response.start", "status": 304, "headers": plan.headers})
                await send({"type": "http.response.body", "body": b""})
                return
            entry = cache.get(plan.key, plan.version) if cache.enabled else None
            if entry is not None:
                metrics.cache_result(plan.report.name, "hit")
                headers = [*entry.headers, *plan.headers]
                await send({"type": "http.response.start", "status": entry.status, "headers": headers})
                await send({"type": "http.response.body", "body": entry.body})
                return
            metrics.cache_result(plan.report.name, "miss")
            send = _Recorder(send, plan, self.service).send
        if plan.request.format is formats.Format.JSON:
            await self._json(plan, scope, receive, send)
        else:
            await self.app(scope, receive, send)  # streamed by the route

    async def _json(self, plan: Plan, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the call and send its JSON page (what the route does, without FastAPI's routing)."""
        service, request = self.service, plan.request
        call, meta = call_of(service, plan.report, request.values, plan.caller, request.paging)
        pool, paging = service.ensure_pool(), request.paging
        try:
            page = await fetch_page_on_loop(pool, call, limit=paging.limit, offset=paging.offset)
            if page is None:  # no idle connection, or a dead one: wait and retry in a worker thread
                response = await run_in_threadpool(json_page, pool, call, paging, meta)
            elif len(page.rows) > ROWS_ON_LOOP:
                response = await run_in_threadpool(page_response, call, page, meta)
            else:
                response = page_response(call, page, meta)
        except DATABASE_ERRORS as exc:
            request_id = context.request_id()
            error = from_exception(exc, request_id)
            response = error.response(request_id if error.status >= 500 else None)
        await response(scope, receive, send)

    def _plan(self, scope: Scope) -> Plan | None:
        service = self.service
        catalog = service.catalog.current
        report = catalog.get(scope["path"][len(PREFIX) :]) if catalog is not None else None
        if report is None:
            return None
        headers = header_map(scope)
        try:
            check_identity_headers(scope["headers"])
            caller = service.authenticator.authenticate(headers)
            request = self._request_of(report, scope["query_string"], headers.get("accept"))
        except (AuthError, ParamError, formats.FormatError):
            return None  # FastAPI gives the error answer
        version = service.versions.version(report.summaries) if service.versions.trusted else None
        if version is None:  # no data version known: answered, not cached
            return Plan(report, request, caller, None, None, None, None, [])
        key = cache_key(request.call, caller.user_id, caller.roles)
        tag, response_headers = self._tag_of(report, key, version)
        return Plan(
            report, request, caller, key, version, tag, headers.get("if-none-match"), response_headers
        )

    def _tag_of(self, report: Report, key: str, version: str) -> tuple[str, Headers]:
        """The ETag of ``key`` at ``version`` and a new list of the cache headers that carry it.
        Remembered while the summaries' versions are the same mapping: a reload after a refresh
        notification replaces it with the exact refresh times (``Last-Modified``) at the same version."""
        summaries = self.service.versions.summaries
        known = self._tags.get((key, version))
        if known is not None and known[0] is summaries:
            return known[1], list(known[2])
        tag = etag(key, version)
        headers: tuple[Header, ...] = (
            (b"etag", tag.encode()),
            (b"cache-control", self._cache_control),
            (b"vary", self._vary),
        )
        last_modified = self._last_modified_of(report)
        if last_modified is not None:
            headers += ((b"last-modified", last_modified),)
        if len(self._tags) >= REMEMBERED_CALLS:
            self._tags.clear()
        self._tags[(key, version)] = (summaries, tag, headers)
        return tag, list(headers)

    def _request_of(self, report: Report, query_string: bytes, accept: str | None) -> Request:
        """The query string parsed as the route parses it, remembered."""
        memo_key = (report.name, query_string, accept)
        known = self._requests.get(memo_key)
        if known is not None and known[0] is report:
            return known[1]
        query = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        values = parse_params(report, query)
        fmt = formats.negotiate(accept, dict(query).get("format"))
        max_limit = self.service.settings.max_rows if fmt is formats.Format.JSON else None
        paging = parse_paging(query, max_limit=max_limit)
        call = call_key(report.name, params_used(report, values), fmt.value, paging.limit, paging.offset)
        request = Request(values, fmt, paging, call)
        if len(self._requests) >= REMEMBERED_CALLS:
            self._requests.clear()
        self._requests[memo_key] = (report, request)
        return request

    def _last_modified_of(self, report: Report) -> bytes | None:
        refreshed_at = self.service.versions.refreshed_at(report.summaries)
        if refreshed_at is None:
            return None
        return format_datetime(refreshed_at.astimezone(UTC), usegmt=True).encode()


class _Recorder:
    """The ``send`` of a miss: adds the ETag headers to a 200 and stores the complete response."""

    def __init__(self, send: Send, plan: Plan, service: Service) -> None:
        self._send = send
        self._plan = plan
        self._service = service
        self._status = 0
        self._headers: Headers = []
        self._chunks: list[bytes] | None = None  # None: not recording
        self._size = 0

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self._status = message["status"]
            if self._status == 200:
                self._headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"etag"]
                self._chunks = [] if self._service.cache.enabled else None
                message = {**message, "headers": [*self._headers, *self._plan.headers]}
        elif kind == "http.response.body" and self._chunks is not None:
            body = message.get("body", b"")
            self._size += len(body)
            if self._size > self._service.cache.max_entry_bytes:
                self._chunks = None  # too large to cache: stream it on, keep nothing
            else:
                self._chunks.append(body)
                if not message.get("more_body", False):
                    self._store()
        await self._send(message)

    def _store(self) -> None:
        assert self._chunks is not None
        body = b"".join(self._chunks)
        self._chunks = None
        headers = [(k, v) for k, v in self._headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        plan = self._plan
        assert plan.key is not None and plan.version is not None
        self._service.cache.put(plan.key, plan.version, plan.report.summaries, self._status, headers, body)
