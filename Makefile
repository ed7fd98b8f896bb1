# Two commands matter: `make run` (install, migrate, serve on :8000) and `make test`.
# Both create .venv when it is missing and install what they need into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: install install-dev run test lint format migrate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(PIP) -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install  ## migrate, then serve on http://$(HOST):$(PORT) (embedded PostgreSQL without DATABASE_URL)
	$(BIN)/python -m app --host $(HOST) --port $(PORT) --workers $(WORKERS)

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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
