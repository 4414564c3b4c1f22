# Common chores. Every target installs what it needs into .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
LINT_PATHS := $(wildcard src tests benchmarks examples)

.PHONY: setup test test-all demo lint type fmt bench bench-suite contracts-check scan

$(BIN)/replaykit: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(BIN)/replaykit

setup: $(BIN)/replaykit

# the test command (README, .ci/run): lint, types, layers, then the whole suite on 2 workers
test: setup
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check src
	$(BIN)/mypy
	$(BIN)/lint-imports
	REPLAYKIT_SLOW_TESTS=1 $(BIN)/python -m pytest -n 2 -q

# the suite on every supported Python found on this machine (3.11, 3.12, 3.13), each in its own venv
PYTHONS ?= python3.11 python3.12 python3.13
test-all:
	@set -e; for py in $(PYTHONS); do \
	  if ! command -v $$py >/dev/null; then echo "== $$py: not installed, skipped"; continue; fi; \
	  echo "== $$py"; $$py -m venv .venv-$$py; .venv-$$py/bin/pip install -q -e ".[dev]"; \
	  .venv-$$py/bin/python -m pytest -n 2 -q -p no:randomly; \
	done

type: setup
	$(BIN)/mypy
	$(BIN)/lint-imports

# the main job end to end on the offline sandbox: re-record into scratch, check contracts, diff, report
demo: setup
	REPLAYKIT_PYTHON=$(BIN)/python bash scripts/rerecord.sh --target sandbox

lint: setup
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check src

fmt: setup
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

contracts-check: setup
	$(BIN)/replaykit contracts check

scan: setup
	$(BIN)/replaykit scan cassettes contracts

bench: setup
	$(BIN)/python benchmarks/run.py

# the suite shape: 200 tests x 4 workloads as real pytest sessions, vs plain vcrpy and an in-memory floor
bench-suite: setup
	$(BIN)/python benchmarks/suite.py
