"""``reports docs``: write docs/metrics.md from the COMMENTs of the exposed report functions.

The database is the source of truth: a report function is documented (and exposed) when it lives in
schema ``reports``, is not ``_``-prefixed, ``reports_reader`` may EXECUTE it and it has a COMMENT. The
COMMENT's first line is the summary, the following lines the exact definition. Parameters (with their
defaults) and result columns come from ``pg_catalog``. The output is deterministic (no timestamp), so a
stale docs/metrics.md shows up as a diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports_core.db import connect

#: Role whose EXECUTE privilege marks a report function as exposed (``reports_api`` inherits it;
#: ``reports.set_caller`` is granted to ``reports_api`` alone and so is not a report).
EXPOSED_TO = "reports_reader"

REPORT_FUNCTIONS = """
SELECT
    p.oid,
    p.proname AS name,
    pg_catalog.pg_get_function_identity_arguments(p.oid) AS identity_arguments,
    pg_catalog.pg_get_function_arguments(p.oid) AS arguments,
    pg_catalog.obj_description(p.oid, 'pg_proc') AS comment,
    p.provolatile AS volatility,
    p.prosecdef AS security_definer
FROM pg_catalog.pg_proc AS p
JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
WHERE n.nspname = 'reports'
  AND p.prokind = 'f'
  AND left(p.proname, 1) <> '_'
  AND pg_catalog.has_function_privilege(%(role)s, p.oid, 'EXECUTE')
  AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NOT NULL
ORDER BY p.proname, 3
"""

FUNCTION_ARGUMENTS = """
SELECT
    a.position,
    a.name,
    coalesce(p.proargmodes[a.position], 'i') AS mode,
    pg_catalog.format_type(a.type, NULL) AS type,
    pg_catalog.pg_get_function_arg_default(p.oid, a.position::integer) AS default_value
FROM pg_catalog.pg_proc AS p
CROSS JOIN LATERAL unnest(
    coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargnames
) WITH ORDINALITY AS a (type, name, position)
WHERE p.oid = %(oid)s
ORDER BY a.position
"""

VOLATILITY = {"i": "IMMUTABLE", "s": "STABLE", "v": "VOLATILE"}


@dataclass(frozen=True)
class Argument:
    name: str
    type: str
    default: str | None


@dataclass(frozen=True)
class ReportFunction:
    name: str
    arguments: str
    summary: str
    definition: str
    volatility: str
    security_definer: bool
    parameters: tuple[Argument, ...]
    columns: tuple[Argument, ...]

    @property
    def signature(self) -> str:
        return f"reports.{self.name}({self.arguments})"


def read_report_functions(url: str) -> list[ReportFunction]:
    """The exposed report functions of the database at ``url``, by name."""
    with connect(url) as conn:
        rows = conn.execute(REPORT_FUNCTIONS, {"role": EXPOSED_TO}).fetchall()
        return [
            _report_function(row, conn.execute(FUNCTION_ARGUMENTS, {"oid": row["oid"]}).fetchall())
            for row in rows
        ]


def _report_function(row: dict[str, Any], arguments: list[dict[str, Any]]) -> ReportFunction:
    summary, _, definition = str(row["comment"]).strip().partition("\n")
    parameters = tuple(
        Argument(a["name"], a["type"], a["default_value"]) for a in arguments if a["mode"] in ("i", "b")
    )
    columns = tuple(Argument(a["name"], a["type"], None) for a in arguments if a["mode"] in ("o", "b", "t"))
    return ReportFunction(
        name=row["name"],
        arguments=row["arguments"],
        summary=summary.strip(),
        definition=definition.strip(),
        volatility=VOLATILITY.get(row["volatility"], row["volatility"]),
        security_definer=bool(row["security_definer"]),
        parameters=parameters,
        columns=columns,
    )


def render_metrics(functions: list[ReportFunction]) -> str:
    """docs/metrics.md for ``functions``."""
    lines = [
        "# Metrics: the report functions",
        "",
        "<!-- GENERATED FILE, do not edit: `reports docs` writes it from the COMMENTs of the report",
        "     functions in the database (sql/repeatable/60_reports/). Change a comment there, migrate,",
        "     then run `reports docs`. -->",
        "",
        "Generated from the database: every function of schema `reports` that `reports_reader` may",
        "execute, with its parameters, result columns and the definition written in its COMMENT.",
        "Callers need membership in `reports_reader` (psql) or go through the HTTP service;",
        "what each caller sees is decided by `reports.access_rules` (docs/permissions.md).",
        "",
        *[f"- [`{f.name}`](#{f.name}): {f.summary}" for f in functions],
    ]
    for f in functions:
        lines += ["", f"## {f.name}", "", f.summary, "", "```sql", f"{f.signature}", "```", ""]
        lines.append(f"{f.volatility}{', SECURITY DEFINER' if f.security_definer else ''}.")
        lines += ["", "| parameter | type | default |", "| --- | --- | --- |"]
        parameters = [f"| `{a.name}` | `{a.type}` | {_code(a.default)} |" for a in f.parameters]
        lines += parameters or ["| (none) | | |"]
        lines += ["", "| column | type |", "| --- | --- |"]
        lines += [f"| `{c.name}` | `{c.type}` |" for c in f.columns]
        if f.definition:
            lines += ["", f.definition]
    return "\n".join(lines) + "\n"


def _code(value: str | None) -> str:
    return "" if value is None else f"`{value}`"


def write_metrics_doc(url: str, path: Path) -> int:
    """Write the metrics document for the database at ``url`` to ``path``; the number of reports."""
    functions = read_report_functions(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_metrics(functions), encoding="utf-8")
    return len(functions)
