"""The long-lived parts of one ``reports-api`` process: pool, catalog, identity, notifications,
data versions, response cache, metrics and refresh jobs.

:class:`Service` is built by ``create_app`` (a bad identity setting fails there, at start-up) and
started/stopped by the application's lifespan. Everything the layers in front of FastAPI need
(:mod:`reports_http.fastpath`, :mod:`reports_http.observe`) is reachable from it.

Notifications (one LISTEN connection): ``reports_catalog`` (``reports migrate``) reloads the
catalog and the definitions fingerprint of the data versions; ``reports_refreshed`` (the refresh
engine, at commit) takes the new generations at once, which drops the cached responses of the
refreshed summaries; ``reports_access_changed`` (access rules, the DB-role mapping, a user's
team) takes the new access version, which drops every cached response. After every
(re)connection they are read again, since notifications sent
while disconnected are lost; while disconnected the cache steps aside.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from psycopg_pool import ConnectionPool

from reports_core.catalog import CatalogStore
from reports_core.migrate import NOTIFY_CHANNEL
from reports_core.settings import Settings
from reports_http.auth import Authenticator, make_authenticator
from reports_http.cache import ResultCache
from reports_http.execute import Conn, make_pool
from reports_http.listen import NotificationListener
from reports_http.metrics import Metrics, ServiceCollector
from reports_http.refresh_jobs import RefreshJobs
from reports_http.status_snapshot import StatusSnapshot
from reports_http.versions import DataVersions

log = logging.getLogger("reports_http.service")

#: Channel of the refresh engine's notifications (``reports.refresh_views``).
REFRESHED_CHANNEL = "reports_refreshed"
#: Channel of the access version's notifications (``reports._bump_access_version``).
ACCESS_CHANNEL = "reports_access_changed"
#: Seconds start-up waits for the LISTEN connection (the cache is bypassed until it is up).
LISTEN_WAIT_S = 2.0


@dataclass
class Service:
    settings: Settings
    pool: ConnectionPool[Conn]
    catalog: CatalogStore
    authenticator: Authenticator
    listener: NotificationListener
    versions: DataVersions
    cache: ResultCache
    metrics: Metrics
    jobs: RefreshJobs
    status: StatusSnapshot
    _opened: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings) -> Service:
        """Build (not start) the service; :class:`ConfigError` for unusable settings."""
        url = settings.require_database_url()
        authenticator = make_authenticator(settings)
        catalog = CatalogStore(url)
        versions = DataVersions(url, settings.timezone)
        cache = ResultCache(
            ttl_s=settings.cache_ttl,
            max_entries=settings.cache_max_entries,
            max_entry_bytes=settings.cache_max_bytes,
            max_total_bytes=settings.cache_max_total_bytes,
        )
        versions.on_change(cache.invalidate)
        catalog.on_change(lambda _: cache.clear())

        def connected() -> None:
            catalog.reload("LISTEN connected")
            versions.reload("LISTEN connected")

        def migrated(payload: str) -> None:
            catalog.reload(f"NOTIFY {NOTIFY_CHANNEL} {payload}")
            versions.reload(f"NOTIFY {NOTIFY_CHANNEL}")

        listener = NotificationListener(url, on_connect=connected)
        listener.add_handler(NOTIFY_CHANNEL, migrated)
        listener.add_handler(REFRESHED_CHANNEL, versions.apply_notification)
        listener.add_handler(ACCESS_CHANNEL, versions.apply_access_notification)
        versions.listening = listener.connected.is_set
        pool = make_pool(settings)
        metrics = Metrics()
        status = StatusSnapshot(url, settings.metrics_interval_s)
        service = cls(
            settings,
            pool,
            catalog,
            authenticator,
            listener,
            versions,
            cache,
            metrics,
            RefreshJobs(url),
            status,
        )
        metrics.registry.register(ServiceCollector(service.pool_stats, cache, status.rows))
        return service

    def start(self) -> None:
        """Open the pool (in the background: the database may be down), load the catalog, listen."""
        self.ensure_pool()
        self.catalog.reload("start-up")
        self.listener.start()
        if not self.listener.connected.wait(LISTEN_WAIT_S):
            log.warning(
                "LISTEN not connected after %.0fs: responses are not cached until it is", LISTEN_WAIT_S
            )

    def ensure_pool(self) -> ConnectionPool[Conn]:
        """The pool, opened on first use when the lifespan did not open it."""
        if not self._opened:
            with self._lock:
                if not self._opened:
                    self.pool.open(wait=False)
                    self._opened = True
        return self.pool

    def pool_stats(self) -> dict[str, int] | None:
        """The pool's ``get_stats()`` (None before it is opened)."""
        return self.pool.get_stats() if self._opened else None

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
        self.status.close()
        if self._opened:
            self.pool.close()
