"""NDJSON: one JSON object per row and line (``\\n``), the rows only, streamed.

Values are encoded exactly as in the JSON format's ``data`` (see ``encoding``); there is no
metadata line, so every line is a row (the HTTP layer sends the metadata as headers).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reports_core.formats.encoding import chunked, close_rows, json_object_encoder
from reports_core.formats.model import Column, ReportMeta


def render_ndjson(
    columns: Sequence[Column], rows: Iterator[Mapping[str, Any]], meta: ReportMeta
) -> Iterator[bytes]:
    encode = json_object_encoder(columns)

    def pieces() -> Iterator[str]:
        try:
            for row in rows:
                yield encode(row) + "\n"
        finally:
            close_rows(rows)

    return chunked(pieces())
