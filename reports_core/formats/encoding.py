"""Value encoding shared by every format, decided once here.

- ``NULL`` is JSON ``null``, an empty CSV field (an empty *string* is written ``""``, as
  PostgreSQL's ``COPY ... CSV`` does), an empty XLSX cell and an empty PDF cell.
- ``numeric`` (``Decimal``) is exact everywhere: a JSON/NDJSON *number* written from the
  Decimal's own digits (``12.50`` stays ``12.50``; never through a float), the same digits in
  CSV; ``NaN`` and ``±Infinity`` (not JSON numbers) are the strings ``"NaN"``, ``"Infinity"``,
  ``"-Infinity"``, as PostgreSQL's ``to_json`` writes them. A JSON consumer that parses numbers
  into binary floats (JavaScript) loses digits beyond about 15 significant ones; ``meta.columns``
  gives each column's type for consumers that want to parse ``numeric`` as decimals.
- integers are JSON numbers (``bigint`` beyond 2**53 is exact in the bytes, same caveat).
- ``date`` is ISO 8601 ``2026-01-31``; ``timestamp [with time zone]`` is ISO 8601 with ``T``
  (``2026-01-31T09:30:00+00:00``; the offset is the database session's time zone); ``interval``
  is an ISO 8601 duration (``P1DT2H``); booleans ``true``/``false``; arrays and ``json(b)`` are
  JSON (in CSV: their JSON text); ``bytea`` is ``\\x`` + hex, as PostgreSQL prints it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from reports_core.formats.model import Column

CHUNK_SIZE = 64 * 1024
_encode_basestring: Callable[[str], str] = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _decimal_text(value: Decimal) -> str:
    if value.is_finite():
        return format(value, "f")
    if value.is_nan():
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _float_text(value: float) -> str:
    if math.isfinite(value):
        return repr(value)
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def interval_text(value: timedelta) -> str:
    """ISO 8601 duration of a timedelta: ``P1DT2H3M4.5S``, ``-P2D``, ``PT0S``."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    days = value.days
    seconds = value.seconds
    micros = value.microseconds
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = f"{sign}P{days}D" if days else f"{sign}P"
    clock = ""
    if hours:
        clock += f"{hours}H"
    if minutes:
        clock += f"{minutes}M"
    if secs or micros:
        clock += f"{secs}.{micros:06d}".rstrip("0").rstrip(".") + "S"
    if clock or not days:
        out += "T" + (clock or "0S")
    return out


def text_value(value: Any) -> str | None:
    """The text of a value in CSV, PDF and file names; None for NULL."""
    if value is None:
        return None
    encode = _TEXT.get(type(value))
    if encode is not None:
        return encode(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple, dict)):
        return json_value(value)
    return str(value)


_TEXT: dict[type, Callable[[Any], str]] = {
    str: str,
    bool: lambda v: "true" if v else "false",
    int: str,
    Decimal: _decimal_text,
    float: _float_text,
    date: date.isoformat,
    datetime: datetime.isoformat,
    time: time.isoformat,
    timedelta: interval_text,
    UUID: str,
    bytes: lambda v: "\\x" + v.hex(),
    memoryview: lambda v: "\\x" + bytes(v).hex(),
}


def _json_string(value: str) -> str:
    """``json.dumps(value, ensure_ascii=False)``, without its per-call encoder set-up."""
    return _encode_basestring(value)


def _json_decimal(value: Decimal) -> str:
    text = _decimal_text(value)
    return text if value.is_finite() else f'"{text}"'


def _json_float(value: float) -> str:
    text = _float_text(value)
    return text if math.isfinite(value) else f'"{text}"'


def _json_array(value: Sequence[Any]) -> str:
    return "[" + ",".join(json_value(item) for item in value) + "]"


def _json_mapping(value: Mapping[str, Any]) -> str:
    return "{" + ",".join(f"{_json_string(str(k))}:{json_value(v)}" for k, v in value.items()) + "}"


_JSON: dict[type, Callable[[Any], str]] = {
    str: _json_string,
    bool: lambda v: "true" if v else "false",
    int: str,
    Decimal: _json_decimal,
    float: _json_float,
    list: _json_array,
    tuple: _json_array,
    dict: _json_mapping,
}


def json_value(value: Any) -> str:
    """The JSON text of one value (see the module docstring)."""
    if value is None:
        return "null"
    encode = _JSON.get(type(value))
    if encode is not None:
        return encode(value)
    text = text_value(value)
    return "null" if text is None else _json_string(text)


def _json_numeric(value: Any) -> str:
    """A ``numeric`` value: a ``Decimal``, or the server's own text of it (``12.50``, ``NaN``: see
    :func:`reports_http.pipeline.load_rows`), whose digits are already the JSON number."""
    if value is None:
        return "null"
    if type(value) is str:
        return value if value[-1].isdigit() else f'"{value}"'
    return json_value(value)


def _json_integer(value: Any) -> str:
    return "null" if value is None else str(value)


def _json_text(value: Any) -> str:
    return "null" if value is None else _json_string(value)


def _json_iso(value: Any) -> str:
    return "null" if value is None else f'"{value.isoformat()}"'


#: Encoders chosen once per column by its type name, for the common scalar types (the same text
#: as :func:`json_value`, without its lookup per value); other types go through ``json_value``.
_JSON_BY_TYPE: dict[str, Callable[[Any], str]] = {
    "numeric": _json_numeric,
    "bigint": _json_integer,
    "integer": _json_integer,
    "smallint": _json_integer,
    "text": _json_text,
    "date": _json_iso,
    "timestamp with time zone": _json_iso,
    "timestamp without time zone": _json_iso,
}


def json_object_encoder(columns: Sequence[Column]) -> Callable[[Mapping[str, Any]], str]:
    """A function writing a row as a JSON object, members in column order."""
    keys = [
        (column.name, _json_string(column.name) + ":", _JSON_BY_TYPE.get(column.type, json_value))
        for column in columns
    ]

    def encode(row: Mapping[str, Any]) -> str:
        return "{" + ",".join(key + value(row[name]) for name, key, value in keys) + "}"

    return encode


def json_params(params: Mapping[str, Any]) -> str:
    return _json_mapping(params)


def chunked(pieces: Iterable[str], size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """UTF-8 bytes of ``pieces`` in chunks of about ``size`` bytes (fewer, larger writes)."""
    buffer: list[str] = []
    length = 0
    for piece in pieces:
        buffer.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(buffer).encode()
            buffer.clear()
            length = 0
    if buffer:
        yield "".join(buffer).encode()


def close_rows(rows: Iterator[Any]) -> None:
    """Close a row iterator that can be closed (a generator holding a cursor), else nothing."""
    close = getattr(rows, "close", None)
    if callable(close):
        close()
