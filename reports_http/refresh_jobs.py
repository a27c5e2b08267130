"""Refresh jobs: a refresh of the summaries run in a background thread, at most one at a time per process.

:meth:`RefreshJobs.start` runs :func:`reports_core.refresh.run_refresh` (the refresh lock first,
then one REPEATABLE READ transaction, exactly as ``reports refresh``) in a thread with its own
connection, unless a job of this process is running: then it returns that one. A job records
the engine's NOTICEs as they arrive (``done``: the views finished so far), then the result rows.
Jobs live in the memory of the process (the last :data:`KEPT_JOBS`). The HTTP side is
:mod:`reports_http.refresh_api`.
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from reports_core.errors import ReportsError
from reports_core.refresh import run_refresh

log = logging.getLogger("reports_http.refresh_jobs")

KEPT_JOBS = 100
_DONE = re.compile(r"^(\S+) (ok|failed|skipped)\b")


@dataclass
class RefreshJob:
    job_id: str
    views: list[str] | None
    wait: bool
    requested_by: int
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = "running"
    done: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    result: list[dict[str, Any]] | None = None
    error: str | None = None
    finished_at: datetime | None = None

    @property
    def location(self) -> str:
        return f"/refresh/{self.job_id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "status": self.status,
            "views": self.views,
            "wait": self.wait,
            "requested_by": self.requested_by,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "done": list(self.done),
            "messages": list(self.messages),
            "result": [_json_row(row) for row in self.result] if self.result is not None else None,
            "error": self.error,
        }

    def progress(self, message: str) -> None:
        """A NOTICE or WARNING of the engine (one finished view, a failure, a time zone rebuild)."""
        self.messages.append(message)
        match = _DONE.match(message)
        if match and match.group(1) not in self.done:
            self.done.append(match.group(1))


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in row.items()}


class RefreshJobs:
    """The refresh jobs of one process: at most one running."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._jobs: OrderedDict[str, RefreshJob] = OrderedDict()
        self._running: RefreshJob | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Jobs remembered (running or finished)."""
        return len(self._jobs)

    def get(self, job_id: str) -> RefreshJob | None:
        return self._jobs.get(job_id)

    def start(self, views: list[str] | None, wait: bool, user_id: int) -> tuple[RefreshJob, bool]:
        """A new running job (True), or the one already running (False)."""
        with self._lock:
            if self._running is not None:
                return self._running, False
            job = RefreshJob(uuid.uuid4().hex, views, wait, user_id)
            self._jobs[job.job_id] = job
            while len(self._jobs) > KEPT_JOBS:
                self._jobs.popitem(last=False)
            self._running = job
        context = contextvars.copy_context()  # log lines of the job carry the request id of its POST
        threading.Thread(
            target=context.run, args=(self._run, job), name=f"reports-refresh-{job.job_id[:8]}", daemon=True
        ).start()
        log.info(
            "refresh job %s started by user %s: %s", job.job_id, user_id, ", ".join(views or ["all views"])
        )
        return job, True

    def _run(self, job: RefreshJob) -> None:
        try:
            job.result = run_refresh(self._url, job.views, job.wait, job.progress)
            job.status = "finished"
        except ReportsError as exc:
            job.status, job.error = "failed", str(exc)
        except Exception:
            log.exception("refresh job %s failed", job.job_id)
            job.status, job.error = "failed", "internal error: see the service log"
        finally:
            job.finished_at = datetime.now(UTC)
            with self._lock:
                self._running = None
        failed = [row["view"] for row in job.result or [] if row.get("status") == "failed"]
        log.info(
            "refresh job %s %s%s%s",
            job.job_id,
            job.status,
            f": {job.error}" if job.error else "",
            f"; failed views: {', '.join(failed)}" if failed else "",
        )
