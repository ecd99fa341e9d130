# Two entry points: `make run` (the demo) and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test test-all bench dictionary clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel setuptools
	$(BIN)/pip install --quiet -e '.[dev]'
	# hftbacktest, the peer of bench/replay_speed.py: its core needs only numpy and numba, but it
	# pins numpy<2.3, and numpy 2.2 breaks the surface fitter's SLSQP refit; so without its
	# plotting dependencies and its pin.
	$(BIN)/pip install --quiet --no-deps hftbacktest==2.4.4
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/router demo

serve: $(STAMP)
	$(BIN)/router serve

test: $(STAMP)
	# two workers: the suite is mostly server start-ups and the CI machine has two cores (12 min -> 8)
	$(BIN)/python -m pytest -q -n 2

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ''

bench: $(STAMP)
	$(BIN)/python bench/fix_roundtrip.py
	$(BIN)/python bench/execution_quality.py

dictionary: $(STAMP)
	$(BIN)/python fix_specs/build_dictionary.py

clean:
	rm -rf $(VENV) var build *.egg-info
