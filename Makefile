# storepulse: the targets are the vocabulary.
#
#   make run    the whole stack on this machine (AWS emulation, API, processors, dashboard)
#   make test   lint, then the test suite (what CI runs)
#   make lint   ruff and mypy
#   make bench  the pipeline benchmark (request counts per event, latencies)
#   make clean  build and tool caches and .venv; keeps your local store in .data/
#
# Works from a fresh clone with python3 (3.11+), make and git: the first target that needs
# Python creates .venv and installs into it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The stamp is written only after every install step succeeded, so an interrupted install is
# retried on the next make; it is redone whenever a requirements file or pyproject changes.
STAMP := $(VENV)/.installed
DATA_DIR ?= $(or $(STOREPULSE_DATA_DIR),.data)
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv $(VENV) run test lint bench clean clean-data

help:
	@echo "make run         start the local stack in the foreground (SEED=0 skips the demo data)"
	@echo "make test        lint, then pytest (PYTEST_ARGS='-k ingest' to narrow it)"
	@echo "make lint        ruff check, mypy"
	@echo "make bench       bench/pipeline.py: request counts per event and latencies"
	@echo "make clean       remove .venv and caches (keeps $(DATA_DIR))"
	@echo "make clean-data  delete the local store in $(DATA_DIR)"

venv $(VENV): $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "storepulse needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." \
		     "Run: make PYTHON=python3.11 ..." >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --disable-pip-version-check --no-deps -e .
	@touch $@

run: $(STAMP)
	$(BIN)/storepulse stack

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy backend dashboard reports

# pytest exits 5 when it collected no test at all: a suite that ran nothing has not passed.
test: lint
	@status=0; $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then \
		echo "make test: FAILED - pytest collected no tests (exit 5); a run that tests nothing is not a pass." >&2; \
		exit 1; \
	fi; \
	exit $$status

bench: $(STAMP)
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./.git -prune -o -path './$(DATA_DIR)' -prune -o -name __pycache__ -type d -prune \
		-exec rm -rf {} +
	@echo "Kept $(DATA_DIR)/ (your local store). 'make clean-data' deletes it."

clean-data:
	@case "$(DATA_DIR)" in ""|/|.|..) echo "refusing to delete '$(DATA_DIR)'" >&2; exit 1;; esac
	@echo "WARNING: deleting $(DATA_DIR)/ - every event, rollup, report and outbox mail of the local stack."
	@echo "         The next 'make run' starts from an empty store (and backfills demo data unless SEED=0)."
	rm -rf -- "$(DATA_DIR)"
