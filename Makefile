# HydroML: `make run` serves the app, `make test` runs every test layer. Both set up what they need, once.
SHELL := /bin/bash
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
BUN := $(TOOLS)/node_modules/.bin/bun
PORT ?= 3000

# Reflex cannot download bun here: it comes from the npm registry into .tools and is used from PATH.
export PATH := $(CURDIR)/$(TOOLS)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export REFLEX_USE_SYSTEM_BUN := 1
export REFLEX_TELEMETRY_ENABLED := false

.PHONY: run test setup migrate demo demo-password chromium lint format test-unit test-state test-integration test-e2e clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "HydroML needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(BUN):
	@command -v npm >/dev/null || { echo "npm (Node.js 20+) is needed to install bun"; exit 1; }
	npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix $(TOOLS) bun@1.4

setup: $(VENV)/.installed $(BUN)

migrate: setup
	$(VENV)/bin/reflex db migrate

demo: migrate
	$(PY) -m hydroml.cli demo

demo-password: migrate
	$(PY) -m hydroml.cli reset-password $${HYDROML_DEMO_USER:-demo}

run: demo
	$(VENV)/bin/reflex run --env prod --frontend-port $(PORT) --backend-port $(PORT)

# Browser tests drive Debian's Chromium; Playwright's own browser download cannot work offline.
chromium:
	@if command -v chromium >/dev/null || test -x /usr/bin/chromium; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing Chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Chromium is missing: install Debian's 'chromium' package (the browser tests need it)"; fi

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test-unit: setup
	$(PY) -m pytest tests/unit -q

test-state: setup
	$(PY) -m pytest tests/state -q

test-integration: setup
	$(PY) -m pytest tests/integration -q

test-e2e: setup chromium
	$(PY) -m pytest tests/e2e -q

test: setup chromium lint
	$(PY) -m pytest tests/unit tests/state tests/integration tests/e2e

clean:
	rm -rf .web test-output .pytest_cache .ruff_cache
