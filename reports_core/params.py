"""Query-string parameters of a report call, checked against the catalog before the database is touched.

A report's parameters are named by their SQL names verbatim (``p_from``, ``p_grain``, ...); the
reserved names :data:`RESERVED` belong to the HTTP layer. Each value is parsed by its SQL type into
the Python value psycopg binds with that type (ISO 8601 ``date``, integers within the range of
``smallint``/``integer``/``bigint``, finite ``numeric``, ``boolean`` spelled as PostgreSQL accepts
it, arrays as comma-separated elements); a type not listed here is sent as text of unknown type
for the server to parse (its 22xxx error is a 400 too). Omitted parameters keep their SQL default.
Every refusal is a :class:`ParamError` naming the parameter.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from psycopg.types.numeric import Float4

from reports_core.catalog import RESERVED, Parameter, Report

__all__ = ["RESERVED", "Paging", "ParamError", "params_used", "parse_paging", "parse_params", "parse_value"]
MAX_VALUE_LENGTH = 10_000
_BIGINT_MAX = 2**63 - 1
#: Largest ``offset``: the row count of PostgreSQL's ``MOVE`` is a 32-bit integer.
MAX_OFFSET = 2**31 - 1
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMERIC = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TRUE = frozenset({"t", "true", "y", "yes", "on", "1"})
_FALSE = frozenset({"f", "false", "n", "no", "off", "0"})


class ParamError(ValueError):
    """A refused query parameter (400): ``parameter`` is its name."""

    def __init__(self, parameter: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{parameter} {message}")
        self.parameter = parameter
        self.hint = hint


@dataclass(frozen=True)
class Paging:
    limit: int | None  # None: every row
    offset: int


def _integer(low: int, high: int, kind: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not _INTEGER.fullmatch(text.strip()):
            raise ValueError(f"must be an integer ({kind})")
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"is out of range for type {kind} ({low} to {high})")
        return value

    return parse


def _numeric(text: str) -> Decimal:
    if not _NUMERIC.fullmatch(text.strip()):
        raise ValueError("must be a decimal number, e.g. 12.5")
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise ValueError("must be a decimal number, e.g. 12.5") from None


def _float(text: str) -> float:
    value = float(_numeric(text))
    if not math.isfinite(value):
        raise ValueError("is out of range for a floating-point number")
    return value


def _date(text: str) -> date:
    if not _DATE.fullmatch(text.strip()):
        raise ValueError("must be a date in ISO 8601 form YYYY-MM-DD, e.g. 2026-01-31")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("is not a valid calendar date (YYYY-MM-DD)") from None


def _timestamp(aware: bool) -> Callable[[str], datetime]:
    def parse(text: str) -> datetime:
        try:
            value = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError("must be an ISO 8601 timestamp, e.g. 2026-01-31T09:30:00Z") from None
        if aware and value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-01-31T09:30:00Z or +02:00")
        if not aware and value.tzinfo is not None:
            raise ValueError("must not have a UTC offset (timestamp without time zone)")
        return value

    return parse


def _boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("must be a boolean: true or false")


def _text(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise ValueError("must be a UUID") from None


PARSERS: dict[str, Callable[[str], Any]] = {
    "smallint": _integer(-(2**15), 2**15 - 1, "smallint"),
    "integer": _integer(-(2**31), 2**31 - 1, "integer"),
    "bigint": _integer(-(2**63), _BIGINT_MAX, "bigint"),
    "numeric": _numeric,
    "real": lambda text: Float4(_float(text)),
    "double precision": _float,
    "boolean": _boolean,
    "date": _date,
    "timestamp with time zone": _timestamp(True),
    "timestamp without time zone": _timestamp(False),
    "text": _text,
    "character varying": _text,
    "uuid": _uuid,
}


def parse_value(parameter: Parameter, text: str) -> Any:
    """The Python value of ``text`` for ``parameter``'s SQL type; :class:`ParamError` when invalid."""
    if len(text) > MAX_VALUE_LENGTH:
        raise ParamError(parameter.name, f"is longer than {MAX_VALUE_LENGTH} characters")
    kind = parameter.type
    try:
        if kind.endswith("[]"):
            element = PARSERS.get(kind[:-2], _text)
            return [element(item) for item in text.split(",")] if text else []
        return PARSERS.get(kind, _text)(text)
    except ValueError as exc:
        shown = text if len(text) <= 60 else text[:57] + "..."
        hint = f"{parameter.name} is of type {kind}."
        raise ParamError(parameter.name, f"{exc} (got {shown!r})", hint) from None


def _single(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for key, value in items:
        if key in seen:
            raise ParamError(key, "is given more than once", "Give each parameter at most once.")
        seen[key] = value
    return seen


def parse_params(report: Report, query: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The report's parameters given in ``query`` (name, value pairs), parsed; omitted ones are left out."""
    given = _single(query)
    names = ", ".join(p.name for p in report.parameters) or "none"
    for key in given:
        if key not in RESERVED and report.parameter(key) is None:
            raise ParamError(
                key, f"is not a parameter of report {report.name}", f"Parameters of {report.name}: {names}."
            )
    values: dict[str, Any] = {}
    for parameter in report.parameters:
        if parameter.name in given:
            values[parameter.name] = parse_value(parameter, given[parameter.name])
        elif parameter.required:
            raise ParamError(parameter.name, "is required", f"{parameter.name} is of type {parameter.type}.")
    return values


def params_used(report: Report, values: dict[str, Any]) -> dict[str, Any]:
    """Every parameter as the call used it: the given value, else the default (None when not a constant)."""
    return {p.name: values.get(p.name, p.default) for p in report.parameters}


def parse_paging(query: Iterable[tuple[str, str]], *, max_limit: int | None) -> Paging:
    """``limit`` (0 to ``max_limit``; default ``max_limit``, None = no limit) and ``offset`` (0 to
    :data:`MAX_OFFSET`)."""
    given = _single((k, v) for k, v in query if k in ("limit", "offset"))
    top = max_limit if max_limit is not None else _BIGINT_MAX
    limit, offset = max_limit, 0
    if "limit" in given:
        limit = _paging_value("limit", given["limit"], top, f"at most {top} rows per page (REPORTS_MAX_ROWS)")
    if "offset" in given:
        offset = _paging_value("offset", given["offset"], MAX_OFFSET, "rows to skip")
    return Paging(limit, offset)


def _paging_value(name: str, text: str, top: int, what: str) -> int:
    if not _INTEGER.fullmatch(text.strip()) or not 0 <= int(text) <= top:
        raise ParamError(name, f"must be an integer from 0 to {top} (got {text[:40]!r})", f"{name}: {what}.")
    return int(text)
