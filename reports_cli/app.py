"""The ``reports`` command line: one typer app, one thin function per sub-command.

Every sub-command reads the settings once, calls into a small module (which calls
SQL), and turns a :class:`ReportsError` into ``error: <one line>`` on stderr and a
non-zero exit code. Console scripts ``reports-api``, ``reports-refresh-views`` and
``reports-migrate`` are the same sub-commands under their own names.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import psycopg
import typer

from reports_core.errors import ReportsError
from reports_core.settings import Settings, get_settings

T = TypeVar("T")

app = typer.Typer(
    name="reports",
    help="Reports service of the CRM platform: migrations, refresh, demo data, local database, HTTP API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
migrate_app = typer.Typer(
    help="Apply the SQL migrations under sql/ (pending versioned, then changed repeatable)."
)
devdb_app = typer.Typer(
    help="Run a throwaway local PostgreSQL cluster in .reports-db/ (start|stop|status|url).",
    no_args_is_help=True,
)
capture_app = typer.Typer(
    help="Change capture on the CRM tables, for incremental refresh: install|uninstall|status "
    "(docs/capture.md).",
    no_args_is_help=True,
)
app.add_typer(migrate_app, name="migrate")
app.add_typer(devdb_app, name="dev-db")
app.add_typer(capture_app, name="capture")


def say(line: str) -> None:
    typer.echo(line)


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def guarded(fn: Callable[[], T]) -> T:
    """Run ``fn``; operator-facing failures become one line on stderr and an exit code."""
    try:
        return fn()
    except ReportsError as exc:
        fail(str(exc), exc.exit_code)
    except psycopg.Error as exc:
        diag = exc.diag
        code = f" [{diag.sqlstate}]" if diag.sqlstate else ""
        first = (diag.message_primary or str(exc)).strip().splitlines()[0]
        fail(f"database error{code}: {first}")
    except KeyboardInterrupt:
        fail("interrupted", 130)
    raise AssertionError("unreachable")


def settings() -> Settings:
    return guarded(get_settings)


def _version_callback(value: bool) -> None:
    """``reports --version``: this package, and the server of REPORTS_DATABASE_URL when one is set."""
    if not value:
        return
    from importlib.metadata import version

    from reports_core.db import connect, server_version
    from reports_core.dburl import redact

    say(f"reports {version('reports')}")
    try:
        url = get_settings().database_url
    except ReportsError as exc:
        say(f"database: {exc}")
        raise typer.Exit(0) from None
    if url:
        try:
            with connect(url, connect_timeout=5) as conn:
                say(f"database: {server_version(conn)} at {redact(url)}")
        except ReportsError as exc:
            say(f"database: {exc}")
    raise typer.Exit(0)


@app.callback()
def main_options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version, and the PostgreSQL version of REPORTS_DATABASE_URL, and exit.",
        ),
    ] = False,
) -> None:
    """Reports service of the CRM platform: migrations, refresh, demo data, local database, HTTP API."""


# -- migrations ------------------------------------------------------------------
@migrate_app.callback(invoke_without_command=True)
def migrate_cmd(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan, change nothing.")] = False,
) -> None:
    """Check the sources, apply pending migrations, store REPORTS_TIMEZONE."""
    if ctx.invoked_subcommand is not None:
        return
    from reports_cli import sources
    from reports_cli.timezone import apply_timezone
    from reports_core import migrate

    cfg = settings()

    def run() -> None:
        url = cfg.require_database_url()
        problems = sources.check_sources(cfg.require_crm_database_url())
        if problems:
            for problem in problems:
                typer.echo(f"  {problem.describe()}", err=True)
            raise ReportsError(
                f"the CRM sources do not match the source contract ({len(problems)} problem(s) above; "
                "see docs/source-contract.md)"
            )
        migrate.migrate(url, dry_run=dry_run, progress=say)
        if not dry_run:
            apply_timezone(url, cfg.timezone, progress=say)

    guarded(run)


@migrate_app.command("status")
def migrate_status_cmd() -> None:
    """List applied, pending and changed migration files."""
    from reports_core import migrate

    cfg = settings()

    def run() -> None:
        files = migrate.status(cfg.require_database_url())
        for f in files:
            when = f.applied_at.strftime("%Y-%m-%d %H:%M:%S") if f.applied_at else ""
            say(f"{f.state.value:<9} {f.script:<60} {when}")
        counts = {state: sum(1 for f in files if f.state == state) for state in {f.state for f in files}}
        say(", ".join(f"{n} {state.value}" for state, n in sorted(counts.items())))

    guarded(run)


@app.command("check-sources")
def check_sources_cmd() -> None:
    """Verify the crm/audit tables and columns the reports read (exit 1 listing what is missing)."""
    from reports_cli import sources

    cfg = settings()

    def run() -> None:
        problems = sources.check_sources(cfg.require_crm_database_url())
        if problems:
            for problem in problems:
                typer.echo(problem.describe())
            raise ReportsError(f"{len(problems)} source contract problem(s)")
        say("source contract holds: every table and column the reports read is present and readable")

    guarded(run)


# -- demo data -------------------------------------------------------------------
DEMO_HELP = (
    "Fill crm and audit (dev/test databases only) with deterministic demo data generated inside "
    "PostgreSQL. One unit of scale: {unit}"
)


def _demo_help() -> str:
    try:
        from reports_cli.demo import SCALE_UNIT_HELP
    except ImportError:  # pragma: no cover - only while the module is missing
        return DEMO_HELP.format(unit="see sql/dev/demo_data.sql")
    return DEMO_HELP.format(unit=SCALE_UNIT_HELP.removeprefix("One unit of scale = "))


@app.command(
    "demo-data",
    help=_demo_help(),
    short_help="Fill crm/audit of a dev database with deterministic demo data.",
)
def demo_data_cmd(
    scale: Annotated[int, typer.Option(min=1, help="Units of scale (1 unit = 1,000 deals).")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the generator; same seed, same rows.")] = 42,
    end: Annotated[
        str | None, typer.Option(help="Last day of generated history, YYYY-MM-DD (default today).")
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Wipe existing demo rows first.")] = False,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Keep the data when the tables already hold some (no error).")
    ] = False,
) -> None:
    from reports_cli import demo

    cfg = settings()

    def run() -> None:
        end_date = None
        if end is not None:
            try:
                end_date = date.fromisoformat(end)
            except ValueError:
                raise ReportsError(f"--end must be a date YYYY-MM-DD (got {end!r})") from None
        counts = demo.load_demo_data(
            cfg.require_crm_database_url(),
            scale=scale,
            seed=seed,
            end=end_date,
            replace=replace,
            if_empty=if_empty,
            progress=say,
        )
        say("rows: " + ", ".join(f"{table} {count:,}" for table, count in counts.items()))

    guarded(run)


# -- local cluster ---------------------------------------------------------------
def _cluster(directory: Path) -> object:
    from reports_cli.devdb import Cluster

    return Cluster(directory)


DirOption = Annotated[Path, typer.Option("--dir", help="Directory of the local cluster.")]


@devdb_app.command("start")
def devdb_start(directory: DirOption = Path(".reports-db")) -> None:
    """Create (first time) and start the local cluster; print its URL."""
    from reports_cli.devdb import Cluster

    say(guarded(lambda: Cluster(directory).start()))


@devdb_app.command("server")
def devdb_server(directory: DirOption = Path(".reports-db")) -> None:
    """Print which PostgreSQL server binaries the local cluster runs (REPORTS_PG_SERVER, _BINDIR)."""
    from reports_cli.devdb import Cluster

    cluster = guarded(lambda: Cluster(directory))
    say(guarded(lambda: cluster.server.describe()))


@devdb_app.command("stop")
def devdb_stop(directory: DirOption = Path(".reports-db")) -> None:
    """Stop the local cluster (its data is kept)."""
    from reports_cli.devdb import Cluster

    stopped = guarded(lambda: Cluster(directory).stop())
    say("stopped" if stopped else "not running")


@devdb_app.command("status")
def devdb_status(directory: DirOption = Path(".reports-db")) -> None:
    """Say whether the local cluster exists and runs (exit 3 when it does not run)."""
    from reports_cli.devdb import Cluster

    status = guarded(lambda: Cluster(directory).status())
    if status.running:
        say(f"running on port {status.port}: {status.url}")
        return
    say("stopped" if status.initialized else f"no cluster in {directory}")
    raise typer.Exit(3)


@devdb_app.command("url")
def devdb_url(directory: DirOption = Path(".reports-db")) -> None:
    """Print the URL of the running local cluster (exit 3 when it does not run)."""
    from reports_cli.devdb import Cluster

    status = guarded(lambda: Cluster(directory).status())
    if not status.running or status.url is None:
        fail(f"the local cluster in {directory} is not running (start it with `reports dev-db start`)", 3)
    say(str(status.url))


# -- refresh, docs, API -----------------------------------------------------------
@app.command("refresh")
def refresh_cmd(
    view: Annotated[
        list[str] | None, typer.Option("--view", help="Refresh only this view (repeatable).")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for a running refresh instead of skipping.")
    ] = False,
    every: Annotated[
        str | None,
        typer.Option(
            "--every",
            help="Keep running: refresh every INTERVAL (5m, 30s, 1h) and early after large changes, "
            "until SIGINT/SIGTERM (see `reports scheduler`).",
        ),
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option("--rebuild", help="Recompute every day of the views, whatever the captured changes."),
    ] = False,
) -> None:
    """Refresh the summaries (all, or --view NAME ...); exit 1 if any view failed; --every: keep going."""
    from reports_core import refresh

    cfg = settings()
    if every is not None:
        if wait:
            fail("--wait does not apply to --every: the scheduler always waits its turn", 2)
        if rebuild:
            fail("--rebuild does not apply to --every: rebuild once, then schedule", 2)
        _run_scheduler(cfg, every, view)
        return

    def run() -> None:
        if rebuild:
            from reports_cli import capture

            rows = capture.run_rebuild(cfg.require_database_url(), view or None, wait, say)
        else:
            rows = refresh.run_refresh(cfg.require_database_url(), view or None, wait, say)
        say(refresh.format_summary_table(rows))
        failed = [row["view"] for row in rows if row["status"] == "failed"]
        if failed:
            raise ReportsError(f"refresh failed for {', '.join(failed)} (see reports.refresh_log)")

    guarded(run)


@app.command("scheduler")
def scheduler_cmd(
    every: Annotated[str, typer.Option("--every", help="Interval between refreshes: 5m, 30s, 1h.")] = "5m",
    view: Annotated[
        list[str] | None, typer.Option("--view", help="Refresh only this view (repeatable).")
    ] = None,
) -> None:
    """Service: refresh on a schedule and after large CRM changes until SIGINT/SIGTERM (exit 0).

    Any number of instances may run: one refreshes at a time and no due refresh is lost
    (docs/scheduling.md). Early refresh: REPORTS_REFRESH_THRESHOLD, REPORTS_REFRESH_MIN_INTERVAL.
    """
    _run_scheduler(settings(), every, view)


def _run_scheduler(cfg: Settings, every: str, views: list[str] | None) -> None:
    from reports_cli.scheduler import Schedule, Scheduler, parse_interval, run_until_signalled, timestamped
    from reports_core.settings import duration_ms

    def run() -> None:
        schedule = Schedule(
            every_s=parse_interval(every),
            threshold=cfg.refresh_threshold,
            min_interval_s=duration_ms(cfg.refresh_min_interval) / 1000,
            views=tuple(views) if views else None,
        )
        run_until_signalled(Scheduler(cfg.require_database_url(), schedule, timestamped(say)))

    guarded(run)


@app.command("verify")
def verify_cmd(
    view: Annotated[
        list[str] | None, typer.Option("--view", help="Verify only this view (repeatable).")
    ] = None,
) -> None:
    """Compare the summaries with a full recompute (one snapshot); exit 1 listing the buckets that differ."""
    from reports_cli import capture

    cfg = settings()

    def run() -> None:
        rows = capture.verify(cfg.require_database_url(), view or None)
        for row in rows:
            bucket = row["bucket"].isoformat() if row["bucket"] is not None else "-"
            typer.echo(f"{row['view']}  {bucket}  missing {row['missing_rows']}  extra {row['extra_rows']}")
        if rows:
            raise ReportsError(
                f"{len(rows)} bucket(s) differ from a full recompute (repair: reports refresh --rebuild)"
            )
        say("every summary equals a full recompute")

    guarded(run)


# -- change capture ----------------------------------------------------------------
CaptureUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Connect as this role instead of REPORTS_DATABASE_URL (e.g. the owner of the CRM tables).",
    ),
]


@capture_app.command("install")
def capture_install_cmd(
    row_level: Annotated[
        bool,
        typer.Option("--row-level", help="Row-level triggers, for a logical replication subscriber."),
    ] = False,
    database_url: CaptureUrlOption = None,
) -> None:
    """Apply sql/capture/install.sql (or install_row_level.sql): capture triggers on the CRM tables."""
    from reports_cli import capture

    cfg = settings()
    rows = guarded(
        lambda: capture.install(database_url or cfg.require_database_url(), row_level=row_level, progress=say)
    )
    say(capture.format_status(rows))


@capture_app.command("uninstall")
def capture_uninstall_cmd(database_url: CaptureUrlOption = None) -> None:
    """Apply sql/capture/uninstall.sql: drop the capture triggers (needs the owner of the tables)."""
    from reports_cli import capture

    cfg = settings()
    rows = guarded(lambda: capture.uninstall(database_url or cfg.require_database_url(), progress=say))
    say(capture.format_status(rows))


@capture_app.command("status")
def capture_status_cmd() -> None:
    """List per source table and event whether its capture trigger is present, enabled and in which mode."""
    from reports_cli import capture

    cfg = settings()
    say(capture.format_status(guarded(lambda: capture.status(cfg.require_database_url()))))


@app.command("docs")
def docs_cmd(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")] = Path("docs/metrics.md"),
) -> None:
    """Write docs/metrics.md from the COMMENT ON texts of the report functions."""
    from reports_cli import docs

    cfg = settings()
    count = guarded(lambda: docs.write_metrics_doc(cfg.require_database_url(), output))
    say(f"wrote {output} ({count} reports)")


@app.command("export")
def export_cmd(
    name: Annotated[str, typer.Argument(help="Report function of schema reports, e.g. revenue_by_period.")],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="KEY=VALUE, repeatable; KEY is a parameter name (p_from, or from); omitted: default.",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="csv, xlsx, pdf, json or ndjson (default: from -o, else csv)."),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="File, - for stdout (default: <report>_<range>.<format>)"),
    ] = None,
) -> None:
    """Export one report to a file, as the database role of REPORTS_DATABASE_URL (read-only)."""
    from reports_cli import export

    cfg = settings()

    def run() -> None:
        result = export.export_report(
            cfg.require_database_url(),
            name,
            param or [],
            output=output,
            fmt=fmt,
            pdf_max_rows=cfg.pdf_max_rows,
            csv_escape_formulas=cfg.csv_escape_formulas,
        )
        where = str(result.target.path) if result.target.path else "stdout"
        note = f" (truncated at REPORTS_PDF_MAX_ROWS={cfg.pdf_max_rows}; use csv for every row)"
        typer.echo(
            f"wrote {result.rows:,} rows to {where} ({result.target.fmt.value})"
            + (note if result.truncated else ""),
            err=result.target.path is None,
        )

    guarded(run)


@app.command("api")
def api_cmd() -> None:
    """Serve the HTTP API (reports-api) on REPORTS_HOST:REPORTS_PORT."""
    from reports_http.server import serve

    cfg = settings()
    guarded(lambda: serve(cfg))


# -- console scripts ---------------------------------------------------------------
def main() -> None:
    app()


def _run_as(argv0: str, args: list[str]) -> None:
    sys.argv = [argv0, *args, *sys.argv[1:]]
    app()


def serve_api_main() -> None:
    _run_as("reports-api", ["api"])


def refresh_main() -> None:
    _run_as("reports-refresh-views", ["refresh"])


def migrate_main() -> None:
    _run_as("reports-migrate", ["migrate"])
