# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
# Pinned with hashes (pip-tools); `make lock` writes them again from pyproject.toml.
LOCK    = requirements/test.txt
CODE    = shared services contracts eigenregie

.PHONY: frontend lock lint validate-deploy run test test-unit test-integration test-e2e test-browser install browser-deps observability-deps bench bench-invoices bench-payments bench-monitoring bench-reminders bench-soak bench-pages clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	$(MAKE) --no-print-directory frontend
	touch $(STAMP)

## make frontend: the web pages' packages from the npm registry (NL Design System CSS, htmx,
## axe-core for the browser tests), never committed. Without npm the pages keep their own CSS.
frontend:
	@if command -v npm >/dev/null; then npm ci --prefix eigenregie/web/frontend --no-audit --no-fund --silent; \
	else echo "npm not found: the web pages run without the NL Design System CSS"; fi

install: $(STAMP)

## make run: embedded mode on http://127.0.0.1:8000 (SQLite, no Redis/PostgreSQL), with demo data.
run: $(STAMP)
	$(BIN)/prb run --host 127.0.0.1 --port 8000

## make test: lint and types, then the whole suite. PostgreSQL/Redis tests skip with a reason when
## those are absent, unless PRB_REQUIRE_SERVICES=1 (as in CI), which turns such a skip into a failure.
test: lint $(STAMP) browser-deps observability-deps
	$(BIN)/pytest -q -p no:cacheprovider tests

## make lint: ruff (lint and format) and mypy on the code that ships.
lint: $(STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy

## make validate-deploy: render deploy/kustomize's overlays (kubectl kustomize) and check them against the
## Kubernetes schemas (kubernetes-validate), docker-compose.yml against the compose-spec schema and the
## Dockerfile with hadolint; the tools come with the test extras. No cluster and no Docker engine needed.
validate-deploy: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/integration/deploy

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

test-integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

test-e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

browser-deps:
	@test -x /usr/bin/chromium || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		echo "chromium not installed: browser tests will skip")

## promtool (Debian's prometheus package) checks and unit-tests deploy/prometheus's alert rules.
observability-deps:
	@command -v promtool >/dev/null || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		prometheus >/dev/null) || echo "promtool not installed: the alert rule tests will skip")

bench: $(STAMP)
	$(BIN)/python bench/event_bus.py

bench-invoices: $(STAMP)
	$(BIN)/python bench/invoices.py

## make bench-payments: a 100,000-invoice payment run against a COPY TO of the same rows (PostgreSQL).
bench-payments: $(STAMP)
	$(BIN)/python bench/payment_run.py

## make bench-pages: four pages (caseload, client file, finance queue, policy dashboard) of one municipality of 1,000,000 trajectories, p50/p95/p99 over real processes.
bench-pages: $(STAMP)
	$(BIN)/python bench/pages.py

## make bench-monitoring: the benchmark report over 1,000,000 trajectories and the overdue scan (PostgreSQL).
bench-monitoring: $(STAMP)
	$(BIN)/python bench/monitoring.py

## make bench-reminders: the daily reminder scans over 1,000,000 trajectories (PostgreSQL), mail into loopback SMTP, webhook fan-out.
bench-reminders: $(STAMP)
	$(BIN)/python bench/reminders.py

## make bench-soak: ten real processes on PostgreSQL and a private Redis under a steady mixed load for five
## minutes; memory, latency and backlog per 10 s window, and a verdict (docs/reliability.md, "Soak").
bench-soak: $(STAMP)
	$(BIN)/python bench/soak.py --minutes 5

## make lock: pin every dependency (and its hashes) again, after a change in pyproject.toml.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe -o requirements/runtime.txt pyproject.toml
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --extra test -o requirements/test.txt pyproject.toml

clean:
	rm -rf $(VENV) data .pytest_cache
