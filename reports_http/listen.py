"""A background thread that LISTENs on database channels and reconnects after failures.

``reports migrate`` notifies ``reports_catalog`` (the catalog reloads); the refresh functions
notify ``reports_refreshed`` (a cache can drop the entries of the refreshed summaries): register a
handler per channel before :meth:`NotificationListener.start`. After every (re)connection
``on_connect`` runs, since notifications sent while disconnected are lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from reports_core.db import connect
from reports_core.errors import ReportsError

log = logging.getLogger("reports_http.listen")

Handler = Callable[[str], None]
#: Seconds between checks of the stop flag while waiting for notifications.
POLL_S = 1.0
#: Reconnection back-off: first and largest wait in seconds.
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 15.0
_CONNECT = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


class NotificationListener:
    def __init__(self, url: str, *, on_connect: Callable[[], None] | None = None) -> None:
        self._url = url
        self._on_connect = on_connect
        self._handlers: dict[str, list[Handler]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()

    def add_handler(self, channel: str, handler: Handler) -> None:
        """Call ``handler(payload)`` for every notification on ``channel`` (register before start)."""
        self._handlers.setdefault(channel, []).append(handler)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="reports-listen", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        wait = RETRY_FIRST_S
        while not self._stop.is_set():
            try:
                with connect(
                    self._url, autocommit=True, application_name="reports-api listen", **_CONNECT
                ) as conn:
                    self._listen(conn)
                    wait = RETRY_FIRST_S
                    self._serve(conn)
            except (ReportsError, psycopg.Error) as exc:
                log.warning("LISTEN connection lost, retrying in %.1fs: %s", wait, " ".join(str(exc).split()))
            finally:
                self.connected.clear()
            if self._stop.wait(wait):
                return
            wait = min(wait * 2, RETRY_MAX_S)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        for channel in self._handlers:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        log.info("listening on %s", ", ".join(self._handlers) or "(no channel)")
        if self._on_connect is not None:
            self._call(self._on_connect)
        self.connected.set()  # listening, and caught up with what was missed

    def _serve(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stop.is_set():
            for notify in conn.notifies(timeout=POLL_S):
                for handler in self._handlers.get(notify.channel, []):
                    self._call(handler, notify.payload)

    @staticmethod
    def _call(handler: Callable[..., None], *args: Any) -> None:
        try:
            handler(*args)
        except Exception:
            log.exception("notification handler %r failed", handler)
