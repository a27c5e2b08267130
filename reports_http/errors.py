"""Every error answer of the API, decided in one place: ``{code, message, detail, hint}`` JSON.

``code`` is a SQLSTATE: the database's own for errors raised by a report function, and the
matching standard one for errors the HTTP layer finds itself (:data:`INVALID_PARAMETER`,
:data:`UNDEFINED_FUNCTION`, :data:`INVALID_AUTHORIZATION`, ...). :data:`SQLSTATE_STATUS` maps
SQLSTATEs to HTTP statuses (like PostgREST's ``mapSQLtoHTTP``), most specific entry first (exact
code, then its two-character class). Server-side failures (5xx) never show their details: the
client gets a generic message and a request id, the log gets everything.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("reports_http.errors")

INVALID_PARAMETER = "22023"  # invalid_parameter_value: a query parameter the API refused
UNDEFINED_FUNCTION = "42883"  # undefined_function: no such report
INVALID_AUTHORIZATION = "28000"  # invalid_authorization_specification: no or a bad identity
CONNECTION_FAILURE = "08006"  # connection_failure: the database cannot be reached
INTERNAL = "XX000"  # internal_error
#: ``Retry-After`` seconds of a 503.
RETRY_AFTER_S = 5

SQLSTATE_STATUS: dict[str, int] = {
    # exact codes
    "42501": 403,  # insufficient_privilege: the report refused this caller
    "42883": 404,  # undefined_function: the report is gone (dropped after the catalog was read)
    "P0002": 404,  # no_data_found
    "P0001": 400,  # raise_exception without an ERRCODE
    "57014": 504,  # query_canceled: statement timeout
    "57P01": 503,  # admin_shutdown
    "57P02": 503,  # crash_shutdown
    "57P03": 503,  # cannot_connect_now
    "55P03": 503,  # lock_not_available
    "25006": 500,  # read_only_sql_transaction: a report tried to write
    # classes
    "08": 503,  # connection exception
    "22": 400,  # data exception: a value the report refused
    "28": 403,  # invalid authorization specification
    "0L": 403,  # invalid grantor
    "0P": 403,  # invalid role specification
    "40": 503,  # transaction rollback (serialization failure, deadlock): retry
    "53": 503,  # insufficient resources
}

_MESSAGES = {
    500: "internal error: the request failed on the server; give the request id to the operators",
    503: "the reports database is unavailable; try again shortly",
    504: "the report took longer than the statement timeout (REPORTS_STATEMENT_TIMEOUT)",
}


@dataclass
class ApiError(Exception):
    """An error answer: HTTP ``status``, SQLSTATE ``code`` and the texts the client sees."""

    status: int
    code: str
    message: str
    detail: str | None = None
    hint: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "detail": self.detail}
        body["hint"] = self.hint
        if request_id is not None:
            body["request_id"] = request_id
        return body

    def response(self, request_id: str | None = None) -> JSONResponse:
        headers = dict(self.headers)
        if self.status == 503:
            headers.setdefault("Retry-After", str(RETRY_AFTER_S))
        return JSONResponse(self.body(request_id), status_code=self.status, headers=headers)


def status_for_sqlstate(sqlstate: str | None) -> int:
    """The HTTP status of a SQLSTATE (500 when unknown or absent)."""
    if not sqlstate:
        return 500
    return SQLSTATE_STATUS.get(sqlstate) or SQLSTATE_STATUS.get(sqlstate[:2]) or 500


def is_connection_failure(exc: BaseException) -> bool:
    """The database could not be reached or the connection was lost (503, worth one retry)."""
    if isinstance(exc, psycopg_pool.PoolTimeout):
        return True
    if isinstance(exc, psycopg.OperationalError):
        state = exc.sqlstate
        return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")
    return False


def from_exception(exc: BaseException, request_id: str) -> ApiError:
    """The answer for an exception raised while serving a request (logged here when 5xx)."""
    if isinstance(exc, ApiError):
        return exc
    if is_connection_failure(exc):
        log.warning("request %s: database unavailable: %s", request_id, _one_line(exc))
        return ApiError(503, CONNECTION_FAILURE, _MESSAGES[503])
    if isinstance(exc, psycopg.Error) and exc.sqlstate:
        status = status_for_sqlstate(exc.sqlstate)
        if status < 500:
            diag = exc.diag
            message = diag.message_primary or _one_line(exc)
            return ApiError(status, exc.sqlstate, message, diag.message_detail, diag.message_hint)
        log.error("request %s: SQLSTATE %s: %s", request_id, exc.sqlstate, _one_line(exc))
        return ApiError(status, exc.sqlstate, _MESSAGES.get(status, _MESSAGES[500]))
    log.error("request %s: unexpected error", request_id, exc_info=exc)
    return ApiError(500, INTERNAL, _MESSAGES[500])


def request_id_of(request: Request) -> str:
    """The request's id (set by a request-id middleware in ``request.state``), else a new one."""
    existing = getattr(request.state, "request_id", None)
    if isinstance(existing, str):
        return existing
    new = uuid.uuid4().hex
    request.state.request_id = new
    return new


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` with the JSON error shape, never a traceback."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        request_id = request_id_of(request)
        error = from_exception(exc, request_id)
        return error.response(request_id if error.status >= 500 else None)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        error = ApiError(exc.status_code, f"HTTP{exc.status_code}", str(exc.detail), headers=headers)
        return error.response()

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())) or "request"
        return ApiError(400, INVALID_PARAMETER, f"{where}: {first.get('msg', 'invalid')}").response()

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, api_error)
