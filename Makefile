# Two commands do all set-up on a fresh machine:
#   make run    install (pinned), generate sample extracts, run the DAG once, print the segments
#   make test   the test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
SIZE   ?= small
SEED   ?= 42
AS_OF  ?= 2026-11-25
PYTEST_ARGS ?=
# `make test` runs the suite on this many pytest-xdist workers, whole files per
# worker (module fixtures are built once); TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

export SEGMENTS_HOME ?= $(CURDIR)/data
export SEGMENTS_WAREHOUSE ?= $(SEGMENTS_HOME)/warehouse/warehouse.duckdb
export AIRFLOW_HOME  ?= $(CURDIR)/.airflow
# PII salt for local runs: a random file outside git, created by `segments init-salt`
# (production: SEGMENTS_PII_SALT or the Airflow Variable segments_pii_salt; docs/privacy.md)
export SEGMENTS_PII_SALT_FILE ?= $(SEGMENTS_HOME)/secrets/pii_salt
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export DBT_PROFILES_DIR := $(CURDIR)/dbt_project
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False

.PHONY: help install lock data airflow-init dbt-parse run ui test test-fast clean bench-small bench-large chromium full-refresh portability-deps test-portability

help:
	@echo "make run     install, generate SIZE=$(SIZE) sample data, run the customer_segments DAG once"
	@echo "make test    run the tests (installs first)"
	@echo "make test-portability  the same dbt project on PostgreSQL and Spark (docs/portability.md)"
	@echo "make data    generate sample extracts (SIZE=tiny|small|large SEED=$(SEED) AS_OF=$(AS_OF))"
	@echo "make ui      the Airflow UI (airflow standalone) on http://localhost:8080"
	@echo "make lock    re-resolve requirements.lock from pyproject.toml"
	@echo "make full-refresh  rebuild every dbt model (incremental ones too) from all raw data, AS_OF=$(AS_OF)"
	@echo "make clean   remove generated data, Airflow home and dbt target"

# --- install -----------------------------------------------------------------
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# --compile-bytecode: write the .pyc files once here. Where PYTHONDONTWRITEBYTECODE is set
# (as on this project's CI machines) Python never caches them, and every process then
# compiles Airflow, dbt and Great Expectations from source: `import great_expectations`
# took 14-16 s instead of 6-7 s (bench/RESULTS.md, "Install: compiled bytecode").
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .
	touch $@

install: $(VENV)/.installed

lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 --no-header -o requirements.lock

# --- pipeline ------------------------------------------------------------------
data: install
	$(BIN)/segments generate --size $(SIZE) --seed $(SEED) --as-of $(AS_OF) --out $(SEGMENTS_HOME)

airflow-init: install
	$(BIN)/segments airflow-init

dbt-parse: install
	cd dbt_project && ../$(BIN)/dbt parse --quiet

run: install
	$(BIN)/segments generate --size $(SIZE) --seed $(SEED) --as-of $(AS_OF) --out $(SEGMENTS_HOME) --if-missing
	$(BIN)/segments airflow-init
	$(BIN)/segments init-salt
	cd dbt_project && ../$(BIN)/dbt parse --quiet
	$(BIN)/segments run-dag --logical-date $(AS_OF)
	$(BIN)/segments summary

# Incremental models (staging of events and order lines, session / order / email
# aggregates) normally process only rows loaded since their last build.
full-refresh: install
	cd dbt_project && ../$(BIN)/dbt build --full-refresh --vars '{as_of_date: "$(AS_OF)"}'

ui: airflow-init dbt-parse
	$(BIN)/segments init-salt
	@echo "Airflow UI on http://localhost:8080 (user admin; password in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated)"
	$(BIN)/airflow standalone

# --- tests ---------------------------------------------------------------------
# Headless Chromium for the segment report's rendering test (Debian package; quick when present).
chromium:
	@bash scripts/ensure-chromium.sh

# The Spark portability build (marker spark) takes tens of minutes on 2 cores: make test-portability runs it.
test: install chromium portability-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not spark" $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# PostgreSQL server binaries and Java for tests/portability (docs/portability.md)
portability-deps:
	bash scripts/ensure_portability_deps.sh

test-portability: install portability-deps
	$(BIN)/python -m pytest tests/portability $(PYTEST_ARGS)

# --- benchmarks (not tests) ------------------------------------------------------
bench-small: install
	$(BIN)/python bench/run.py --size small

# LANDING=/path/to/landing reuses generated extracts (e.g. /work/large/landing) instead of generating
bench-large: install
	$(BIN)/python bench/run.py --size large $(if $(LANDING),--landing $(LANDING))

clean:
	rm -rf data .airflow dbt_project/target dbt_project/logs logs
