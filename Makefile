# Two commands matter: `make run` (install, migrate, serve on :8000) and `make test`.
# Both create .venv when it is missing and install what they need into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# Installs only what a lock file names, each file checked against its hash.
PIP_LOCKED := $(PIP) --require-hashes
UV_VERSION := 0.13.9
# One lock for every platform and Python >= 3.11; existing pins are kept unless UPGRADE=1.
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)

.PHONY: install install-dev run test lint format migrate bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# requirements*.txt are the human-edited inputs; the *.lock files (from `make lock`) are installed.
$(VENV)/.installed: requirements-embedded.lock | $(BIN)/python
	$(PIP_LOCKED) -r requirements-embedded.lock
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock | $(BIN)/python
	$(PIP_LOCKED) -r requirements-dev.lock
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install  ## migrate, serve on http://$(HOST):$(PORT) and run one job worker (embedded PostgreSQL without DATABASE_URL)
	$(BIN)/python -m app --host $(HOST) --port $(PORT) --workers $(WORKERS) --job-worker

migrate: install
	$(BIN)/python -m app migrate

test: install-dev  ## the whole suite against a real PostgreSQL (TEST_DATABASE_URL, or embedded)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install-dev  ## engine benchmark (no server needed)
	$(BIN)/python -m benchmarks.engine

# The dev lock is the superset; the others are resolved within it, so shared pins agree.
lock: | $(BIN)/python  ## after editing requirements*.txt: re-resolve every *.lock (UPGRADE=1 for newest)
	$(PIP) uv==$(UV_VERSION)
	$(UV_COMPILE) requirements-dev.txt -o requirements-dev.lock
	$(UV_COMPILE) requirements-embedded.txt -c requirements-dev.lock -o requirements-embedded.lock
	$(UV_COMPILE) requirements.txt -c requirements-dev.lock -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
