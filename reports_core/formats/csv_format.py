"""CSV (RFC 4180): a header row of column names, then one line per row, ``\\r\\n``, UTF-8, streamed.

A field is quoted when it holds ``"``, ``,``, ``\\r`` or ``\\n``; ``NULL`` is an empty field and an
empty string is ``""`` (PostgreSQL's ``COPY ... CSV`` convention, so the two stay distinct).
Values are written exactly (see ``encoding``): numbers with all their digits, ISO 8601 dates.
No byte order mark. With ``escape_formulas`` (``REPORTS_CSV_ESCAPE_FORMULAS``, on by default) a
text value that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
``'``, so a spreadsheet shows it as text instead of running it as a formula (OWASP's "CSV
injection"); numbers, dates and booleans are never changed. Off, the file is raw data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from reports_core.formats.encoding import chunked, close_rows, text_value
from reports_core.formats.model import Column, ReportMeta

_NEEDS_QUOTES = re.compile(r'[",\r\n]')
_NEVER_QUOTED = frozenset({int, Decimal, float, bool})


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_field(value: Any, *, escape_formulas: bool = False) -> str:
    """One CSV field (see the module docstring)."""
    if value is None:
        return ""
    kind = type(value)
    if kind in _NEVER_QUOTED:
        return text_value(value) or ""
    text = value if kind is str else (text_value(value) or "")
    if not text:
        return '""'
    if escape_formulas and kind is str and text.startswith(_FORMULA_START):
        text = "'" + text
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def render_csv(
    columns: Sequence[Column],
    rows: Iterator[Mapping[str, Any]],
    meta: ReportMeta,
    *,
    escape_formulas: bool = True,
) -> Iterator[bytes]:
    names = [column.name for column in columns]
    escape = escape_formulas

    def pieces() -> Iterator[str]:
        yield ",".join(csv_field(name) for name in names) + "\r\n"
        try:
            for row in rows:
                yield ",".join([csv_field(row[name], escape_formulas=escape) for name in names]) + "\r\n"
        finally:
            close_rows(rows)

    return chunked(pieces())
