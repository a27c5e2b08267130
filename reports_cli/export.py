"""``reports export``: one report function rendered to a file, as the database role of the URL.

The function must be exposed (in schema ``reports``, EXECUTE granted to ``reports_reader``: the
same rule as the HTTP catalog, read here straight from ``pg_catalog`` because the export role need
not be ``reports_api``). Parameters are checked against the catalog and parsed by their SQL type
with the HTTP API's parsers (:mod:`reports_core.params`), then bound as parameters with a cast to
the catalog type; identifiers are built with :mod:`psycopg.sql`. The call runs in a ``READ ONLY``
transaction, without a caller context, so the rules of a psql session apply to the database role
(docs/permissions.md), and streams through a server-side cursor into the renderers of
:mod:`reports_core.formats`; the file is written next to its target and renamed at the end, so
a failed export leaves no partial file.

Any refusal is a :class:`ReportsError` with one line: unknown report or parameter (listing the
valid ones), a bad value (naming the parameter), or ``[SQLSTATE] message (hint: ...)`` from
PostgreSQL (e.g. ``22023`` for a reversed range, ``42501`` for a role without access).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

from reports_core.catalog import Parameter, Report
from reports_core.db import connect
from reports_core.errors import ReportsError
from reports_core.formats import (
    Column,
    Format,
    FormatError,
    ReportMeta,
    download_filename,
    parse_format,
    render,
)
from reports_core.params import ParamError, parse_params

__all__ = ["ExportResult", "ExportTarget", "export_report", "parse_param_options", "resolve_target"]

ITERSIZE = 2000  # rows per round trip of the server-side cursor
STDOUT = "-"

# Every exposed function of schema reports with its arguments in order (none: one row of nulls).
_CATALOG = """
SELECT
    p.oid::bigint AS oid,
    p.proname::text AS name,
    a.ordinal,
    a.name AS arg_name,
    a.mode AS arg_mode,
    pg_catalog.format_type(a.type_oid, NULL) AS arg_type,
    tn.nspname::text AS type_schema,
    t.typname::text AS type_name,
    pg_catalog.pg_get_function_arg_default(p.oid, a.ordinal::integer) AS default_expression
FROM pg_catalog.pg_proc AS p
LEFT JOIN LATERAL unnest(
    coalesce(p.proallargtypes, p.proargtypes::oid []),
    coalesce(p.proargmodes, pg_catalog.array_fill('i'::"char", ARRAY[p.pronargs]::integer [])),
    p.proargnames
) WITH ORDINALITY AS a (type_oid, mode, name, ordinal) ON TRUE
LEFT JOIN pg_catalog.pg_type AS t ON t.oid = a.type_oid
LEFT JOIN pg_catalog.pg_namespace AS tn ON tn.oid = t.typnamespace
WHERE
    p.pronamespace = 'reports'::regnamespace
    AND p.prokind = 'f'
    AND p.proretset
    AND NOT starts_with(p.proname::text, '_')
    AND pg_catalog.has_function_privilege('reports_reader', p.oid, 'EXECUTE')
ORDER BY p.proname, p.oid, a.ordinal
"""

# When the data was last refreshed (the oldest summary), for those who may read it.
_REFRESH_STATUS = "reports.refresh_status()"
_REFRESHED_AT = "SELECT min(s.last_success_at) AS refreshed_at FROM reports.refresh_status() AS s"

_QUOTED_DEFAULT = re.compile(r"^'((?:[^']|'')*)'(?:::[a-z_ ]+(?:\[\])*)?$")
_BARE_DEFAULT = re.compile(r"^(-?[0-9]+(?:\.[0-9]+)?|true|false)(?:::[a-z_ ]+)?$")


@dataclass(frozen=True)
class _Argument:
    parameter: Parameter
    cast: sql.Composable  # the catalog type, schema-qualified: "pg_catalog"."date"


@dataclass(frozen=True)
class _Function:
    report: Report
    arguments: Mapping[str, _Argument]  # by parameter name


@dataclass(frozen=True)
class ExportTarget:
    """Where the export goes: a file path, or standard output (``path`` None)."""

    path: Path | None
    fmt: Format


@dataclass(frozen=True)
class ExportResult:
    rows: int  # rows written (for PDF: at most pdf_max_rows)
    truncated: bool  # PDF only: the report had more rows than the document shows
    target: ExportTarget


def parse_param_options(options: Sequence[str]) -> list[tuple[str, str]]:
    """``KEY=VALUE`` options as pairs, in order; refuses an option without ``=``."""
    pairs = []
    for option in options:
        key, equals, value = option.partition("=")
        if not equals or not key.strip():
            raise ReportsError(f"--param must be KEY=VALUE (got {option!r})")
        pairs.append((key.strip(), value))
    return pairs


def resolve_target(
    output: str | None, fmt: str | None, report: str, params: Mapping[str, Any]
) -> ExportTarget:
    """The format (``--format``, else the extension of ``-o``, else csv) and the output path
    (``-o``; ``-`` is standard output; none: the download file name in the current directory)."""
    chosen: Format | None = None
    try:
        if fmt is not None:
            chosen = parse_format(fmt)
        elif output not in (None, STDOUT):
            suffix = Path(str(output)).suffix.lstrip(".").lower()
            chosen = Format(suffix) if suffix in {f.value for f in Format} else None
    except FormatError as exc:
        raise ReportsError(f"--format: {exc}") from None
    chosen = chosen or Format.CSV
    if output == STDOUT:
        return ExportTarget(None, chosen)
    if output is None:
        return ExportTarget(Path(download_filename(ReportMeta(report, params), chosen)), chosen)
    return ExportTarget(Path(output), chosen)


def _default_value(expression: str | None) -> Any:
    """A constant default as a value, for display in the export's metadata; else its SQL text."""
    if expression is None or expression.upper().startswith("NULL"):
        return None
    if quoted := _QUOTED_DEFAULT.match(expression):
        return quoted.group(1).replace("''", "'")
    if bare := _BARE_DEFAULT.match(expression):
        text = bare.group(1)
        if text in ("true", "false"):
            return text == "true"
        return Decimal(text) if "." in text else int(text)
    return expression


def _read_functions(conn: psycopg.Connection[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    functions: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(_CATALOG):
        functions.setdefault(row["name"], []).append(row)
    return functions


def _function(name: str, rows: list[dict[str, Any]]) -> _Function:
    if len({r["oid"] for r in rows}) > 1:
        raise ReportsError(f"reports.{name} has several signatures; export needs one signature per name")
    inputs = [r for r in rows if r["arg_mode"] in ("i", "b", "v")]
    outputs = [r for r in rows if r["arg_mode"] in ("o", "b", "t")]
    if any(r["arg_name"] in (None, "") for r in inputs) or any(r["arg_mode"] == "v" for r in inputs):
        raise ReportsError(f"reports.{name} has an unnamed or VARIADIC parameter; export calls by name")
    if not outputs:
        raise ReportsError(f"reports.{name} returns no named columns (RETURNS TABLE or OUT parameters)")
    arguments = {}
    for position, row in enumerate(inputs, start=1):
        parameter = Parameter(
            name=row["arg_name"],
            type=row["arg_type"],
            has_default=row["default_expression"] is not None,
            default=_default_value(row["default_expression"]),
            default_expression=row["default_expression"],
            position=position,
        )
        cast = sql.Identifier(row["type_schema"], row["type_name"])
        arguments[parameter.name] = _Argument(parameter, cast)
    report = Report(
        name=name,
        comment="",
        parameters=tuple(a.parameter for a in arguments.values()),
        columns=tuple(Column(r["arg_name"], r["arg_type"]) for r in outputs),
        summaries=(),
    )
    return _Function(report, arguments)


def _describe(parameter: Parameter) -> str:
    state = "required" if parameter.required else f"default {parameter.default_expression}"
    return f"{parameter.name} ({parameter.type}, {state})"


def _lookup(conn: psycopg.Connection[dict[str, Any]], name: str) -> _Function:
    functions = _read_functions(conn)
    if name not in functions:
        valid = ", ".join(functions) or "none"
        raise ReportsError(f"unknown report {name!r}; reports you can export: {valid}")
    return _function(name, functions[name])


def _bind(function: _Function, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Parsed values by parameter name; ``from=...`` is accepted for ``p_from``."""
    report = function.report
    valid = "; ".join(_describe(p) for p in report.parameters) or "none"
    named = []
    for key, value in pairs:
        if key not in function.arguments and f"p_{key}" in function.arguments:
            key = f"p_{key}"
        if key not in function.arguments:
            raise ReportsError(f"unknown parameter {key!r} of report {report.name}; parameters: {valid}")
        named.append((key, value))
    try:
        return parse_params(report, named)
    except ParamError as exc:
        given = {key for key, _ in named}
        listing = "" if exc.parameter in given else f"; parameters of {report.name}: {valid}"
        raise ReportsError(f"--param {exc}{listing}") from None


def _call(function: _Function, values: Mapping[str, Any]) -> sql.Composed:
    """``SELECT * FROM reports.<name>(<param> => %s::<type>, ...)``."""
    arguments = [
        sql.SQL("{} => {}::{}").format(sql.Identifier(name), sql.Placeholder(), function.arguments[name].cast)
        for name in values
    ]
    return sql.SQL("SELECT * FROM {}.{}({})").format(
        sql.Identifier("reports"), sql.Identifier(function.report.name), sql.SQL(", ").join(arguments)
    )


def _refreshed_at(conn: psycopg.Connection[dict[str, Any]]) -> datetime | None:
    may = conn.execute(
        "SELECT pg_catalog.has_function_privilege(%s, 'EXECUTE') AS may", [_REFRESH_STATUS]
    ).fetchone()
    if not may or not may["may"]:
        return None
    row = conn.execute(_REFRESHED_AT).fetchone()
    return row["refreshed_at"] if row else None


def _sql_error(exc: psycopg.Error) -> ReportsError:
    diag = exc.diag
    message = (diag.message_primary or str(exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
    code = f"[{diag.sqlstate}] " if diag.sqlstate else ""
    hint = f" (hint: {' '.join(diag.message_hint.split())})" if diag.message_hint else ""
    return ReportsError(f"{code}{message}{hint}")


class _Counter:
    """Counts the rows passing through."""

    def __init__(self, rows: Iterator[dict[str, Any]]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self.rows:
            self.count += 1
            yield row


def _write(chunks: Iterator[bytes], target: ExportTarget, stdout: IO[bytes]) -> None:
    if target.path is None:
        for chunk in chunks:
            stdout.write(chunk)
        stdout.flush()
        return
    directory = target.path.parent if str(target.path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{target.path.name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(temporary, target.path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export_report(
    url: str,
    name: str,
    param_options: Sequence[str],
    *,
    output: str | None,
    fmt: str | None,
    pdf_max_rows: int,
    csv_escape_formulas: bool = True,
    stdout: IO[bytes] | None = None,
) -> ExportResult:
    """Export report ``name`` (see the module docstring); returns what was written."""
    pairs = parse_param_options(param_options)
    try:
        with connect(url, application_name="reports export") as conn:
            conn.read_only = True
            function = _lookup(conn, name)
            values = _bind(function, pairs)
            used = {p.name: values.get(p.name, p.default) for p in function.report.parameters}
            target = resolve_target(output, fmt, name, used)
            meta = ReportMeta(report=name, params=used, refreshed_at=_refreshed_at(conn))
            with conn.cursor(name="reports_export") as cursor:
                cursor.itersize = ITERSIZE
                cursor.execute(_call(function, values), list(values.values()))
                counter = _Counter(iter(cursor))
                rendered = render(
                    target.fmt,
                    function.report.columns,
                    iter(counter),
                    meta,
                    pdf_max_rows=pdf_max_rows,
                    csv_escape_formulas=csv_escape_formulas,
                )
                _write(rendered.body, target, stdout or sys.stdout.buffer)
    except psycopg.Error as exc:
        raise _sql_error(exc) from None
    truncated = target.fmt is Format.PDF and counter.count > pdf_max_rows
    rows = min(counter.count, pdf_max_rows) if target.fmt is Format.PDF else counter.count
    return ExportResult(rows=rows, truncated=truncated, target=target)
