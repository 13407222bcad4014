PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_BASE := $(VENV)/.installed-base
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_BASE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[examples,report]"
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,examples,report,dask,ray]"
	touch $@ $(STAMP_BASE)

demo: $(STAMP_BASE)
	$(BIN)/python examples/quickstart/experiment.py

test: $(STAMP_DEV)
	$(BIN)/lint-imports
	$(BIN)/mypy src/crystallize
	$(BIN)/python -m pytest

bench: $(STAMP_DEV)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .crystallize .pytest_cache
