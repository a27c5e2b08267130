"""The output formats (reports_core.formats): negotiation, value fidelity, file names, streaming.

No database: rows are synthetic dicts shaped like a report's (date, bigint, numeric with
trailing zeros, text with separators and Unicode, timestamptz, NULLs). Every format must give
back the same values: CSV and NDJSON are compared with the JSON rendering, XLSX cell by cell with
typed cells, the PDF through its extracted text. Streaming is shown twice: a renderer reads the
rows lazily (only a chunk's worth before its first bytes), and peak memory stays flat for a
million CSV rows (peak RSS of a child process) and under tracemalloc.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from numeric_samples import NUMERIC_TEXTS
from pypdf import PdfReader

from reports_core.formats import (
    Column,
    Format,
    FormatError,
    ReportMeta,
    download_filename,
    negotiate,
    render,
)
from reports_core.formats.xlsx import render_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

COLUMNS = [
    Column("period_start", "date"),
    Column("won_deals", "bigint"),
    Column("won_amount", "numeric"),
    Column("client_name", "text"),
    Column("last_won_at", "timestamp with time zone"),
    Column("growth_pct", "numeric"),
]
TEXTS = ["Acme, Inc.", 'say "hi"', "two\nlines", "Łódź — ünïcode", "=SUM(A1:A9)", "", None, "plain"]
META = ReportMeta(
    report="revenue_by_period",
    params={"p_from": date(2026, 1, 1), "p_to": date(2026, 6, 30), "p_grain": "month", "p_owner_id": None},
    refreshed_at=datetime(2026, 7, 1, 5, 30, tzinfo=UTC),
)


def sample_rows(n: int = len(TEXTS)) -> list[dict[str, Any]]:
    return [
        {
            "period_start": date(2026, 1, 1) + timedelta(days=7 * i),
            "won_deals": i * 1_000_003,
            "won_amount": Decimal("1234.50") * i,
            "client_name": TEXTS[i % len(TEXTS)],
            "last_won_at": datetime(2026, 1, 2, 9, 30, tzinfo=timezone(timedelta(hours=2)))
            + timedelta(hours=i),
            "growth_pct": None if i % 3 == 0 else Decimal("-12.3400") / i,
        }
        for i in range(n)
    ]


def rendered_bytes(fmt: Format, rows: list[dict[str, Any]], meta: ReportMeta = META, **kw: Any) -> bytes:
    return b"".join(render(fmt, COLUMNS, iter(rows), meta, **kw).body)


def as_json_value(value: Any) -> Any:
    """What the JSON rendering must hold for a row value (numbers parsed as Decimal)."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


# -- negotiation -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("accept", "param", "expected"),
    [
        (None, None, Format.JSON),
        ("", None, Format.JSON),
        ("*/*", None, Format.JSON),
        ("application/json", None, Format.JSON),
        ("application/x-ndjson", None, Format.NDJSON),
        ("application/ndjson", None, Format.NDJSON),
        ("text/csv", None, Format.CSV),
        ("TEXT/CSV; charset=utf-8", None, Format.CSV),
        (XLSX, None, Format.XLSX),
        ("application/pdf", None, Format.PDF),
        ("text/*", None, Format.CSV),
        ("application/*", None, Format.JSON),
        ("text/csv;q=0.5, application/pdf", None, Format.PDF),
        ("text/csv;q=0.5, */*;q=0.1", None, Format.CSV),
        ("text/csv;q=0.5, */*", None, Format.JSON),  # */* gives JSON q=1; csv's own range says 0.5
        ("application/*;q=0.9, text/csv;q=0.8", None, Format.JSON),
        ("text/csv, application/json", None, Format.CSV),  # a tie: the first listed
        ("*/*, application/pdf", None, Format.PDF),  # a tie: exact beats wildcard
        ("application/json;q=0, */*", None, Format.NDJSON),  # json refused; the next format
        ("text/csv;q=oops, application/pdf;q=0.1", None, Format.PDF),  # a bad q drops its range
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None, Format.JSON),  # a browser
        ("application/pdf", "csv", Format.CSV),  # ?format= wins
        (None, " XLSX ", Format.XLSX),
        ("text/html", "ndjson", Format.NDJSON),
    ],
)
def test_negotiation(accept: str | None, param: str | None, expected: Format) -> None:
    assert negotiate(accept, param) is expected


@pytest.mark.parametrize(
    ("accept", "param", "status"),
    [
        ("text/html", None, 406),
        ("application/json;q=0, text/csv;q=0", None, 406),
        ("image/png, text/plain", None, 406),
        (None, "xml", 400),
        ("text/csv", "", 400),
    ],
)
def test_negotiation_refuses(accept: str | None, param: str | None, status: int) -> None:
    with pytest.raises(FormatError) as info:
        negotiate(accept, param)
    assert info.value.status == status
    assert info.value.parameter == ("format" if status == 400 else None)
    assert "csv" in str(info.value)  # says what is available


# -- JSON, NDJSON, CSV -----------------------------------------------------------------------------
def test_json_holds_the_rows_exactly_and_meta_last() -> None:
    rows = sample_rows()
    text = rendered_bytes(Format.JSON, rows).decode()
    assert text.index('"data"') < text.index('"meta"')  # streamed: the row count comes after the rows
    doc = json.loads(text, parse_float=Decimal)
    assert doc["data"] == [{k: as_json_value(v) for k, v in row.items()} for row in rows]
    assert '"won_amount":1234.50' in text  # a JSON number with its exact digits
    meta = doc["meta"]
    assert meta["report"] == "revenue_by_period"
    assert meta["params"] == {
        "p_from": "2026-01-01",
        "p_to": "2026-06-30",
        "p_grain": "month",
        "p_owner_id": None,
    }
    assert meta["row_count"] == meta["total_rows"] == len(rows)
    assert meta["refreshed_at"] == "2026-07-01T05:30:00+00:00"
    assert meta["columns"] == [{"name": c.name, "type": c.type} for c in COLUMNS]


def test_json_meta_when_paged_and_empty() -> None:
    paged = ReportMeta("x", {}, total_rows=1234, limit=2, offset=10, extra={"request_id": "r1"})
    doc = json.loads(rendered_bytes(Format.JSON, sample_rows(2), paged))
    assert (doc["meta"]["row_count"], doc["meta"]["total_rows"]) == (2, 1234)
    assert (doc["meta"]["limit"], doc["meta"]["offset"], doc["meta"]["request_id"]) == (2, 10, "r1")
    empty = json.loads(rendered_bytes(Format.JSON, [], ReportMeta("x")))
    assert empty["data"] == [] and empty["meta"]["row_count"] == 0 and empty["meta"]["refreshed_at"] is None


def test_special_numbers_are_json_strings() -> None:
    row = dict.fromkeys((c.name for c in COLUMNS), None) | {
        "won_amount": Decimal("NaN"),
        "growth_pct": Decimal("-Infinity"),
    }
    doc = json.loads(rendered_bytes(Format.JSON, [row]))
    assert (doc["data"][0]["won_amount"], doc["data"][0]["growth_pct"]) == ("NaN", "-Infinity")


def test_numeric_text_from_the_server_is_written_as_the_same_json_as_its_decimal() -> None:
    # A JSON page loads numeric columns as the server's text (reports_http.pipeline.load_rows).
    texts = NUMERIC_TEXTS
    blank = dict.fromkeys((c.name for c in COLUMNS), None)
    as_text = [blank | {"won_amount": t} for t in texts]
    as_decimal = [blank | {"won_amount": Decimal(t)} for t in texts]
    assert rendered_bytes(Format.JSON, as_text) == rendered_bytes(Format.JSON, as_decimal)
    data = json.loads(rendered_bytes(Format.JSON, as_text), parse_float=Decimal, parse_int=Decimal)["data"]
    assert [row["won_amount"] for row in data[:4]] == [Decimal(t) for t in texts[:4]]
    assert [row["won_amount"] for row in data[4:]] == texts[4:]


def test_ndjson_lines_are_the_json_rows() -> None:
    rows = sample_rows()
    data = json.loads(rendered_bytes(Format.JSON, rows), parse_float=Decimal)["data"]
    lines = rendered_bytes(Format.NDJSON, rows).decode().split("\n")
    assert lines[-1] == ""  # every line ends with \n
    assert [json.loads(line, parse_float=Decimal) for line in lines[:-1]] == data


def test_csv_parses_back_to_the_json_values() -> None:
    rows = sample_rows(20)
    data = json.loads(rendered_bytes(Format.JSON, rows), parse_float=Decimal)["data"]
    raw = rendered_bytes(Format.CSV, rows, csv_escape_formulas=False).decode()
    parsed = list(csv.reader(io.StringIO(raw, newline="")))
    assert parsed[0] == [c.name for c in COLUMNS]
    expected = [["" if v is None else str(v) for v in row.values()] for row in data]
    assert parsed[1:] == expected


@pytest.mark.parametrize("text", ["=SUM(A1:A9)", "+1", "-2+3", "@cmd", "\tx", "\rx", "=", "-"])
def test_csv_escapes_text_that_a_spreadsheet_would_run_as_a_formula_by_default(text: str) -> None:
    row = sample_rows(1)[0] | {"client_name": text, "growth_pct": Decimal("-3.5")}
    parsed = list(csv.reader(io.StringIO(rendered_bytes(Format.CSV, [row]).decode(), newline="")))
    got = dict(zip(parsed[0], parsed[1], strict=True))
    assert got["client_name"] == "'" + text, "the text is kept, behind a quote"
    assert got["growth_pct"] == "-3.5", "a number is never changed"
    plain = list(
        csv.reader(io.StringIO(rendered_bytes(Format.CSV, [row], csv_escape_formulas=False).decode()))
    )
    assert dict(zip(plain[0], plain[1], strict=True))["client_name"] == text


@pytest.mark.parametrize("text", ["plain", "a=b", "1-2", " =x", "'=x", "", "Łódź"])
def test_csv_leaves_other_text_as_it_is(text: str) -> None:
    row = sample_rows(1)[0] | {"client_name": text}
    parsed = list(csv.reader(io.StringIO(rendered_bytes(Format.CSV, [row]).decode(), newline="")))
    assert dict(zip(parsed[0], parsed[1], strict=True))["client_name"] == text


def test_csv_keeps_null_and_empty_text_apart() -> None:
    row = dict.fromkeys((c.name for c in COLUMNS), None) | {"client_name": ""}
    lines = rendered_bytes(Format.CSV, [row, row | {"client_name": None}]).decode().split("\r\n")
    assert lines[1] == ',,,"",,'  # empty text is quoted, as COPY ... CSV writes it
    assert lines[2] == ",,,,,"  # NULL is nothing


# -- XLSX ------------------------------------------------------------------------------------------
def test_xlsx_holds_the_same_values_in_typed_cells() -> None:
    rows = sample_rows(20)
    book = openpyxl.load_workbook(io.BytesIO(rendered_bytes(Format.XLSX, rows)))
    assert book.sheetnames == ["revenue_by_period", "about"]
    sheet = book["revenue_by_period"]
    assert sheet.freeze_panes == "A2"
    cells = list(sheet.iter_rows())
    assert [c.value for c in cells[0]] == [c.name for c in COLUMNS]
    assert len(cells) == len(rows) + 1
    for row, line in zip(rows, cells[1:], strict=True):
        got = dict(zip((c.name for c in COLUMNS), line, strict=True))
        assert got["period_start"].is_date and got["period_start"].value.date() == row["period_start"]
        assert got["won_deals"].data_type == "n" and got["won_deals"].value == row["won_deals"]
        assert got["won_amount"].data_type == "n"
        assert math.isclose(got["won_amount"].value, float(row["won_amount"]))
        assert got["last_won_at"].is_date  # wall time of the value, Excel has no zones
        assert got["last_won_at"].value == row["last_won_at"].replace(tzinfo=None)
        if row["growth_pct"] is None:
            assert got["growth_pct"].value is None
        else:
            assert math.isclose(got["growth_pct"].value, float(row["growth_pct"]))
        # text stays text (a leading = is not a formula); NULL and "" are both an empty cell in Excel
        assert got["client_name"].value == (row["client_name"] or None)
        if row["client_name"]:
            assert got["client_name"].data_type == "s"
    about = {r[0]: r[1] for r in book["about"].iter_rows(values_only=True)}
    assert about["report"] == "revenue_by_period" and about["p_grain"] == "month"
    assert about["p_from"].date() == date(2026, 1, 1) and about["rows"] == len(rows)


def test_xlsx_continues_on_a_new_sheet_when_one_is_full() -> None:
    body = render_xlsx(COLUMNS, iter(sample_rows(7)), ReportMeta("r"), sheet_rows=3)
    book = openpyxl.load_workbook(io.BytesIO(b"".join(body)))
    assert book.sheetnames == ["r", "r 2", "r 3", "r 4", "about"]
    sheets = [list(book[name].iter_rows(values_only=True)) for name in book.sheetnames[:-1]]
    assert all(sheet[0][0] == "period_start" for sheet in sheets)  # each with the header
    assert [row[1] for sheet in sheets for row in sheet[1:]] == [r["won_deals"] for r in sample_rows(7)]


# -- PDF -------------------------------------------------------------------------------------------
def labelled_rows(n: int) -> list[dict[str, Any]]:
    return [row | {"client_name": f"client-{i:05d}"} for i, row in enumerate(sample_rows(n))]


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_pdf_has_title_parameters_refresh_time_and_values() -> None:
    pages = pdf_pages(rendered_bytes(Format.PDF, sample_rows(5)))
    assert len(pages) == 1
    first = pages[0]
    assert "Revenue by period" in first
    assert "From: 2026-01-01" in first and "To: 2026-06-30" in first and "Grain: month" in first
    assert "Data as of: 2026-07-01 05:30:00 UTC" in first
    assert "4,938.00" in first  # won_amount of row 4 (1234.50 * 4), grouped digits
    assert "4,000,012" in first  # won_deals of row 4
    assert "page 1 of 1" in first


def test_pdf_pages_repeat_the_header_and_hold_every_row_once() -> None:
    n = 150
    pages = pdf_pages(rendered_bytes(Format.PDF, labelled_rows(n)))
    per_page = [re.findall(r"client-(\d{5})", text) for text in pages]
    assert sorted(int(label) for page in per_page for label in page) == list(range(n))
    assert len(pages) > 2
    for number, text in enumerate(pages, start=1):
        assert f"page {number} of {len(pages)}" in text
        assert "period_start" in text and "growth_pct" in text  # the header row on each page
    # every page but the last is full: the page count follows from the rows a page holds
    first, later = len(per_page[0]), len(per_page[1])
    assert all(len(page) == later for page in per_page[1:-1])
    assert len(pages) == 1 + math.ceil((n - first) / later)


def test_pdf_is_landscape_with_many_columns() -> None:
    wide = [Column(f"column_{i}", "numeric") for i in range(12)]
    rows = [{c.name: Decimal(i) for c in wide} for i in range(3)]
    narrow = PdfReader(io.BytesIO(rendered_bytes(Format.PDF, sample_rows(3)))).pages[0].mediabox
    page = PdfReader(io.BytesIO(b"".join(render(Format.PDF, wide, iter(rows), META).body))).pages[0].mediabox
    assert narrow.width < narrow.height and page.width > page.height


def test_pdf_beyond_max_rows_says_it_is_truncated() -> None:
    rows = labelled_rows(60)
    pages = pdf_pages(rendered_bytes(Format.PDF, rows, pdf_max_rows=50))
    text = " ".join(pages)
    assert "client-00049" in text and "client-00050" not in text
    assert "Truncated: showing the first 50 rows" in text and "CSV" in text


# -- file names ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("meta", "fmt", "expected"),
    [
        (META, Format.CSV, "revenue_by_period_2026-01-01_2026-06-30.csv"),
        (
            ReportMeta("stage_funnel", {"p_from": "2025-07-01", "p_to": "2026-06-30"}),
            Format.PDF,
            "stage_funnel_2025-07-01_2026-06-30.pdf",
        ),
        (
            ReportMeta("payments_aging", {"p_as_of": datetime(2026, 6, 30, 12, tzinfo=UTC)}),
            Format.XLSX,
            "payments_aging_2026-06-30.xlsx",
        ),
        (ReportMeta("sales_pipeline", {"p_owner_id": 7}), Format.JSON, "sales_pipeline.json"),
        (ReportMeta('../x"; rm -rf\r\n', {"p_from": "2026-01-01; DROP"}), Format.CSV, "x_rm_-rf.csv"),
        (ReportMeta("...", {}), Format.NDJSON, "report.ndjson"),
    ],
)
def test_download_file_names(meta: ReportMeta, fmt: Format, expected: str) -> None:
    assert download_filename(meta, fmt) == expected
    header = render(fmt, COLUMNS, iter([]), meta).headers["Content-Disposition"]
    kind = "attachment" if fmt in (Format.CSV, Format.XLSX, Format.PDF) else "inline"
    assert header == f'{kind}; filename="{expected}"'


def test_media_types() -> None:
    types = {fmt: render(fmt, COLUMNS, iter([]), META).media_type for fmt in Format}
    assert types == {
        Format.JSON: "application/json",
        Format.NDJSON: "application/x-ndjson",
        Format.CSV: "text/csv; charset=utf-8",
        Format.XLSX: XLSX,
        Format.PDF: "application/pdf",
    }


# -- streaming -------------------------------------------------------------------------------------
STREAM_COLUMNS = [
    Column("day", "date"),
    Column("owner_id", "bigint"),
    Column("amount", "numeric"),
    Column("label", "text"),
]


def synthetic_rows(n: int) -> Iterator[dict[str, Any]]:
    """``n`` rows, each a new dict (as a cursor yields them), with values cycling over 1,000."""
    pool = [
        {
            "day": date(2020, 1, 1) + timedelta(days=i),
            "owner_id": i * 7919,
            "amount": Decimal(i * 7919) / 100,
            "label": f'owner {i}, team "{i % 7}"',
        }
        for i in range(1000)
    ]
    return (dict(row) for row in itertools.islice(itertools.cycle(pool), n))


class Tally:
    """Counts the rows a renderer has pulled and whether it closed the iterator."""

    def __init__(self, rows: Iterator[dict[str, Any]]) -> None:
        self.rows = rows
        self.pulled = 0
        self.closed = False

    def __iter__(self) -> Tally:
        return self

    def __next__(self) -> dict[str, Any]:
        row = next(self.rows)
        self.pulled += 1
        return row

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("fmt", [Format.CSV, Format.NDJSON, Format.JSON])
def test_text_formats_read_rows_lazily(fmt: Format) -> None:
    tally = Tally(synthetic_rows(100_000))
    body = render(fmt, STREAM_COLUMNS, tally, ReportMeta("big")).body
    assert tally.pulled == 0  # nothing is read before the body is iterated
    first = next(body)
    assert 0 < tally.pulled < 2_000  # one chunk's worth of rows, not the result
    assert len(first) >= 64 * 1024
    size = len(first) + sum(len(chunk) for chunk in body)
    assert tally.pulled == 100_000 and tally.closed and size > 100_000 * 30


def test_pdf_reads_no_more_than_it_shows() -> None:
    tally = Tally(synthetic_rows(100_000))
    b"".join(render(Format.PDF, STREAM_COLUMNS, tally, ReportMeta("big"), pdf_max_rows=200).body)
    assert tally.pulled == 201 and tally.closed  # one more row, to know it is truncated


def test_csv_peak_memory_under_tracemalloc_is_flat() -> None:
    rows = 200_000
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        size = sum(
            len(c) for c in render(Format.CSV, STREAM_COLUMNS, synthetic_rows(rows), ReportMeta("big")).body
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 7_000_000  # the output is bigger than what was ever held at once
    assert peak < 2_000_000, f"peak {peak:,} bytes while writing {size:,} bytes"


PEAK_RSS_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, "tests")  # as pytest imports the tests: their support modules are top-level
    from test_formats import STREAM_COLUMNS, synthetic_rows
    from reports_core.formats import Format, ReportMeta, render

    def kib(field):
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

    fmt, rows = Format(sys.argv[1]), int(sys.argv[2])
    body = render(fmt, STREAM_COLUMNS, synthetic_rows(rows), ReportMeta("big")).body
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the peak RSS (VmHWM) to the current RSS
    before = kib("VmRSS")
    size = sum(len(chunk) for chunk in body)
    print(kib("VmHWM") - before, size)
    """
)


def peak_rss_growth(fmt: Format, rows: int) -> tuple[int, int]:
    """(growth of the peak RSS in KiB, bytes written) while rendering ``rows`` rows in a child process."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS_SCRIPT, fmt.value, str(rows)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=Path(__file__).parents[1],
    )
    growth, size = done.stdout.split()
    return int(growth), int(size)


@pytest.mark.slow
def test_a_million_csv_rows_in_flat_memory() -> None:
    growth_kib, size = peak_rss_growth(Format.CSV, 1_000_000)
    assert size > 35_000_000
    assert growth_kib < 20 * 1024, f"peak RSS grew by {growth_kib:,} KiB while writing {size:,} bytes"


@pytest.mark.slow
def test_xlsx_spools_to_disk_in_flat_memory() -> None:
    # 30,000 rows x 4 cells: openpyxl's ordinary (not write-only) workbook would hold ~100 MB
    growth_kib, size = peak_rss_growth(Format.XLSX, 30_000)
    assert size > 500_000
    assert growth_kib < 20 * 1024, f"peak RSS grew by {growth_kib:,} KiB while writing {size:,} bytes"
