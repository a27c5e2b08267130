"""PDF: a readable A4 document of a report (fpdf2), built in memory, at most ``max_rows`` rows.

Page 1 starts with the title (the report name, humanised), the parameters, the refresh time of
the data and the row count; then the table: a bold header row repeated at the top of every
page, light stripes, numbers right-aligned with thousands separators, text left-aligned and
cut with ``...`` when wider than its column. Every page has ``page N of M`` at the bottom.
The page turns landscape when the columns do not fit the portrait width (or there are more
than ``PORTRAIT_MAX_COLUMNS``); the font shrinks down to ``MIN_FONT_SIZE`` before text is cut.

fpdf2 builds the whole document in memory, so rows beyond ``max_rows`` (the setting
``REPORTS_PDF_MAX_ROWS``) are not read: the document then says it is truncated, under the
title and after the table, and points to the CSV export for every row. Text uses DejaVu Sans
when the system has it (any Unicode), else Helvetica (characters outside Latin-1 become ``?``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

from fpdf import FPDF

from reports_core.formats.encoding import close_rows, text_value
from reports_core.formats.model import DEFAULT_PDF_MAX_ROWS, Column, ReportMeta

PORTRAIT_MAX_COLUMNS = 7
MARGIN = 10.0  # mm
FONT_SIZE = 8.0  # pt, table body
MIN_FONT_SIZE = 6.0
PADDING = 1.2  # mm, left and right inside a cell
LINE_FACTOR = 1.7  # row height = font size (mm) * factor
PT = 25.4 / 72  # mm per point
_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_STRIPE = (242, 244, 247)
_HEADER_FILL = (222, 226, 232)
_RULE = (160, 166, 175)


def humanise(name: str) -> str:
    """``revenue_by_period`` -> ``Revenue by period``; ``p_owner_id`` -> ``Owner id``."""
    words = name.removeprefix("p_").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def cell_text(value: Any) -> str:
    """How a value reads in the PDF: grouped digits for numbers, ISO dates, empty for NULL;
    line breaks and other control characters become spaces (one line per row)."""
    if isinstance(value, str):
        return _CONTROL.sub(" ", value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return format(value, ",f") if value.is_finite() else (text_value(value) or "")
    if isinstance(value, float):
        return f"{value:,.10g}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return _CONTROL.sub(" ", text_value(value) or "")


def _find_fonts() -> tuple[Path, Path] | None:
    for directory in _FONT_DIRS:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class _Document(FPDF):
    """An A4 report: running title on pages after the first, table header on every page."""

    def __init__(self, orientation: str, title: str, fonts: tuple[Path, Path] | None) -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN + 6)
        self.report_title = title
        self.unicode = fonts is not None
        if fonts is not None:
            self.add_font("body", "", str(fonts[0]))
            self.add_font("body", "B", str(fonts[1]))
            self.family = "body"
        else:
            self.family = "helvetica"
        self.table: _Table | None = None

    def clean(self, text: str) -> str:
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def header(self) -> None:
        if self.page_no() > 1:
            self.set_font(self.family, "B", 9)
            self.set_text_color(90, 90, 90)
            self.cell(0, 5, self.clean(self.report_title), new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(0, 0, 0)
            self.ln(1)
        if self.table is not None:
            self.table.draw_header(self)

    def footer(self) -> None:
        self.set_y(-MARGIN - 2)
        self.set_font(self.family, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(0, 0, 0)


@dataclass
class _Table:
    columns: Sequence[Column]
    widths: list[float]
    font_size: float
    texts: list[list[str]]
    text_widths: list[list[float]]
    header_widths: list[float]

    @property
    def row_height(self) -> float:
        return self.font_size * PT * LINE_FACTOR

    def _fit(self, pdf: _Document, text: str, width: float, natural: float) -> tuple[str, float]:
        room = width - 2 * PADDING
        if natural <= room:
            return text, natural
        while text and pdf.get_string_width(text + "...") > room:
            text = text[: max(len(text) - max(1, len(text) // 8), 0)]
        cut = text + "..." if text else ""
        return cut, pdf.get_string_width(cut)

    def _draw_line(self, pdf: _Document, texts: list[str], widths: list[float], baseline: float) -> None:
        x = pdf.l_margin
        for column, text, width, natural in zip(self.columns, texts, self.widths, widths, strict=True):
            text, natural = self._fit(pdf, text, width, natural)
            if text:
                left = x + width - PADDING - natural if column.is_numeric else x + PADDING
                pdf.text(left, baseline, text)
            x += width

    def draw_header(self, pdf: _Document) -> None:
        height = self.row_height
        y = pdf.get_y()
        pdf.set_fill_color(*_HEADER_FILL)
        pdf.rect(pdf.l_margin, y, sum(self.widths), height, style="F")
        pdf.set_font(pdf.family, "B", self.font_size)
        names = [pdf.clean(c.name) for c in self.columns]
        self._draw_line(pdf, names, self.header_widths, y + height * 0.68)
        pdf.set_draw_color(*_RULE)
        pdf.line(pdf.l_margin, y + height, pdf.l_margin + sum(self.widths), y + height)
        pdf.set_font(pdf.family, "", self.font_size)
        pdf.set_y(y + height)

    def draw_rows(self, pdf: _Document) -> None:
        height = self.row_height
        pdf.set_font(pdf.family, "", self.font_size)
        for index, (texts, widths) in enumerate(zip(self.texts, self.text_widths, strict=True)):
            if pdf.get_y() + height > pdf.page_break_trigger:
                pdf.add_page()
            y = pdf.get_y()
            if index % 2:
                pdf.set_fill_color(*_STRIPE)
                pdf.rect(pdf.l_margin, y, sum(self.widths), height, style="F")
            self._draw_line(pdf, texts, widths, y + height * 0.68)
            pdf.set_y(y + height)


def _layout(
    pdf: _Document, columns: Sequence[Column], texts: list[list[str]], available: float
) -> _Table | None:
    """Column widths at the largest font size that fits ``available`` mm; None if none fits."""
    for size in (FONT_SIZE, 7.0, MIN_FONT_SIZE):
        pdf.set_font(pdf.family, "B", size)
        header_widths = [pdf.get_string_width(pdf.clean(c.name)) for c in columns]
        pdf.set_font(pdf.family, "", size)
        text_widths = [[pdf.get_string_width(t) for t in row] for row in texts]
        natural = [
            max([header_widths[i], *(row[i] for row in text_widths)]) + 2 * PADDING
            for i in range(len(columns))
        ]
        if sum(natural) <= available or size == MIN_FONT_SIZE:
            return _Table(columns, natural, size, texts, text_widths, header_widths)
    return None


def _spread(widths: list[float], available: float) -> list[float]:
    """Stretch the columns to the page width; when too wide, shrink the widest ones first."""
    total = sum(widths)
    if total <= available:
        return [w * available / total for w in widths]
    fair = available / len(widths)
    narrow = [w for w in widths if w <= fair]
    room = available - sum(narrow)
    wide_total = sum(w for w in widths if w > fair)
    return [w if w <= fair else w * room / wide_total for w in widths]


def _title_block(pdf: _Document, meta: ReportMeta, shown: int, truncated: bool) -> None:
    pdf.set_font(pdf.family, "B", 16)
    pdf.multi_cell(0, 8, pdf.clean(pdf.report_title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font(pdf.family, "", 9)
    params = " \u00b7 ".join(
        f"{humanise(name)}: {cell_text(value) if value is not None else '(not set)'}"
        for name, value in meta.params.items()
    )
    pdf.multi_cell(0, 4.5, pdf.clean(f"Parameters: {params or '(none)'}"), new_x="LMARGIN", new_y="NEXT")
    refreshed = (
        meta.refreshed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if meta.refreshed_at
        else "unknown"
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    pdf.multi_cell(
        0, 4.5, f"Data as of: {refreshed} \u00b7 Generated: {generated}", new_x="LMARGIN", new_y="NEXT"
    )
    if truncated:
        pdf.set_font(pdf.family, "B", 9)
        pdf.set_text_color(160, 40, 30)
        pdf.multi_cell(0, 4.5, truncation_note(shown, meta.total_rows), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    else:
        pdf.multi_cell(0, 4.5, f"Rows: {shown:,}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def truncation_note(shown: int, total: int | None) -> str:
    of = f"of {total:,} rows" if total is not None else "rows (the report has more)"
    return f"Truncated: showing the first {shown:,} {of}; export CSV (?format=csv) for every row."


def build_pdf(
    columns: Sequence[Column],
    rows: Iterator[Mapping[str, Any]],
    meta: ReportMeta,
    *,
    max_rows: int = DEFAULT_PDF_MAX_ROWS,
) -> bytes:
    """The PDF document of at most ``max_rows`` of ``rows``."""
    try:
        taken = list(islice(rows, max_rows + 1))
    finally:
        close_rows(rows)
    truncated = len(taken) > max_rows
    taken = taken[:max_rows]
    fonts = _find_fonts()
    title = humanise(meta.report)
    names = [c.name for c in columns]

    probe = _Document("portrait", title, fonts)
    texts = [[probe.clean(cell_text(row[name])) for name in names] for row in taken]
    portrait_width = probe.w - 2 * MARGIN
    wide = len(columns) > PORTRAIT_MAX_COLUMNS
    if not wide:
        fitted = _layout(probe, columns, texts, portrait_width)
        wide = fitted is None or sum(fitted.widths) > portrait_width

    pdf = _Document("landscape" if wide else "portrait", title, fonts)
    available = pdf.w - 2 * MARGIN
    table = _layout(pdf, columns, texts, available)
    assert table is not None
    table.widths = _spread(table.widths, available)
    pdf.add_page()
    _title_block(pdf, meta, len(taken), truncated)
    if not taken:
        pdf.set_font(pdf.family, "", 10)
        pdf.cell(0, 6, "No rows.", new_x="LMARGIN", new_y="NEXT")
    else:
        table.draw_header(pdf)
        pdf.table = table  # from now on every new page starts with the header row
        table.draw_rows(pdf)
        pdf.table = None
        if truncated:
            pdf.ln(2)
            pdf.set_font(pdf.family, "B", 9)
            pdf.multi_cell(
                0, 4.5, truncation_note(len(taken), meta.total_rows), new_x="LMARGIN", new_y="NEXT"
            )
    return bytes(pdf.output())


def render_pdf(
    columns: Sequence[Column],
    rows: Iterator[Mapping[str, Any]],
    meta: ReportMeta,
    *,
    max_rows: int = DEFAULT_PDF_MAX_ROWS,
) -> Iterator[bytes]:
    def body() -> Iterator[bytes]:
        yield build_pdf(columns, rows, meta, max_rows=max_rows)

    return body()
