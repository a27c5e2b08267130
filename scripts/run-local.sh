#!/usr/bin/env bash
# `make run`: the embedded default. Without REPORTS_DATABASE_URL it starts (or
# reuses) a throwaway local PostgreSQL in .reports-db/ (REPORTS_DEVDB_DIR), on the
# server `reports dev-db server` names (REPORTS_PG_SERVER, REPORTS_PG_BINDIR), loads
# demo data once, migrates, refreshes, and serves the API on REPORTS_HOST:REPORTS_PORT
# (127.0.0.1:8087). Ctrl-C stops the API and the local cluster it started; the
# data stays in the cluster's directory and the next `make run` reuses it.
# REPORTS_RUN_NO_INSTALL=1 skips the dependency install (for a test run beside others on one .venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

POETRY=scripts/poetry
step() { printf '\n==> %s\n' "$*"; }
reports() { "$POETRY" run reports "$@"; }
devdb_dir="${REPORTS_DEVDB_DIR:-.reports-db}"

# The first line says which database make run uses: before the install when the environment is
# already there, else right after it.
announcement() {
    "$POETRY" run python - "$devdb_dir" <<'PY'
import sys
from pathlib import Path

from reports_core.dburl import redact
from reports_cli.devdb import Cluster
from reports_core.errors import ReportsError
from reports_core.settings import get_settings

try:
    url = get_settings().database_url
    where = Path(sys.argv[1])
    print(
        f"make run: REPORTS_DATABASE_URL is set, serving {redact(url)}"
        if url
        else f"make run: local cluster in {where}/ on {Cluster(where).server.describe()}"
    )
except ReportsError as exc:
    sys.exit(f"error: {exc}")
PY
}
announced=0
if line="$(announcement 2>/dev/null)"; then
    echo "$line"
    announced=1
fi

if [ "${REPORTS_RUN_NO_INSTALL:-0}" != 1 ]; then
    step "Poetry and the project's dependencies"
    "$POETRY" install --no-interaction
fi
if [ "$announced" = 0 ]; then
    line="$(announcement)"
    echo "$line"
fi

configured_url="$("$POETRY" run python -c \
    'from reports_core.settings import get_settings; print(get_settings().database_url or "")')"
started_cluster=0
stop_cluster() {
    if [ "$started_cluster" = 1 ]; then
        reports dev-db stop --dir "$devdb_dir" >/dev/null 2>&1 || true
        echo "local cluster stopped (data kept in $devdb_dir/; the next make run reuses it)"
    fi
}
trap stop_cluster EXIT
if [ -z "$configured_url" ]; then
    step "local PostgreSQL in $devdb_dir/ (REPORTS_DATABASE_URL is not set)"
    scripts/ensure-cluster-user.sh
    if ! reports dev-db status --dir "$devdb_dir" >/dev/null 2>&1; then
        started_cluster=1
    fi
    REPORTS_DATABASE_URL="$(reports dev-db start --dir "$devdb_dir")"
    export REPORTS_DATABASE_URL
    echo "REPORTS_DATABASE_URL=$REPORTS_DATABASE_URL"
    step "demo data (scale ${REPORTS_DEMO_SCALE:-5}; kept when already loaded)"
    reports demo-data --scale "${REPORTS_DEMO_SCALE:-5}" --if-empty
    # The embedded default serves anonymous requests as a CRM admin, on loopback only
    # (reports-api refuses insecure-dev on any other address). Set REPORTS_AUTH to override.
    export REPORTS_AUTH="${REPORTS_AUTH:-insecure-dev}"
fi

step "migrations"
reports migrate

step "refresh"
reports refresh --wait

host="${REPORTS_HOST:-127.0.0.1}"
port="${REPORTS_PORT:-8087}"
step "reports-api on http://$host:$port (Ctrl-C to stop)"
cat <<TRY
Try:
  curl http://$host:$port/health
  curl http://$host:$port/ready
  curl http://$host:$port/reports
  curl "http://$host:$port/reports/revenue_by_period?p_from=2026-01-01&p_to=2026-06-30&p_grain=month"
  curl -o pipeline.xlsx "http://$host:$port/reports/sales_pipeline?format=xlsx"
  open http://$host:$port/docs in a browser
  psql "\$(scripts/lib/dburl.sh "$REPORTS_DATABASE_URL")" -c 'SELECT * FROM reports.refresh_status()'
TRY
"$POETRY" run reports api &
api_pid=$!
trap 'kill -INT "$api_pid" 2>/dev/null || true' INT TERM
wait "$api_pid" || true
wait "$api_pid" 2>/dev/null || true
