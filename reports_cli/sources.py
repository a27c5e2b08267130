"""The source contract check: does the CRM database provide what reports reads?

The check itself is one read-only query, ``sql/checks/source_contract_check.sql``; this
module runs it and turns its rows into :class:`SourceProblem` values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

from reports_core.db import connect
from reports_core.errors import ReportsError
from reports_core.paths import sql_dir


def check_file() -> Path:
    """The SQL file of the check."""
    return sql_dir() / "checks" / "source_contract_check.sql"


@dataclass(frozen=True)
class SourceProblem:
    """One way in which the sources differ from the contract (a row of the check query)."""

    object: str
    problem: str
    expected: str
    actual: str

    def describe(self) -> str:
        """One line for the operator: ``<object>: <problem> (expected <expected>; actual <actual>)``."""
        return f"{self.object}: {self.problem} (expected {self.expected}; actual {self.actual})"


def check_sources(url: str) -> list[SourceProblem]:
    """Run the contract check against ``url`` as its user; an empty list means the contract holds."""
    try:
        query = check_file().read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportsError(f"cannot read the source contract check {check_file()}: {exc.strerror}") from None
    with connect(url) as conn:
        conn.read_only = True
        try:
            rows = conn.execute(query).fetchall()
        except psycopg.Error as exc:
            raise ReportsError(f"source contract check failed: {_first_line(exc)}") from None
    return [SourceProblem(r["object"], r["problem"], r["expected"], r["actual"]) for r in rows]


def format_problems(problems: Sequence[SourceProblem]) -> str:
    """Text for the terminal: a verdict line, then one line per problem."""
    if not problems:
        return "source contract OK: every table and column reports reads is present, compatible and readable"
    noun = "problem" if len(problems) == 1 else "problems"
    lines = [f"source contract violated: {len(problems)} {noun}"]
    lines += [f"  {problem.describe()}" for problem in problems]
    return "\n".join(lines)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
