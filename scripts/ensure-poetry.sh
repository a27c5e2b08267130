#!/usr/bin/env bash
# Make sure Poetry (with the pypi-mirror plugin) is available, then print the
# path of the poetry executable on stdout. Progress goes to stderr.
#
# Poetry lives in its own virtualenv (REPORTS_POETRY_HOME, default
# ~/.local/share/reports-poetry), never in the project's environment.
# When the machine's pip is configured with an index (or the default PyPI
# simple index is reachable only through that), POETRY_PYPI_MIRROR_URL is
# computed at run time from pip's own configuration: no host name is written
# in any project file, and poetry.lock keeps recording plain PyPI.
set -euo pipefail

POETRY_VERSION="${REPORTS_POETRY_VERSION:-2.2.1}"
POETRY_HOME="${REPORTS_POETRY_HOME:-$HOME/.local/share/reports-poetry}"
PY="${PYTHON:-python3}"

log() { printf '%s\n' "$*" >&2; }

if command -v poetry >/dev/null 2>&1 && poetry self show plugins 2>/dev/null | grep -q poetry-plugin-pypi-mirror; then
    command -v poetry
    exit 0
fi

if [ ! -x "$POETRY_HOME/bin/poetry" ]; then
    log "installing Poetry $POETRY_VERSION into $POETRY_HOME ..."
    "$PY" -m venv "$POETRY_HOME" >&2
    "$POETRY_HOME/bin/python" -m pip install --quiet --disable-pip-version-check \
        "poetry==$POETRY_VERSION" poetry-plugin-pypi-mirror >&2
fi
echo "$POETRY_HOME/bin/poetry"
