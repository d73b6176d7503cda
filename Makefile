# fzanalysis: the two commands a newcomer types are `make report` and `make test`.
# Each creates .venv when missing and installs the project into it with pip.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
YEAR   ?=
KIND   ?= annual
LANG_  ?= zh
JOBS   ?=

.PHONY: help install lint test test-all report lab bench demo clean-venv

help:
	@echo "make report   run the annual report for the latest year on the embedded demo data -> reports/<year>/"
	@echo "make test     run the fast test suite (one small end-to-end notebook run included)"
	@echo "make test-all also run the slow notebook executions"
	@echo "make lint     ruff (rules in pyproject.toml)"
	@echo "make lab      open JupyterLab on notebooks/ with the project's kernel (LAB_ARGS=... passes options)"
	@echo "make bench    run the benchmarks (by hand; prints ratios: report vs floor, re-run, folder size, validate vs pandas, batch local vs dask, projections vs statsmodels)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name fzanalysis --display-name "fzanalysis (.venv)" > /dev/null
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check fzanalysis tests benchmarks

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -n auto -m "slow or not slow"

report: $(STAMP)
	$(BIN)/fzanalysis report --kind $(KIND) --lang $(LANG_) $(if $(JOBS),--jobs $(JOBS),) $(if $(YEAR),--year $(YEAR),)

lab: $(STAMP)
	JUPYTER_PATH=$(CURDIR)/$(VENV)/share/jupyter $(BIN)/jupyter lab --notebook-dir=notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_ingest.py --rows 200000
	$(BIN)/python benchmarks/bench_trend.py

demo: $(STAMP)
	$(BIN)/fzanalysis demo --write

clean-venv:
	rm -rf $(VENV)
