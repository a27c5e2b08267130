"""File names of downloads: the report and its range, safe in any file system and header."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from reports_core.formats.model import Format, ReportMeta

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_STEM = 120


def _range_part(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        return value.strip()
    return None


def download_filename(meta: ReportMeta, fmt: Format) -> str:
    """``<report>_<each date parameter, in order>.<ext>``, e.g.
    ``revenue_by_period_2026-01-01_2026-06-30.csv``; only ``A-Za-z0-9._-`` survive."""
    parts = [meta.report]
    parts += [part for part in map(_range_part, meta.params.values()) if part]
    stem = _UNSAFE.sub("_", "_".join(parts)).strip("._-")[:MAX_STEM] or "report"
    return f"{stem}.{fmt.extension}"


def content_disposition(filename: str, *, attachment: bool) -> str:
    """The header value; ``filename`` is already safe (:func:`download_filename`)."""
    return f'{"attachment" if attachment else "inline"}; filename="{filename}"'
