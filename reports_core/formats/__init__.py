"""Output formats of a report: negotiation and streaming renderers (JSON, NDJSON, CSV, XLSX, PDF).

Used by the HTTP API and by ``reports export``::

    fmt = negotiate(request.headers.get("accept"), request.query_params.get("format"))
    rendered = render(fmt, columns, rows, ReportMeta(report=name, params=params, refreshed_at=ts))
    StreamingResponse(rendered.body, media_type=rendered.media_type, headers=rendered.headers)

``rows`` is any iterator of dict rows (a server-side cursor); JSON, NDJSON and CSV consume it
lazily and yield chunks of about 64 KiB, XLSX spools to a temporary file (memory stays flat in
all four), PDF reads at most ``pdf_max_rows`` rows. Each renderer closes ``rows`` (if it has a
``close``) when done, early or not. Value encoding: see ``reports_core.formats.encoding``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from reports_core.formats.csv_format import render_csv
from reports_core.formats.json_format import render_json
from reports_core.formats.model import DEFAULT_PDF_MAX_ROWS, Column, Format, Rendered, ReportMeta
from reports_core.formats.naming import content_disposition, download_filename
from reports_core.formats.ndjson import render_ndjson
from reports_core.formats.negotiation import FormatError, negotiate, parse_format

__all__ = [
    "DEFAULT_PDF_MAX_ROWS",
    "Column",
    "Format",
    "FormatError",
    "Rendered",
    "ReportMeta",
    "download_filename",
    "negotiate",
    "parse_format",
    "render",
]

Renderer = Callable[[Sequence[Column], Iterator[Mapping[str, Any]], ReportMeta], Iterator[bytes]]

_TEXT_RENDERERS: dict[Format, Renderer] = {
    Format.JSON: render_json,
    Format.NDJSON: render_ndjson,
    Format.CSV: render_csv,
}


def render(
    fmt: Format,
    columns: Sequence[Column],
    rows: Iterable[Mapping[str, Any]],
    meta: ReportMeta,
    *,
    pdf_max_rows: int = DEFAULT_PDF_MAX_ROWS,
    csv_escape_formulas: bool = True,
) -> Rendered:
    """``rows`` (dicts keyed by column name) in ``fmt``; nothing is read until ``body`` is iterated."""
    columns = list(columns)
    row_iter = iter(rows)
    if fmt is Format.PDF:
        from reports_core.formats.pdf import render_pdf  # fpdf2 is slow to import: only when needed

        body = render_pdf(columns, row_iter, meta, max_rows=pdf_max_rows)
    elif fmt is Format.XLSX:
        from reports_core.formats.xlsx import render_xlsx

        body = render_xlsx(columns, row_iter, meta)
    elif fmt is Format.CSV:
        body = render_csv(columns, row_iter, meta, escape_formulas=csv_escape_formulas)
    else:
        body = _TEXT_RENDERERS[fmt](columns, row_iter, meta)
    filename = download_filename(meta, fmt)
    headers = {"Content-Disposition": content_disposition(filename, attachment=fmt.is_download)}
    return Rendered(media_type=fmt.media_type, headers=headers, body=body, filename=filename)
