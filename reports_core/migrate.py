"""The SQL migration runner behind ``reports migrate`` (``scripts/migrate-local.sh`` is its psql twin).

Files under ``sql/`` (``REPORTS_SQL_DIR`` overrides the folder), Flyway-style:

- ``bootstrap/schema_migrations.sql``: run first on every run, under the lock; idempotent, not recorded.
- ``versioned/V<4 digits>__<what>.sql``: schema, tables, roles, indexes. Applied once, in version
  order, never edited after release: an applied file whose checksum changed, or that is missing
  from ``sql/`` (Flyway's "missing" state), stops the run before anything is applied. A pending
  file numbered below the highest applied version is refused too.
- ``repeatable/<NN>_<layer>/<concept>.sql``: views, functions, comments, grants. Idempotent;
  applied after all versioned files, in path order (byte order, as ``LC_ALL=C ls``), whenever
  new or changed. The grants files (``repeatable/90_grants/``) are also re-applied whenever any
  other repeatable file is, so that a function dropped and re-created keeps its privileges.

Each file is sent as ONE multi-statement string (no parameters, so it also runs with ``psql -f``)
in its own transaction together with its ``reports.schema_migrations`` row (checksum = sha256 of
the file's bytes, as ``sha256sum`` prints it). A failing file is rolled back entirely. The run
holds the session advisory lock :data:`ADVISORY_LOCK_KEY` from before the bootstrap to the end;
the psql twin takes the same key with ``pg_advisory_xact_lock`` in each file's transaction, so
concurrent runs of either runner apply each file once. After applying anything the run sends
``NOTIFY`` on :data:`NOTIFY_CHANNEL`.
"""

from __future__ import annotations

import getpass
import hashlib
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg
from psycopg import pq

from reports_core.db import connect, require_supported_server
from reports_core.errors import ReportsError
from reports_core.paths import sql_dir

#: Key of the migration advisory lock: the ASCII bytes of ``reports`` read as a big-endian integer
#: (``int.from_bytes(b"reports", "big")``). ``scripts/migrate-local.sh`` uses the same number.
ADVISORY_LOCK_KEY = 32199680925529203
#: Channel notified (``NOTIFY reports_catalog``) after a run applied at least one file; the payload
#: names the runner. The HTTP service listens on it to reload its catalog of report functions.
NOTIFY_CHANNEL = "reports_catalog"
#: Recorded in ``schema_migrations.runner`` (with the OS user), e.g. ``reports migrate (alice)``.
RUNNER = "reports migrate"
BOOTSTRAP = "bootstrap/schema_migrations.sql"
#: Repeatable layer re-applied whenever any repeatable file is applied (see ``MigrationPlan.to_apply``).
GRANTS_LAYER = "repeatable/90_grants/"

Conn = psycopg.Connection[dict[str, Any]]
_VERSIONED = re.compile(r"V(\d{4})__[a-z0-9_]+\.sql")
_LAYER = re.compile(r"\d{2}_[a-z0-9_]+")
_CONCEPT = re.compile(r"[a-z0-9_]+\.sql")


class Kind(StrEnum):
    VERSIONED = "versioned"
    REPEATABLE = "repeatable"


class State(StrEnum):
    APPLIED = "applied"  # recorded with the same checksum: nothing to do
    PENDING = "pending"  # never applied: the next run applies it
    CHANGED = "changed"  # repeatable file whose content changed: the next run re-applies it
    MODIFIED = "modified"  # versioned file changed after it was applied: an error
    MISSING = "missing"  # recorded in schema_migrations, but no longer in sql/


class MigrationError(ReportsError):
    """A refused or failed migration; ``script``, ``line`` and ``sqlstate`` when known."""

    def __init__(
        self, message: str, *, script: str | None = None, line: int | None = None, sqlstate: str | None = None
    ) -> None:
        super().__init__(message)
        self.script, self.line, self.sqlstate = script, line, sqlstate


@dataclass(frozen=True)
class SqlFile:
    script: str  # path relative to sql/
    kind: Kind
    version: int | None
    path: Path
    data: bytes

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class FileStatus:
    script: str
    kind: Kind
    version: int | None
    state: State
    checksum: str | None  # of the file on disk (None when missing)
    applied_checksum: str | None = None
    applied_at: datetime | None = None
    applied_by: str | None = None
    runner: str | None = None
    duration_ms: int | None = None


@dataclass(frozen=True)
class MigrationPlan:
    """Every file in apply order (versioned by version, then repeatable by path), then missing ones."""

    files: tuple[FileStatus, ...]
    #: The server it was read from (``PostgreSQL 18.6``), when read from one.
    server: str | None = field(default=None, compare=False)

    def _in(self, *states: State) -> tuple[FileStatus, ...]:
        return tuple(f for f in self.files if f.state in states)

    @property
    def to_apply(self) -> tuple[FileStatus, ...]:
        """Pending and changed files; plus every grants file when any repeatable file is applied.

        A repeatable file that drops and re-creates a function loses that function's GRANTs, so the
        files of :data:`GRANTS_LAYER` are re-applied (in their place, last) whenever another
        repeatable file is (re-)applied, even when their own content did not change.
        """
        base = self._in(State.PENDING, State.CHANGED)
        if not any(f.kind is Kind.REPEATABLE for f in base):
            return base
        return tuple(
            f
            for f in self.files
            if f in base or (f.state is State.APPLIED and f.script.startswith(GRANTS_LAYER))
        )

    @property
    def modified(self) -> tuple[FileStatus, ...]:
        return self._in(State.MODIFIED)

    @property
    def up_to_date(self) -> int:
        again = self.to_apply
        return len([f for f in self._in(State.APPLIED) if f not in again])

    @property
    def top_version(self) -> int:
        """The highest applied version (0 when none)."""
        return max((f.version or 0 for f in self.files if f.applied_checksum), default=0)

    @property
    def out_of_order(self) -> tuple[FileStatus, ...]:
        """Pending versioned files numbered below the highest applied version."""
        return tuple(f for f in self._in(State.PENDING) if 0 < (f.version or 0) < self.top_version)


@dataclass(frozen=True)
class AppliedFile:
    script: str
    state: State  # PENDING (first application) or CHANGED (re-applied)
    duration_ms: int


@dataclass(frozen=True)
class MigrationResult:
    applied: tuple[AppliedFile, ...]  # for a dry run: what would be applied (duration 0)
    up_to_date: int
    dry_run: bool = False

    @property
    def summary(self) -> str:
        if not self.applied:
            return f"nothing to apply: {self.up_to_date} files up to date"
        verb = "would apply" if self.dry_run else "applied"
        return f"{verb} {len(self.applied)} files ({self.up_to_date} up to date)"


def discover(root: Path | None = None) -> list[SqlFile]:
    """The versioned then repeatable files under ``root`` (default :func:`sql_dir`), in apply order."""
    root = root or sql_dir()
    if not (root / "versioned").is_dir():
        raise ReportsError(f"no versioned/ folder in {root} (REPORTS_SQL_DIR points elsewhere?)")
    versioned: dict[int, SqlFile] = {}
    for path in sorted((root / "versioned").rglob("*.sql")):
        script = path.relative_to(root).as_posix()
        match = _VERSIONED.fullmatch(path.name)
        if path.parent != root / "versioned" or not match:
            raise ReportsError(f"{script}: versioned files are named versioned/V<4 digits>__<what>.sql")
        version = int(match.group(1))
        if version in versioned:
            raise ReportsError(f"{script}: version {version} is also used by {versioned[version].script}")
        versioned[version] = SqlFile(script, Kind.VERSIONED, version, path, path.read_bytes())
    repeatable: list[SqlFile] = []
    for path in sorted((root / "repeatable").rglob("*.sql")) if (root / "repeatable").is_dir() else []:
        script = path.relative_to(root).as_posix()
        parts = script.split("/")
        if len(parts) != 3 or not _LAYER.fullmatch(parts[1]) or not _CONCEPT.fullmatch(parts[2]):
            raise ReportsError(f"{script}: repeatable files are named repeatable/<NN>_<layer>/<concept>.sql")
        repeatable.append(SqlFile(script, Kind.REPEATABLE, None, path, path.read_bytes()))
    repeatable.sort(key=lambda f: f.script.encode())
    return [versioned[v] for v in sorted(versioned)] + repeatable


def _applied_rows(conn: Conn) -> dict[str, dict[str, Any]]:
    row = conn.execute("SELECT to_regclass('reports.schema_migrations') IS NOT NULL AS present").fetchone()
    if not row or not row["present"]:
        return {}
    rows = conn.execute(
        "SELECT script, kind, version, checksum, applied_at, applied_by, runner, duration_ms"
        " FROM reports.schema_migrations ORDER BY kind DESC, version, script"
    ).fetchall()
    return {r["script"]: r for r in rows}


def _build_plan(files: list[SqlFile], applied: dict[str, dict[str, Any]]) -> MigrationPlan:
    result: list[FileStatus] = []
    for f in files:
        row = applied.get(f.script)
        if row is None:
            state = State.PENDING
        elif row["checksum"] == f.checksum:
            state = State.APPLIED
        else:
            state = State.MODIFIED if f.kind is Kind.VERSIONED else State.CHANGED
        result.append(FileStatus(f.script, f.kind, f.version, state, f.checksum, **_recorded(row)))
    on_disk = {f.script for f in files}
    for script, row in applied.items():
        if script not in on_disk:
            kind = Kind(row["kind"])
            result.append(FileStatus(script, kind, row["version"], State.MISSING, None, **_recorded(row)))
    return MigrationPlan(tuple(result))


def _recorded(row: dict[str, Any] | None) -> dict[str, Any]:
    keys = ("applied_at", "applied_by", "runner", "duration_ms")
    return {"applied_checksum": (row or {}).get("checksum")} | {k: (row or {}).get(k) for k in keys}


def plan(url: str, *, through_api: bool = False) -> MigrationPlan:
    """Read-only: the state of every file against ``reports.schema_migrations`` (absent = all pending).

    ``through_api`` reads the records with ``reports.api_applied_migrations()``, which the HTTP
    service's role may call (it may not read the table); without that function nothing is applied yet.
    """
    files = discover()
    with connect(url, autocommit=True, application_name=RUNNER) as conn:
        server = require_supported_server(conn)
        try:
            applied = _applied_rows_through_api(conn) if through_api else _applied_rows(conn)
            return replace(_build_plan(files, applied), server=server)
        except psycopg.Error as exc:
            raise ReportsError(f"cannot read reports.schema_migrations: {_one_line(exc)}") from None


def _applied_rows_through_api(conn: Conn) -> dict[str, dict[str, Any]]:
    row = conn.execute(
        "SELECT to_regprocedure('reports.api_applied_migrations()') IS NOT NULL AS present"
    ).fetchone()
    if not row or not row["present"]:
        return {}
    rows = conn.execute("SELECT script, kind, version, checksum FROM reports.api_applied_migrations()")
    return {r["script"]: r for r in rows.fetchall()}


def status(url: str) -> list[FileStatus]:
    """Per file: applied / pending / changed / modified (and missing), with ``applied_at``."""
    return list(plan(url).files)


def _refuse_problems(current: MigrationPlan) -> None:
    if current.modified:
        names = ", ".join(f.script for f in current.modified)
        first = current.modified[0]
        raise MigrationError(
            f"refusing to migrate: versioned file {names} changed after it was applied "
            f"(recorded sha256 {(first.applied_checksum or '')[:12]}…, file {(first.checksum or '')[:12]}…); "
            "restore it and put the change in a new versioned file; nothing was applied",
            script=first.script,
        )
    missing = [f for f in current._in(State.MISSING) if f.kind is Kind.VERSIONED]
    if missing:
        names = ", ".join(f.script for f in missing)
        raise MigrationError(
            f"refusing to migrate: versioned file {names} is recorded as applied but missing from sql/; "
            "restore it from version control (applied history is never deleted); nothing was applied",
            script=missing[0].script,
        )
    if current.out_of_order:
        names = ", ".join(f.script for f in current.out_of_order)
        raise MigrationError(
            f"refusing to migrate: {names} is numbered below version {current.top_version}, which is already"
            " applied; renumber it above the highest applied version; nothing was applied",
            script=current.out_of_order[0].script,
        )


def migrate(url: str, *, dry_run: bool = False, progress: Callable[[str], None] = print) -> MigrationResult:
    """Apply pending versioned files, then new or changed repeatable files; see the module docstring.

    Raises :class:`MigrationError` (a :class:`ReportsError`) when a versioned file was modified after
    it was applied or is out of order (nothing applied), or when a file fails (that file rolled back;
    files applied before it in this run stay applied). ``dry_run`` only reads and changes nothing.
    """
    files = discover()
    if dry_run:
        current = plan(url)
        _refuse_problems(current)
        return _report(current, [AppliedFile(f.script, f.state, 0) for f in current.to_apply], True, progress)
    if not (bootstrap := sql_dir() / BOOTSTRAP).is_file():
        raise ReportsError(f"{bootstrap} is missing")
    runner = f"{RUNNER} ({_os_user()})"
    with connect(url, autocommit=True, application_name=RUNNER) as conn:
        require_supported_server(conn)
        try:
            _lock(conn, progress)  # held until the connection closes
            with _file_transaction(conn, BOOTSTRAP):
                _execute_file(conn, BOOTSTRAP, bootstrap.read_bytes())
            current = _build_plan(files, _applied_rows(conn))  # re-read under the lock
            _refuse_problems(current)
            by_script = {f.script: f for f in files}
            applied: list[AppliedFile] = []
            try:
                for item in current.to_apply:
                    duration = _apply(conn, by_script[item.script], runner)
                    applied.append(AppliedFile(item.script, item.state, duration))
                    verb = "applied" if item.state is State.PENDING else "re-applied"
                    progress(f"{verb} {item.script} ({duration} ms)")
            finally:
                if applied:
                    _notify(conn, runner)
            return _report(current, applied, False, progress)
        except psycopg.Error as exc:
            raise ReportsError(f"migrate failed: {_one_line(exc)}") from None


def _report(
    current: MigrationPlan, applied: list[AppliedFile], dry_run: bool, progress: Callable[[str], None]
) -> MigrationResult:
    for item in applied if dry_run else []:
        progress(f"would {'apply' if item.state is State.PENDING else 're-apply'} {item.script}")
    result = MigrationResult(tuple(applied), current.up_to_date, dry_run)
    for missing in current._in(State.MISSING):
        progress(
            f"warning: {missing.script} is recorded as applied but no longer exists (its objects stay until "
            "a file drops them)"
        )
    progress(result.summary)
    return result


def _lock(conn: Conn, progress: Callable[[str], None]) -> None:
    row = conn.execute("SELECT pg_try_advisory_lock(%s) AS got", [ADVISORY_LOCK_KEY]).fetchone()
    if row and row["got"]:
        return
    progress(f"waiting for another migration run to finish (advisory lock {ADVISORY_LOCK_KEY}) ...")
    conn.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])


def _notify(conn: Conn, payload: str) -> None:
    with suppress(psycopg.OperationalError):  # a lost connection: the first error is the one to report
        conn.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, payload])


def _os_user() -> str:
    with suppress(KeyError, OSError):
        return getpass.getuser()
    return "unknown"


_UPSERT = """
INSERT INTO reports.schema_migrations AS m
    (script, kind, version, checksum, applied_at, applied_by, runner, duration_ms)
VALUES (%(script)s, %(kind)s, %(version)s, %(checksum)s, now(), current_user, %(runner)s, %(duration_ms)s)
ON CONFLICT (script) DO UPDATE SET
    checksum = excluded.checksum, applied_at = excluded.applied_at, applied_by = excluded.applied_by,
    runner = excluded.runner, duration_ms = excluded.duration_ms
WHERE m.kind = 'repeatable'
"""


def _apply(conn: Conn, f: SqlFile, runner: str) -> int:
    """Run ``f`` and record it in one transaction; return its duration in ms."""
    row: dict[str, Any] = {"script": f.script, "kind": str(f.kind), "version": f.version, "runner": runner}
    with _file_transaction(conn, f.script):
        started = time.monotonic()
        _execute_file(conn, f.script, f.data)
        row.update(checksum=f.checksum, duration_ms=round((time.monotonic() - started) * 1000))
        if conn.execute(_UPSERT, row).rowcount != 1:
            raise MigrationError(f"{f.script} was recorded meanwhile by another runner", script=f.script)
    return int(row["duration_ms"])


@contextmanager
def _file_transaction(conn: Conn, script: str) -> Iterator[None]:
    """One transaction with a clean session (RESET ALL); a failure at COMMIT names the file."""
    body_done = False
    try:
        with conn.transaction():
            conn.execute("RESET ALL")
            yield
            body_done = True
    except psycopg.Error as exc:
        raise _failure(script, exc, " at COMMIT" if body_done else "") from None


class _CountingCursor(psycopg.Cursor[Any]):
    """Remembers how many statements of a multi-statement query completed (psycopg's internal
    ``_check_results``: if renamed, ``completed`` stays None and errors without position lose their line)."""

    completed: int | None = None

    def _check_results(self, results: list[pq.abc.PGresult]) -> None:
        done = 0
        for result in results:
            if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
                break
            done += 1
        self.completed = done
        super()._check_results(results)


def _execute_file(conn: Conn, script: str, data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MigrationError(f"{script} is not valid UTF-8 (byte {exc.start})", script=script) from None
    if not _statements(text):
        return
    cursor = _CountingCursor(conn)
    try:
        cursor.execute(text.encode("utf-8"), prepare=False)
    except psycopg.Error as exc:
        line = _error_line(text, exc, cursor.completed)
        raise _failure(script, exc, f" line {line}" if line else "", line) from None
    finally:
        cursor.close()


def _failure(script: str, exc: psycopg.Error, where: str, line: int | None = None) -> MigrationError:
    """The one-line error for a failed file: where, SQLSTATE, message, the function it happened in."""
    context = [c for c in (exc.diag.context or "").splitlines() if " function " in c]
    detail = f" (in {context[0]})" if context and "inline_code_block" not in context[0] else ""
    return MigrationError(
        f"failed to apply {script}{where}: SQLSTATE {exc.sqlstate}: {_one_line(exc)}{detail} "
        "(rolled back: nothing of this file was applied)",
        script=script,
        line=line,
        sqlstate=exc.sqlstate,
    )


def _one_line(exc: psycopg.Error) -> str:
    message = exc.diag.message_primary or str(exc) or type(exc).__name__
    return " ".join(message.split())


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, max(offset, 0)) + 1


_INLINE_LINE = re.compile(r'inline_code_block"? (?:near )?line (\d+)')


def _error_line(text: str, exc: psycopg.Error, completed: int | None) -> int | None:
    """Line in the file: from the error position, else the failing statement's first line
    (moved to the reported line inside a DO block's body when the diagnostics give one)."""
    if exc.diag.statement_position:
        return _line_of(text, int(exc.diag.statement_position) - 1)
    statements = _statements(text)
    if completed is None or completed >= len(statements):
        return None
    stmt = statements[completed]
    inline = _INLINE_LINE.findall(exc.diag.context or "")
    if stmt.first_word == "do" and stmt.body is not None and inline:
        return _line_of(text, stmt.body) + int(inline[-1]) - 1
    return _line_of(text, stmt.start)


@dataclass(frozen=True)
class _Statement:
    start: int  # offset of the first token
    first_word: str
    body: int | None  # offset just inside the first quoted or dollar-quoted string


_TOKEN = re.compile(
    r"""(?P<skip>\s+|--[^\n]*)|(?P<comment>/\*)|(?P<semi>;)|(?P<string>[eE]'(?:[^'\\]|\\.|'')*'?|'(?:[^']|'')*'?)"""
    r"""|(?P<ident>"(?:[^"]|"")*"?)|(?P<dollar>\$(?:[^\W\d]\w*)?\$)|(?P<word>[^\W\d][\w$]*)|(?P<other>.)""",
    re.DOTALL,
)
_NESTED_COMMENT = re.compile(r"/\*|\*/")
_ROUTINE = (("create", "function"), ("create", "procedure"))


def _statements(text: str) -> list[_Statement]:
    """Split SQL the way psql does (quotes, dollar quotes, nested comments, parentheses, BEGIN ATOMIC
    ... END of CREATE FUNCTION/PROCEDURE). Only used to locate an error: files are always sent whole."""
    out: list[_Statement] = []
    start: int | None = None
    words: list[str] = []
    body: int | None = None
    i = parens = begin = 0
    while (token := _TOKEN.match(text, i)) is not None:
        kind, i = token.lastgroup, token.end()
        if kind == "skip":
            continue
        if kind == "comment":
            depth = 1
            while depth and (mark := _NESTED_COMMENT.search(text, i)) is not None:
                depth, i = depth + (1 if mark.group() == "/*" else -1), mark.end()
            i = i if depth == 0 else len(text)
            continue
        if kind == "semi" and parens == begin == 0:
            if start is not None:
                out.append(_Statement(start, words[0] if words else "", body))
            start, words, body = None, [], None
            continue
        start = token.start() if start is None else start
        if kind == "string" and body is None:
            body = token.start() + token.group().index("'") + 1
        elif kind == "dollar":
            end = text.find(token.group(), i)
            body = i if body is None else body
            i = len(text) if end < 0 else end + len(token.group())
        elif kind == "word":
            words.append(token.group().lower())
            routine = tuple(w for w in words[:4] if w not in ("or", "replace"))[:2] in _ROUTINE
            if routine and parens == 0:
                if words[-1] == "begin" or (words[-1] == "case" and begin):
                    begin += 1
                elif words[-1] == "end" and begin:
                    begin -= 1
        elif kind == "other":
            parens = parens + 1 if token.group() == "(" else max(parens - (token.group() == ")"), 0)
    if start is not None:
        out.append(_Statement(start, words[0] if words else "", body))
    return out
