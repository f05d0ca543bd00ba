# One entry point for set-up, the demo, the tests and the benchmarks.
# Every target creates the virtual environment on first use, so a fresh clone needs nothing else.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-all lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/jaxdissect demo --out results/demo

test: $(STAMP)
	$(BIN)/ruff check jaxdissect ports tests bench
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ''

lint: $(STAMP)
	$(BIN)/ruff check jaxdissect ports tests bench

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf results .pytest_cache
