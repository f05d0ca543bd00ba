# One entry point for set-up, the demo, the tests and the benchmarks.
# Every target creates the virtual environment on first use, so a fresh clone needs nothing else.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup browser demo test test-all lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# The report's browser test needs Debian's chromium; install it where we can (root with apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); } \
	  || echo "chromium is not installed: the browser test will be skipped"

demo: $(STAMP)
	$(BIN)/jaxdissect demo --out results/demo

test: $(STAMP) browser
	$(BIN)/ruff check jaxdissect ports tests bench
	$(BIN)/python -m pytest -q

test-all: $(STAMP) browser
	$(BIN)/python -m pytest -q -m ''

lint: $(STAMP)
	$(BIN)/ruff check jaxdissect ports tests bench

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf results .pytest_cache
