"""``GET /reports`` (the catalog) and ``GET /reports/{name}`` (a report call, in any format).

A call is checked in this order, each before the database is touched: the name is in the catalog
(else 404), the caller is known (401), the parameters, paging and format are valid (400/406); then
the report runs (:mod:`reports_http.execute`) and its rows are rendered by
:mod:`reports_core.formats`: JSON as one page, the other formats streamed from the cursor.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import psycopg
import psycopg_pool
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from reports_core import formats
from reports_core.catalog import Catalog, Report
from reports_core.params import Paging, ParamError, params_used, parse_paging, parse_params
from reports_http.auth import AuthError, Caller, check_identity_headers
from reports_http.errors import (
    CONNECTION_FAILURE,
    INVALID_AUTHORIZATION,
    INVALID_PARAMETER,
    UNDEFINED_FUNCTION,
    ApiError,
    from_exception,
    request_id_of,
)
from reports_http.execute import Call, Page, RowStream, fetch_page, open_stream
from reports_http.service import Service

log = logging.getLogger("reports_http.routes")

router = APIRouter(tags=["reports"])
DATABASE_ERRORS = (psycopg.Error, psycopg_pool.PoolTimeout)


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def current_catalog(service: Service) -> Catalog:
    catalog = service.catalog.current or await run_in_threadpool(service.catalog.get)
    if catalog is None:
        raise ApiError(
            503,
            CONNECTION_FAILURE,
            "the report catalog could not be loaded yet; try again shortly",
            detail=service.catalog.last_error,
        )
    return catalog


@router.get("/reports", summary="The catalog: every exposed report with its parameters and result columns.")
async def list_reports(request: Request) -> JSONResponse:
    catalog = await current_catalog(service_of(request))
    return JSONResponse(
        {
            "reports": [report.to_json() for report in catalog.reports.values()],
            "version": catalog.version,
            "loaded_at": catalog.loaded_at.isoformat(),
        }
    )


def find_report(catalog: Catalog, name: str) -> Report:
    report = catalog.get(name)
    if report is None:
        raise ApiError(
            404, UNDEFINED_FUNCTION, f"no report named {name[:100]!r}", hint="GET /reports lists the reports."
        )
    return report


def authenticate(service: Service, request: Request) -> Caller:
    try:
        check_identity_headers(request.headers.raw)
        return service.authenticator.authenticate(request.headers)
    except AuthError as exc:
        if exc.status == 400:
            raise ApiError(400, INVALID_PARAMETER, str(exc)) from None
        headers = {"WWW-Authenticate": exc.www_authenticate}
        raise ApiError(401, INVALID_AUTHORIZATION, str(exc), headers=headers) from None


def parse_request(
    service: Service, report: Report, request: Request
) -> tuple[dict[str, Any], formats.Format, Paging]:
    query = request.query_params.multi_items()
    try:
        values = parse_params(report, query)
        fmt = formats.negotiate(request.headers.get("accept"), request.query_params.get("format"))
        max_limit = service.settings.max_rows if fmt is formats.Format.JSON else None
        return values, fmt, parse_paging(query, max_limit=max_limit)
    except ParamError as exc:
        raise ApiError(400, INVALID_PARAMETER, str(exc), hint=exc.hint) from None
    except formats.FormatError as exc:
        code = INVALID_PARAMETER if exc.status == 400 else f"HTTP{exc.status}"
        raise ApiError(exc.status, code, str(exc)) from None


@router.get("/reports/{name:path}", include_in_schema=False)
async def call_report(name: str, request: Request) -> Response:
    service = service_of(request)
    report = find_report(await current_catalog(service), name)
    caller = authenticate(service, request)
    values, fmt, paging = parse_request(service, report, request)
    call, meta = call_of(service, report, values, caller, paging)
    pool = service.ensure_pool()
    try:
        if fmt is formats.Format.JSON:
            return await run_in_threadpool(json_page, pool, call, paging, meta)
        stream = await run_in_threadpool(open_stream, pool, call, limit=paging.limit, offset=paging.offset)
    except DATABASE_ERRORS as exc:
        raise from_exception(exc, request_id_of(request)) from None
    meta = dataclasses.replace(meta, refreshed_at=stream.refreshed_at)
    settings = service.settings
    rendered = formats.render(
        fmt,
        report.columns,
        stream,
        meta,
        pdf_max_rows=settings.pdf_max_rows,
        csv_escape_formulas=settings.csv_escape_formulas,
    )
    body = _stream_body(rendered.body, stream, request_id_of(request))
    return StreamingResponse(body, media_type=rendered.media_type, headers=rendered.headers)


def call_of(
    service: Service, report: Report, values: dict[str, Any], caller: Caller, paging: Paging
) -> tuple[Call, formats.ReportMeta]:
    """The call of a valid request and what its answer says about it (before the data is known)."""
    call = Call(report, values, caller, service.settings.statement_timeout_ms)
    meta = formats.ReportMeta(
        report=report.name, params=params_used(report, values), limit=paging.limit, offset=paging.offset
    )
    return call, meta


def json_page(pool: Any, call: Call, paging: Paging, meta: formats.ReportMeta) -> Response:
    """The JSON page of a call (in a worker thread: the pool and the rendering block)."""
    return page_response(call, fetch_page(pool, call, limit=paging.limit, offset=paging.offset), meta)


def page_response(call: Call, page: Page, meta: formats.ReportMeta) -> Response:
    """A page rendered as the JSON answer."""
    meta = dataclasses.replace(meta, refreshed_at=page.refreshed_at, total_rows=page.total)
    rendered = formats.render(formats.Format.JSON, call.report.columns, page.rows, meta)
    return Response(b"".join(rendered.body), media_type=rendered.media_type)


async def _stream_body(chunks: Iterator[bytes], stream: RowStream, request_id: str) -> AsyncIterator[bytes]:
    """The rendered chunks; the stream (its connection) is closed however the response ends."""
    try:
        async for chunk in iterate_in_threadpool(chunks):
            yield chunk
    except Exception as exc:
        # Headers are sent: the response is cut short (no final chunk), so the client sees it failed.
        log.error("request %s: report stream failed: %s", request_id, " ".join(str(exc).split()))
        raise
    finally:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(stream.close)
