"""Liveness and readiness: ``GET /health`` (process up) and ``GET /ready`` (database usable)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reports_core.errors import ReportsError
from reports_core.settings import Settings

router = APIRouter(tags=["operations"])


@router.get("/health", summary="The process is up (does not touch the database).")
def health() -> dict[str, str]:
    return {"status": "ok"}


def readiness(settings: Settings) -> tuple[bool, str, str | None]:
    """(ready, reason, server version): a supported server answers and no migration is pending."""
    from reports_core import migrate

    try:
        plan = migrate.plan(settings.require_database_url(), through_api=True)
    except ReportsError as exc:
        return False, str(exc), None
    waiting = [f.script for f in plan.to_apply]
    if waiting:
        names = ", ".join(waiting[:3]) + (" ..." if len(waiting) > 3 else "")
        reason = f"{len(waiting)} migration file(s) not applied: {names} (run `reports migrate`)"
        return False, reason, plan.server
    return True, "database reachable, migrations up to date", plan.server


def ready_endpoint(settings: Settings, *checks: Callable[[], tuple[bool, str]]) -> Any:
    """``GET /ready``: :func:`readiness`, then each of ``checks`` (e.g. the catalog is loaded)."""

    def all_ready() -> tuple[bool, str, str | None]:
        ok, reason, server = readiness(settings)
        reasons = [reason]
        for check in checks if ok else ():
            ok, reason = check()
            if not ok:
                return False, reason, server
            reasons.append(reason)
        return ok, "; ".join(reasons), server

    async def ready() -> JSONResponse:
        ok, reason, server = await run_in_threadpool(all_ready)
        status = "ready" if ok else "not ready"
        body = {"status": status, "reason": reason, "server": server}
        return JSONResponse(body, status_code=200 if ok else 503)

    return ready
