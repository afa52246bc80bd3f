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
# and, with no PUBSUB_TOPIC, the local sink. Precedence: your shell's variables, then a .env
# beside this file, then .env.example, each read as every dotenv reader reads it (quotes,
# comments, `export `: sonoran_receiver/tools/env_file.py). Bound to 127.0.0.1 only: the dev
# key is public. PORT is a make variable (PORT=18080 make run), not read from .env; a taken
# port is said so, and "listening on ..." is printed once the server listens.
run: $(VENV)/.runtime
	@$(BIN)/python -m sonoran_receiver.tools.run_local --port $(PORT)

test: $(VENV)/.dev
	$(MAKE) lint types deploy-check pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.dev
	$(BIN)/mypy .

pytest: $(VENV)/.dev
	$(BIN)/pytest

# --- event schemas -------------------------------------------------------------------------
# The JSON Schema of every canonical event in schemas/ and the README's event-type table,
# both from the models; tests/tools/test_schemas.py fails when either is stale.
.PHONY: schema

schema: $(VENV)/.runtime
	$(BIN)/python -m sonoran_receiver.tools.schemas

# --- deploy ----------------------------------------------------------------------------
# Checks of deploy/: Terraform formatting; checkov with zero failed checks (each skip gives
# its reason inline); the gcloud script's syntax and a full --dry-run. checkov has its own
# venv because its pins (packaging<24) conflict with pytest's.
CHECKOV_VENV ?= .venv-checkov

.PHONY: deploy-check send

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

deploy-check: $(CHECKOV_VENV)/.installed
	@command -v terraform >/dev/null || { echo "deploy-check: terraform not found (https://developer.hashicorp.com/terraform/install)" >&2; exit 1; }
	terraform fmt -check -recursive deploy/
	$(CHECKOV_VENV)/bin/checkov --directory deploy/terraform --framework terraform --skip-download --compact --quiet
	bash -n deploy/gcloud.sh
	bash deploy/gcloud.sh --dry-run --project deploy-check-project >/dev/null

# Post a sample event to a receiver: make send TYPE=EVENT_911 URL=https://... [SERVER=1].
# The key comes from SONORAN_API_KEY, so it stays out of your shell history.
send:
	$(PYTHON) -m sonoran_receiver.tools.send --url "$(URL)" $(if $(SERVER),--server "$(SERVER)") "$(TYPE)"

# Prove a deployment end to end (docs/deploy.md): make verify PROJECT=p [REGION=r]
# [PREFIX=sonorancad] [SERVER=1]. Without REGION, the region deploy/gcloud.sh would use: the
# one it recorded for the project (or terraform.tfvars names), else us-central1. The key
# comes from SONORAN_API_KEY; standard library only.
.PHONY: verify
verify:
	$(PYTHON) -m sonoran_receiver.tools.verify --project "$(PROJECT)" $(if $(REGION),--region "$(REGION)") \
	  $(if $(PREFIX),--prefix "$(PREFIX)") $(if $(SERVER),--server "$(SERVER)")

# --- OpenAPI and proofs ----------------------------------------------------------------------
# openapi/openapi.json from the event models and the contract; tests/tools/test_openapi.py fails
# when it is stale. The reliability tests run in `make test`; `-m reliability` selects them.
.PHONY: openapi

openapi: $(VENV)/.runtime
	$(BIN)/python -m sonoran_receiver.tools.openapi

# --- replay ----------------------------------------------------------------------------------
# Quarantined events the current models accept, back to the events topic (docs/quarantine.md):
# make replay PROJECT=p [PREFIX=sonorancad] [FROM=dead-letter] [DRY_RUN=1]. Run it with the
# SONORAN_STRICT_TYPES and SONORAN_ROUTES the event function is deployed with. Without
# PROJECT while `make stack` runs here, it replays the stack's emulator (docs/local-stack.md).
.PHONY: replay

replay: $(VENV)/.runtime
	@if [ -z "$(PROJECT)" ] && [ -f "$(STACK_DIR)/stack.json" ]; then \
	  exec $(BIN)/python -m local_stack.commands --state-dir "$(STACK_DIR)" replay \
	    $(if $(FROM),--from "$(FROM)") $(if $(DRY_RUN),--dry-run); \
	else \
	  exec $(BIN)/python -m sonoran_receiver.tools.replay $(if $(PROJECT),--project "$(PROJECT)") \
	    $(if $(PREFIX),--prefix "$(PREFIX)") $(if $(FROM),--from "$(FROM)") $(if $(DRY_RUN),--dry-run); \
	fi

# --- the whole pipeline locally --------------------------------------------------------------
# make stack: the Pub/Sub emulator with the deployment's topics and subscriptions, the worker
# fed by its push subscription, the receiver and the console, in the foreground until Ctrl-C
# (docs/local-stack.md). Needs Java and gcloud's Pub/Sub emulator component; `make run` does
# not. Settings as `make run`; ports are make variables. make verify-local proves it.
CONSOLE_PORT ?= 8090
EMULATOR_PORT ?= 8085
WORKER_PORT ?= 8081
STACK_DIR ?= .stack
.PHONY: stack verify-local

stack: $(VENV)/.runtime
	@exec $(BIN)/python -m local_stack --port $(PORT) --console-port $(CONSOLE_PORT) \
	  --emulator-port $(EMULATOR_PORT) --worker-port $(WORKER_PORT) --state-dir "$(STACK_DIR)" \
	  $(if $(PREFIX),--prefix "$(PREFIX)")

verify-local: $(VENV)/.runtime
	@exec $(BIN)/python -m local_stack.commands --state-dir "$(STACK_DIR)" verify
