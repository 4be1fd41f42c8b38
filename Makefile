# storepulse: the targets are the vocabulary.
#
#   make run    the whole stack on this machine (AWS emulation, API, processors, dashboard)
#   make test   lint, then the test suite (what CI runs)
#   make lint   ruff, mypy and import-linter (which package may import which)
#   make bench  the pipeline benchmark (request counts per event, latencies)
#   make package  the deployment packages: build/lambda/<function>.zip (the Lambdas) and build/dashboard.zip (Zappa)
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
# Test files run on this many processes (pytest-xdist, a file stays on one worker); 1 runs them in turn.
# 3 on 2 cores: the suite waits on its moto servers, browsers and subprocesses about 40 % of the
# time, so a third process fills it (measured: 885 s against 1,088 s with 2, docs/performance.md).
PYTEST_WORKERS ?= 3

.DEFAULT_GOAL := help
.PHONY: help venv $(VENV) run test lint bench clean clean-data
.PHONY: package package-backend package-dashboard tools-venv

help:
	@echo "make run         start the local stack in the foreground (SEED=0 skips the demo data)"
	@echo "make test        lint, then pytest (PYTEST_ARGS='-k ingest' to narrow it)"
	@echo "make lint        ruff check, mypy, lint-imports (the layer rules of pyproject.toml)"
	@echo "make bench       bench/pipeline.py: request counts per event and latencies"
	@echo "make package     build/lambda/<function>.zip (Lambda, arm64) and build/dashboard.zip (zappa package dev)"
	@echo "make tools-venv  .venv-checkov: checkov, actionlint, terraform fmt (make test makes it too)"
	@echo "make clean       remove .venv and caches (keeps $(DATA_DIR))"
	@echo "make clean-data  delete the local store in $(DATA_DIR)"

venv $(VENV): $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-dashboard.txt requirements-local.txt pyproject.toml
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

# One mypy run for the product and tests/: the tests add about 4 s of CPU to a cold check, under 1 s warm.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy backend dashboard reports devstack bench tests
	$(BIN)/lint-imports --no-cache

# pytest exits 5 when it collected no test at all: a suite that ran nothing has not passed.
test: lint
	@status=0; $(BIN)/pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadgroup --durations=20 $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then \
		echo "make test: FAILED - pytest collected no tests (exit 5); a run that tests nothing is not a pass." >&2; \
		exit 1; \
	fi; \
	exit $$status

bench: $(STAMP)
	$(BIN)/python bench/pipeline.py

# The deployment packages: the backend's and the dashboard's Lambda zips.
package: package-backend package-dashboard

# One Lambda zip per function of infra/stack.json, each with only what its handler imports, from
# requirements.txt as arm64 manylinux wheels (LAMBDA_PLATFORM=local: this machine's, as the deploy
# rehearsal in tests/deploy builds them into build/lambda-local).
LAMBDA_PLATFORM ?= lambda
package-backend: $(STAMP)
	$(BIN)/python infra/scripts/package_backend.py --platform $(LAMBDA_PLATFORM) \
		$(if $(filter local,$(LAMBDA_PLATFORM)),--out build/lambda-local)

# checkov pins its own boto3: the infrastructure tools live in their own virtualenv, remade
# when requirements-checkov.txt changes.
tools-venv: $(STAMP)
	$(BIN)/python -m tests.infra.toolvenv

# The dashboard ships from its own venv holding only requirements-dashboard.txt and Zappa (pinned
# in requirements-zappa.txt), so the zip holds what the dashboard imports and nothing of the
# backend. The venv is rebuilt only when those files change: its stamp is named after their hash.
DASH_VENV ?= .venv-dashboard
DASH_REQUIREMENTS := requirements-dashboard.txt requirements-zappa.txt
DASH_STAGE ?= dev

package-dashboard:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
		|| { echo "make package needs Python 3.11 (the Lambda runtime); run make PYTHON=python3.11 package" >&2; exit 1; }
	@hash=$$(cat $(DASH_REQUIREMENTS) | sha256sum | cut -c1-16 ); \
	if [ ! -f "$(DASH_VENV)/.installed-$$hash" ]; then \
		echo "Creating $(DASH_VENV) ($(DASH_REQUIREMENTS))"; \
		rm -rf "$(DASH_VENV)" && $(PYTHON) -m venv "$(DASH_VENV)" \
		&& "$(DASH_VENV)/bin/python" -m pip install --disable-pip-version-check --no-compile -q \
			$(addprefix -r ,$(DASH_REQUIREMENTS)) \
		&& touch "$(DASH_VENV)/.installed-$$hash" || exit 1; \
	fi
	mkdir -p build
	VIRTUAL_ENV="$(abspath $(DASH_VENV))" PATH="$(abspath $(DASH_VENV))/bin:$$PATH" \
		"$(DASH_VENV)/bin/zappa" package $(DASH_STAGE) -o build/dashboard.zip
	@ls -l build/dashboard.zip

clean:
	rm -rf $(VENV) $(DASH_VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -rf .venv-checkov
	find . -path ./.git -prune -o -path './$(DATA_DIR)' -prune -o -name __pycache__ -type d -prune \
		-exec rm -rf {} +
	@echo "Kept $(DATA_DIR)/ (your local store). 'make clean-data' deletes it."

clean-data:
	@case "$(DATA_DIR)" in ""|/|.|..) echo "refusing to delete '$(DATA_DIR)'" >&2; exit 1;; esac
	@echo "WARNING: deleting $(DATA_DIR)/ - every event, rollup, report and outbox mail of the local stack."
	@echo "         The next 'make run' starts from an empty store (and backfills demo data unless SEED=0)."
	rm -rf -- "$(DATA_DIR)"
