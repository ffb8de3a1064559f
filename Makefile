# The two commands README promises: `make repro` and `make test`.
# Both create .venv (if missing) and install requirements.txt into it first.

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed

# Stage commands in dvc.yaml say `python`; put the venv first on PATH so they use it.
export PATH := $(BIN):$(PATH)

.PHONY: repro test setup benchmark results compare studio clean-venv push pull update

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

repro: $(STAMP)
	dvc repro

test: $(STAMP)
	python -m pytest

# README's result tables, regenerated from metrics/ (run after `make repro`)
results: $(STAMP)
	python -m vaelab.report.tables --readme README.md

# Share results through the default DVC remote (.dvc/config: a folder beside the clone):
# push data and models after `make repro`; pull them into a fresh clone; `update` pulls, then
# reproduces only what changed (or what the remote lacks) and lists the stages it ran.
push: $(STAMP)
	python -m vaelab.core.remote push

pull: $(STAMP)
	python -m vaelab.core.remote pull

update: $(STAMP)
	python -m vaelab.core.remote update

# `dvc metrics diff REV` with a within / beyond noise column (95 % intervals, seed spread)
REV ?= main
compare: $(STAMP)
	python -m vaelab.report.compare --rev $(REV)

# The studio page on http://127.0.0.1:7860 over the models `make repro` trained (local only)
studio: $(STAMP)
	python -m vaelab.studio.app

benchmark: $(STAMP)
	python benchmarks/classifier_throughput.py
	python benchmarks/pipeline.py
	python benchmarks/defect_stages.py

clean-venv:
	rm -rf $(VENV)
