#!/usr/bin/env bash
# `make test`: install what is missing (Poetry, the dependencies, the PostgreSQL
# extensions the checks use), lint (ruff, sqlfluff, squawk), then run the whole test
# suite. The suite starts its own throwaway PostgreSQL and stops it at the end.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }
POETRY=scripts/poetry

step "Poetry and the project's dependencies"
"$POETRY" install --no-interaction

step "PostgreSQL extensions used by the checks"
scripts/ensure-pg-packages.sh

step "ruff (Python lint and format check)"
"$POETRY" run ruff check .
"$POETRY" run ruff format --check .

step "sqlfluff (SQL lint, dialect postgres)"
"$POETRY" run sqlfluff lint sql/

step "squawk (unsafe DDL in versioned migrations)"
"$POETRY" run squawk sql/versioned/*.sql

step "pytest (throwaway PostgreSQL, fresh database per test)"
"$POETRY" run pytest "$@"
