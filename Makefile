# reports: the two commands a newcomer needs are `make run` and `make test`.
# Both install Poetry and the dependencies when missing (scripts/poetry).
# REPORTS_DATABASE_URL may be given in the platform's ?search_path=reports form
# everywhere: the scripts translate it for libpq.

POETRY := scripts/poetry
SHELL := /bin/bash

.PHONY: help install run test lint fmt migrate migrate-psql refresh docs psql dev-db-start dev-db-stop \
        bench-demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

install: ## install Poetry (if missing) and the project's dependencies
	$(POETRY) install --no-interaction

run: ## local cluster + demo data (unless REPORTS_DATABASE_URL is set), migrate, refresh, serve on :8087
	@scripts/run-local.sh

test: ## lint (ruff, sqlfluff, squawk), the whole suite on the default PostgreSQL, its core on a second major
	scripts/test.sh

lint: install ## ruff (lint and format check), sqlfluff and squawk only
	$(POETRY) run ruff check .
	$(POETRY) run ruff format --check .
	$(POETRY) run sqlfluff lint sql/
	$(POETRY) run squawk sql/versioned/*.sql

fmt: install ## format Python (ruff) and fix what sqlfluff can fix
	$(POETRY) run ruff format .
	$(POETRY) run ruff check --fix .
	$(POETRY) run sqlfluff fix sql/

migrate: install ## apply pending migrations to REPORTS_DATABASE_URL (reports migrate)
	$(POETRY) run reports migrate

migrate-psql: ## apply the same migrations with psql alone (scripts/migrate-local.sh)
	scripts/migrate-local.sh

refresh: install ## refresh every summary (reports refresh)
	$(POETRY) run reports refresh

docs: install ## regenerate docs/metrics.md from the COMMENT ON texts in the database
	$(POETRY) run reports docs

psql: ## open psql on REPORTS_DATABASE_URL (the ?search_path= form is translated)
	psql "$$(scripts/lib/dburl.sh "$${REPORTS_DATABASE_URL:?REPORTS_DATABASE_URL is not set}")"

dev-db-start: install ## start the local cluster in .reports-db/ and print its URL
	$(POETRY) run reports dev-db start

dev-db-stop: install ## stop the local cluster (data kept)
	$(POETRY) run reports dev-db stop

bench-demo: install ## time demo data generation at one million deals (see docs/benchmarks.md)
	scripts/bench-demo-data.sh 1000

clean: ## stop and delete the local cluster, caches and the virtualenv
	-[ -x .venv/bin/reports ] && .venv/bin/reports dev-db stop
	rm -rf .reports-db .venv .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
