"""``POST /refresh`` and ``GET /refresh/{job_id}``: a refresh of the summaries as a background job.

Who may: callers with the application role ``refresher`` or ``admin`` (:data:`REFRESH_ROLES`;
the same authenticator as the reports; anyone else gets 403, SQLSTATE 42501). The refresh itself
runs with the service's database role, which must be a member of ``reports_refresher`` (else the
job fails with that error).

``POST /refresh`` with an optional JSON body ``{"views": [...], "wait": false}`` (no body or
``views`` null: every summary; ``wait`` as ``reports refresh --wait``: wait for a refresh already
running elsewhere instead of skipping) starts :func:`reports_core.refresh.run_refresh` (the
refresh lock first, then one REPEATABLE READ transaction, exactly as ``reports refresh``) in a
thread with its own connection and answers ``202`` with the job and ``Location:
/refresh/<job_id>``. While a job of this process runs, another ``POST`` starts nothing and
answers ``200`` with the running job (whatever views it asked for). ``GET /refresh/<job_id>``
gives ``status`` (``running``, then ``finished`` or ``failed``: the refresh could not run at
all, see ``error``), ``done`` (the views finished so far, from the engine's NOTICEs),
``messages`` and, when finished, ``result`` (one row per view: ``view``, ``status`` ok / failed /
skipped, ``rows``, ``duration_ms``, ``sqlstate``, ``error``). Jobs live in the memory of the
process (the last ``KEPT_JOBS`` of :mod:`reports_http.refresh_jobs`); with several workers, ask
the worker that started it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from reports_http.errors import INVALID_PARAMETER, ApiError
from reports_http.refresh_jobs import RefreshJob
from reports_http.routes import authenticate, service_of

#: Application roles that may refresh.
REFRESH_ROLES = frozenset({"refresher", "admin"})
INSUFFICIENT_PRIVILEGE = "42501"
UNDEFINED_OBJECT = "42704"


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    views: list[Annotated[str, Field(min_length=1, max_length=63)]] | None = Field(
        default=None, min_length=1, description="Summaries to refresh (with what depends on them); null: all"
    )
    wait: bool = Field(default=False, description="Wait for a refresh running elsewhere instead of skipping")


_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
JOB_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["job_id", "status", "views", "done", "result", "error"],
    "properties": {
        "job_id": {"type": "string"},
        "status": {"type": "string", "enum": ["running", "finished", "failed"]},
        "views": {"type": ["array", "null"], "items": {"type": "string"}, "description": "null: all"},
        "wait": {"type": "boolean"},
        "requested_by": {"type": "integer"},
        "started_at": {"type": "string", "format": "date-time"},
        "finished_at": _NULLABLE_TIME,
        "done": {"type": "array", "items": {"type": "string"}, "description": "Views finished so far"},
        "messages": {"type": "array", "items": {"type": "string"}, "description": "The engine's notices"},
        "result": {
            "type": ["array", "null"],
            "description": "One row per view once finished",
            "items": {
                "type": "object",
                "properties": {
                    "view": {"type": "string"},
                    "status": {"type": "string", "enum": ["ok", "failed", "skipped"]},
                    "rows": {"type": ["integer", "null"]},
                    "duration_ms": {"type": ["number", "null"]},
                    "sqlstate": {"type": ["string", "null"]},
                    "error": {"type": ["string", "null"]},
                },
            },
        },
        "error": {"type": ["string", "null"], "description": "Why the refresh could not run (status failed)"},
    },
}
_JOB = {"application/json": {"schema": JOB_SCHEMA}}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_LOCATION = {"Location": {"description": "/refresh/<job_id>", "schema": {"type": "string"}}}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No identity, or an invalid one", "content": _ERROR},
    403: {
        "description": "The caller has neither role refresher nor admin (SQLSTATE 42501)",
        "content": _ERROR,
    },
}

router = APIRouter(tags=["operations"])


def _check_views(views: list[str] | None, known: Collection[str]) -> None:
    unknown = [view for view in views or [] if known and view not in known]
    if unknown:
        raise ApiError(
            400,
            INVALID_PARAMETER,
            f"unknown view: {', '.join(unknown)[:200]}",
            hint=f"Valid names: {', '.join(known)}",
        )


def _authorized(request: Request) -> int:
    service = service_of(request)
    caller = authenticate(service, request)
    if not REFRESH_ROLES & set(caller.roles):
        raise ApiError(
            403,
            INSUFFICIENT_PRIVILEGE,
            "refreshing needs the application role refresher or admin",
            hint=f"Your roles: {', '.join(caller.roles) or 'none'}.",
        )
    return caller.user_id


def _job_response(job: RefreshJob, status: int) -> JSONResponse:
    return JSONResponse(job.to_json(), status_code=status, headers={"Location": job.location})


@router.post(
    "/refresh",
    status_code=202,
    summary="Start a refresh of every summary or of the named ones (roles refresher, admin); 200 with the "
    "running job when one runs already.",
    response_class=JSONResponse,
    responses={
        202: {"description": "Started", "content": _JOB, "headers": _LOCATION},
        200: {
            "description": "A refresh job is running already: that job",
            "content": _JOB,
            "headers": _LOCATION,
        },
        400: {"description": "Invalid body or unknown view (SQLSTATE 22023)", "content": _ERROR},
        **_ERRORS,
    },
)
async def start_refresh(
    request: Request, body: Annotated[RefreshRequest | None, Body()] = None
) -> JSONResponse:
    user_id = _authorized(request)
    service = service_of(request)
    views = body.views if body is not None else None
    _check_views(views, list(service.versions.summaries))
    job, created = service.jobs.start(
        list(dict.fromkeys(views)) if views else None, body.wait if body is not None else False, user_id
    )
    return _job_response(job, 202 if created else 200)


@router.get(
    "/refresh/{job_id}",
    summary="A refresh job: its status, the views done so far, its result.",
    response_class=JSONResponse,
    responses={
        200: {"description": "The job", "content": _JOB},
        404: {"description": "No such job in this process (SQLSTATE 42704)", "content": _ERROR},
        **_ERRORS,
    },
)
async def refresh_job(job_id: str, request: Request) -> JSONResponse:
    _authorized(request)
    job = service_of(request).jobs.get(job_id)
    if job is None:
        raise ApiError(
            404, UNDEFINED_OBJECT, f"no refresh job {job_id[:64]!r}", hint="POST /refresh starts one."
        )
    return _job_response(job, 200)
