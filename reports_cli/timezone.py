"""Store ``REPORTS_TIMEZONE`` in the database (``reports.set_timezone``), after migrating."""

from __future__ import annotations

from collections.abc import Callable

from reports_core.db import connect


def apply_timezone(url: str, timezone: str, *, progress: Callable[[str], None] = print) -> bool:
    """Make ``reports.settings`` hold ``timezone``; True when it changed (a full refresh is then due)."""
    with connect(url, autocommit=True) as conn:
        current = conn.execute("SELECT reports.timezone() AS tz").fetchone()
        if current is not None and current["tz"] == timezone:
            return False
        conn.add_notice_handler(lambda diag: progress(f"notice: {diag.message_primary}"))
        conn.execute("SELECT reports.set_timezone(%s)", [timezone])
        progress(f"time zone set to {timezone} (was {current['tz'] if current else 'unset'})")
        return True
