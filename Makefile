# Class Management Service — developer commands. `make run` and `make test` are the quick start.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
LOCAL := .local
PDM_VENV := $(LOCAL)/pdm-venv
PDM := $(shell command -v pdm 2>/dev/null || echo $(PDM_VENV)/bin/pdm)
# The environment everything runs from. `make run VENV=/path/to/other/checkout/.venv` reuses an
# environment installed from the same pyproject.toml + pdm.lock instead of installing again
# (e.g. in a throwaway clone); if the lock differs, that environment is synced to this lock.
VENV := .venv
PY := $(VENV)/bin/python
# The install stamp names the hash of pyproject.toml + pdm.lock, not their times: a fresh clone
# (every file new) then still recognises an installed environment, and any lock change reinstalls.
LOCK_HASH := $(shell cat pyproject.toml pdm.lock | sha256sum | cut -c1-16)
INSTALLED := $(VENV)/.installed-$(LOCK_HASH)
# pdm installs into $(VENV) when it exists (an active virtualenv wins over the project's), else
# it creates the project's .venv.
PDM_TARGET := $(if $(wildcard $(VENV)/bin/python),VIRTUAL_ENV=$(abspath $(VENV)) PDM_IGNORE_SAVED_PYTHON=1)
SERVICES_ENV := $(LOCAL)/services.env
export PDM_CHECK_UPDATE := false
export PYTHONPATH := $(CURDIR)/libs:$(CURDIR)/services
# A virtualenv active in the caller's shell (or the one `pdm run` activates for a sub-project)
# must not become the install target: $(VENV) is.
unexport VIRTUAL_ENV PDM_PROJECT_ROOT

.PHONY: help install services services-down browser lint format typecheck pytest test run dev migrate bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(PDM_VENV)/bin/pdm:
	@mkdir -p $(LOCAL)
	@# Debian splits venv support out of python3; install it when missing.
	@$(PYTHON) -c "import ensurepip" 2>/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(PDM_VENV)
	# pdm 2.29 breaks with hishel 2.x (AttributeError SyncSqliteStorage); pin it below 2.
	$(PDM_VENV)/bin/pip install -q --disable-pip-version-check pdm "hishel<2"

$(INSTALLED):
	@# pdm is bootstrapped only when something must be installed, not on every `make run`.
	@test -x $(PDM) || $(MAKE) --no-print-directory $(PDM)
	$(PDM_TARGET) $(PDM) install -G :all --frozen-lockfile
	@test -d $(VENV) || { echo "VENV=$(VENV) does not exist; pdm installed into .venv" >&2; exit 1; }
	@rm -f $(VENV)/.installed*
	@touch $@

install: $(INSTALLED) ## install the locked dependencies into .venv (bootstraps pdm)

services: ## install if missing and start PostgreSQL, Redis and Kafka on 127.0.0.1
	@bash scripts/services.sh up

services-down: ## stop the local PostgreSQL, Redis and Kafka
	@bash scripts/services.sh down

# The docs-page test drives Debian's Chromium (Playwright talks to it; no browser download).
browser: ## install Debian's Chromium for the /docs browser test when it is missing
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

lint: install ## ruff lint and format check, import layering contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install ## apply ruff formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install ## mypy --strict on the libs and the service
	$(VENV)/bin/mypy libs/common_core libs/huleedu_service_libs services/class_management_service

pytest: install ## run the test suite against the services in .local/services.env
	source $(SERVICES_ENV) && $(VENV)/bin/pytest $(PYTEST_ARGS)

test: install services browser lint typecheck pytest ## everything CI runs

# The service process never migrates a configured database (it refuses to start unless the
# schema is at head, configuration.md §6); `make run` applies the migrations first.
run: install ## apply the migrations, then serve on :5002 (embedded PostgreSQL when nothing is configured)
	$(PY) -m class_management_service migrate --before-serve
	$(PY) -m class_management_service serve

dev: install ## like run, restarting when a source file changes (pdm run dev)
	$(PY) -m class_management_service migrate --before-serve
	$(PY) -m class_management_service serve --reload

migrate: install ## apply Alembic migrations to CLASS_MANAGEMENT_SERVICE_DATABASE_URL
	$(PY) -m class_management_service migrate

bench: install services ## benchmarks against real services; JSON in bench/results/
	source $(SERVICES_ENV) && $(PY) -m bench

clean: services-down ## stop services and remove local state
	rm -rf $(LOCAL) .run
