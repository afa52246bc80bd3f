# Two commands on a fresh machine: `make run` (the receiver, locally, no cloud) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080

.PHONY: run test lint types pytest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# The receiver on http://127.0.0.1:$(PORT)/sonorancad/event with the dev key of .env.example
# (a .env beside it overrides) and, with no PUBSUB_TOPIC, the local sink.
run: $(VENV)/.runtime
	set -a && source ./.env.example && if [ -f .env ]; then source ./.env; fi && set +a && \
	exec $(BIN)/functions-framework --target sonorancad_event --port $(PORT)

test: $(VENV)/.dev
	$(MAKE) lint types pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.dev
	$(BIN)/mypy .

pytest: $(VENV)/.dev
	$(BIN)/pytest
