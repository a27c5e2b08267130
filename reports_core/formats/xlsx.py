"""XLSX: one sheet of rows (header row bold and frozen) and an ``about`` sheet, streamed.

openpyxl's write-only workbook writes each row to a temporary file as it arrives, so memory
stays flat however many rows there are; the finished workbook (a zip) is written to another
anonymous temporary file and streamed out in chunks at the end. Disk, not memory, holds the
result meanwhile (tens of bytes a cell, deleted when the body is consumed or closed), and
the first byte is sent only once every row is read.

Cells keep their types: numbers are numeric cells (``numeric`` through its Decimal digits;
Excel itself holds doubles), ``date`` and ``timestamp`` are date cells (Excel has no time
zones: a timestamp is written as its wall-clock time in the database session's zone), text is
text (never a formula, even when it starts with ``=``), ``NULL`` an empty cell. More rows than
a sheet holds (1,048,576 with the header) continue on sheets ``data 2``, ``data 3``, ...
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from reports_core.formats.encoding import CHUNK_SIZE, close_rows, text_value
from reports_core.formats.model import Column, ReportMeta

MAX_SHEET_ROWS = 1_048_576
MAX_CELL_TEXT = 32_767
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_NATIVE = (bool, int, float, date, time, timedelta)


def sheet_title(name: str) -> str:
    """A valid sheet name (at most 31 characters, none of ``[]:*?/\\``)."""
    return (_SHEET_NAME_FORBIDDEN.sub("_", name).strip("'") or "data")[:31]


def _column_width(column: Column) -> float:
    by_type = {"date": 12, "timestamp with time zone": 26, "timestamp without time zone": 20}
    typical = by_type.get(column.type, 14 if column.is_numeric else 24)
    return float(min(max(len(column.name) + 2, typical), 60))


class _SheetWriter:
    """Appends rows to data sheets, starting a new sheet (with the header) when one is full."""

    def __init__(self, workbook: Workbook, title: str, columns: Sequence[Column], sheet_rows: int) -> None:
        self.workbook = workbook
        self.title = title
        self.columns = columns
        self.sheet_rows = sheet_rows
        self.sheets = 0
        self.sheet: WriteOnlyWorksheet | None = None
        self.used = 0

    def _new_sheet(self) -> WriteOnlyWorksheet:
        self.sheets += 1
        suffix = "" if self.sheets == 1 else f" {self.sheets}"
        sheet = self.workbook.create_sheet(sheet_title(self.title)[: 31 - len(suffix)] + suffix)
        for index, column in enumerate(self.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = _column_width(column)
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for column in self.columns:
            cell = WriteOnlyCell(sheet, value=column.name)
            cell.data_type = "s"
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        self.used = 1
        return sheet

    def append(self, values: list[Any]) -> None:
        if self.sheet is None or self.used >= self.sheet_rows:
            self.sheet = self._new_sheet()
        self.sheet.append([_cell(self.sheet, value) for value in values])
        self.used += 1


def _text_cell(sheet: WriteOnlyWorksheet, text: str) -> Any:
    text = ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_CELL_TEXT]
    if not text.startswith("="):
        return text
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # text, not a formula
    return cell


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else text_value(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if isinstance(value, _NATIVE):
        return value
    return _text_cell(sheet, text_value(value) or "")


def _write_about(workbook: Workbook, meta: ReportMeta, count: int) -> None:
    sheet = workbook.create_sheet("about")
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 40
    bold = Font(bold=True)

    def line(label: str, value: Any) -> None:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = bold
        sheet.append([cell, _cell(sheet, value)])

    line("report", meta.report)
    for name, value in meta.params.items():
        line(name, value)
    line("data as of", meta.refreshed_at)
    line("rows", count)
    if meta.paged:
        line("offset", meta.offset)
        line("limit", meta.limit)
        line("total rows", meta.total_rows)


def write_workbook(
    columns: Sequence[Column],
    rows: Iterator[Mapping[str, Any]],
    meta: ReportMeta,
    target: IO[bytes],
    *,
    sheet_rows: int = MAX_SHEET_ROWS,
) -> int:
    """Write the workbook of ``rows`` to ``target``; returns the number of rows written."""
    workbook = Workbook(write_only=True)
    writer = _SheetWriter(workbook, meta.report, columns, sheet_rows)
    names = [column.name for column in columns]
    count = 0
    try:
        for row in rows:
            writer.append([row[name] for name in names])
            count += 1
    finally:
        close_rows(rows)
    if writer.sheet is None:  # no rows: still a sheet with the header
        writer.sheet = writer._new_sheet()
    _write_about(workbook, meta, count)
    workbook.save(target)
    return count


def render_xlsx(
    columns: Sequence[Column],
    rows: Iterator[Mapping[str, Any]],
    meta: ReportMeta,
    *,
    sheet_rows: int = MAX_SHEET_ROWS,
) -> Iterator[bytes]:
    def body() -> Iterator[bytes]:
        with tempfile.TemporaryFile(prefix="reports-xlsx-") as spool:
            write_workbook(columns, rows, meta, spool, sheet_rows=sheet_rows)
            spool.seek(0)
            while chunk := spool.read(CHUNK_SIZE):
                yield chunk

    return body()
