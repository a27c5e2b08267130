"""JSON: ``{"data": [row, ...], "meta": {...}}``, streamed row by row, ``meta`` last.

``meta`` comes after ``data`` so the array can be streamed and the row count still be exact:
``report``, ``params`` (the parameters used), ``columns`` (name and PostgreSQL type of each
column), ``row_count`` (rows in ``data``), ``total_rows`` (rows of the whole result: given by
the caller when paging, else ``row_count``; null when paged and unknown), ``limit``,
``offset``, ``refreshed_at`` (ISO 8601, null when unknown), then ``ReportMeta.extra``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reports_core.formats.encoding import chunked, close_rows, json_object_encoder, json_params, json_value
from reports_core.formats.model import Column, ReportMeta


def meta_object(columns: Sequence[Column], meta: ReportMeta, row_count: int) -> str:
    """The JSON text of ``meta`` for ``row_count`` rendered rows."""
    total = meta.total_rows if meta.total_rows is not None or meta.paged else row_count
    members: dict[str, str] = {
        "report": json_value(meta.report),
        "params": json_params(meta.params),
        "columns": "["
        + ",".join(f'{{"name":{json_value(c.name)},"type":{json_value(c.type)}}}' for c in columns)
        + "]",
        "row_count": str(row_count),
        "total_rows": json_value(total),
        "limit": json_value(meta.limit),
        "offset": str(meta.offset),
        "refreshed_at": json_value(meta.refreshed_at),
    }
    members.update({key: json_value(value) for key, value in meta.extra.items()})
    return "{" + ",".join(f"{json_value(key)}:{text}" for key, text in members.items()) + "}"


def render_json(
    columns: Sequence[Column], rows: Iterator[Mapping[str, Any]], meta: ReportMeta
) -> Iterator[bytes]:
    encode = json_object_encoder(columns)

    def pieces() -> Iterator[str]:
        count = 0
        yield '{"data":['
        try:
            for row in rows:
                yield ("," if count else "") + encode(row)
                count += 1
        finally:
            close_rows(rows)
        yield '],"meta":' + meta_object(columns, meta, count) + "}\n"

    return chunked(pieces())
