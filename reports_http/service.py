"""The long-lived parts of one ``reports-api`` process: pool, catalog, identity, notifications.

:class:`Service` is built by ``create_app`` (a bad identity setting fails there, at start-up) and
started/stopped by the application's lifespan. Everything a layer in front of FastAPI needs (a
cache answering before routing) is reachable from it: ``catalog.current``, ``authenticator``,
``listener.add_handler('reports_refreshed', ...)`` (register before start), ``pool``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from psycopg_pool import ConnectionPool

from reports_cli.migrate import NOTIFY_CHANNEL
from reports_cli.settings import Settings
from reports_http.auth import Authenticator, make_authenticator
from reports_http.catalog import CatalogStore
from reports_http.execute import Conn, make_pool
from reports_http.listen import NotificationListener

log = logging.getLogger("reports_http.service")


@dataclass
class Service:
    settings: Settings
    pool: ConnectionPool[Conn]
    catalog: CatalogStore
    authenticator: Authenticator
    listener: NotificationListener
    _opened: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings) -> Service:
        """Build (not start) the service; :class:`ConfigError` for unusable settings."""
        url = settings.require_database_url()
        authenticator = make_authenticator(settings)
        catalog = CatalogStore(url)
        listener = NotificationListener(url, on_connect=lambda: catalog.reload("LISTEN connected"))
        listener.add_handler(
            NOTIFY_CHANNEL, lambda payload: catalog.reload(f"NOTIFY {NOTIFY_CHANNEL} {payload}")
        )
        return cls(settings, make_pool(settings), catalog, authenticator, listener)

    def start(self) -> None:
        """Open the pool (in the background: the database may be down), load the catalog, listen."""
        self.ensure_pool()
        self.catalog.reload("start-up")
        self.listener.start()

    def ensure_pool(self) -> ConnectionPool[Conn]:
        """The pool, opened on first use when the lifespan did not open it."""
        if not self._opened:
            with self._lock:
                if not self._opened:
                    self.pool.open(wait=False)
                    self._opened = True
        return self.pool

    def reload_catalog_in_background(self, reason: str) -> None:
        threading.Thread(
            target=self.catalog.reload, args=(reason,), name="reports-reload", daemon=True
        ).start()

    def catalog_readiness(self) -> tuple[bool, str]:
        catalog = self.catalog.get()
        if catalog is None:
            return False, f"the report catalog is not loaded: {self.catalog.last_error or 'not tried yet'}"
        return True, f"catalog of {len(catalog.reports)} reports loaded"

    def stop(self) -> None:
        self.listener.stop()
        if self._opened:
            self.pool.close()
