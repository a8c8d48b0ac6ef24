# `make test` on a fresh clone creates .venv, installs the project into it and runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
GAME ?= Pong
ARGS ?=
RUN ?= runs/$(GAME)_ff_seed0

.PHONY: install test train evaluate plot bench pong ab clean

$(VENV)/installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,ray]'
	touch $@

install: $(VENV)/installed

test: install
	$(PY) -m pytest -q --durations=10 tests

train: install
	$(PY) -m a3c_jax.train --game $(GAME) $(ARGS)

evaluate: install
	$(PY) -m a3c_jax.evaluate --game $(GAME) $(ARGS)

plot: install
	$(PY) -m a3c_jax.plot $(RUN)

clean:
	rm -rf $(VENV)

BENCH_ARGS ?=
bench: install
	$(PY) experiments/bench.py $(BENCH_ARGS)

# The Pong learning run, in the background (15 minutes, then a 30-game evaluation): see experiments/learning_run.py.
PONG_ARGS ?= --max-frames 1000000000
pong: install
	mkdir -p experiments/results
	nohup $(PY) experiments/learning_run.py -- $(PONG_ARGS) > experiments/results/pong.log 2>&1 &
	@echo "training Pong in the background: tail -f experiments/results/pong.log"

# A/B runs of configs one after another, e.g. make ab AB_ARGS='--frames 4000000 "a: --t-max 5" "b: --t-max 20"'
AB_ARGS ?= --help
ab: install
	$(PY) experiments/ab.py $(AB_ARGS)
