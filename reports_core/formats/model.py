"""The vocabulary of the format layer: formats, columns, report metadata, a rendered body."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DEFAULT_PDF_MAX_ROWS = 5000  # REPORTS_PDF_MAX_ROWS


class Format(StrEnum):
    """An output format; the value is the name used by ``?format=`` and ``--format``."""

    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"

    @property
    def media_type(self) -> str:
        """The Content-Type of a response in this format."""
        return _MEDIA_TYPES[self]

    @property
    def extension(self) -> str:
        return self.value

    @property
    def is_download(self) -> bool:
        """True for the formats sent as a file (``Content-Disposition: attachment``)."""
        return self in (Format.CSV, Format.XLSX, Format.PDF)


_MEDIA_TYPES = {
    Format.JSON: "application/json",
    Format.NDJSON: "application/x-ndjson",
    Format.CSV: "text/csv; charset=utf-8",
    Format.XLSX: XLSX_MEDIA_TYPE,
    Format.PDF: "application/pdf",
}


@dataclass(frozen=True)
class Column:
    """A result column: its name and its PostgreSQL type name (``format_type``), e.g. ``numeric``."""

    name: str
    type: str

    @property
    def is_numeric(self) -> bool:
        """Numbers: right-aligned in PDF (the cell type decides in XLSX and JSON)."""
        return self.type in NUMERIC_TYPES


NUMERIC_TYPES = frozenset({"smallint", "integer", "bigint", "numeric", "real", "double precision", "money"})


@dataclass(frozen=True)
class ReportMeta:
    """What a rendering says about the rows besides the rows themselves.

    ``params``: the parameters used, by name (values as bound: ``date``, ``int``, ``str``, ...,
    or ``None``); ``refreshed_at``: when the data behind the report was last refreshed (None:
    unknown); ``total_rows``: rows of the whole result when ``limit``/``offset`` cut it (None:
    unknown; without paging it is the number of rows rendered); ``extra``: more JSON ``meta``
    members (e.g. a request id), appended as given.
    """

    report: str
    params: Mapping[str, Any] = field(default_factory=dict)
    refreshed_at: datetime | None = None
    total_rows: int | None = None
    limit: int | None = None
    offset: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def paged(self) -> bool:
        return self.limit is not None or self.offset > 0


@dataclass
class Rendered:
    """A rendering ready to send: ``body`` yields the bytes lazily (consume it once)."""

    media_type: str
    headers: dict[str, str]
    body: Iterator[bytes]
    filename: str
