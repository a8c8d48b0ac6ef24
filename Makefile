# `make test` on a fresh clone creates .venv, installs the project into it and runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
GAME ?= Pong
ARGS ?=
RUN ?= runs/$(GAME)_ff_seed0

.PHONY: install test train evaluate plot bench clean

$(VENV)/installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/installed

test: install
	$(PY) -m pytest -q tests

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
