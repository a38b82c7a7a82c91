# The two commands of the quick start:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test install install-test lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	./scripts/install-test-servers ngircd dovecot-imapd openssl

# Installs agentconsole and opens it on the embedded demo store.
demo: install
	$(BIN)/agentconsole demo

# Installs everything the suite needs (Python packages and real servers) and runs it.
test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Benchmarks print tables; they are run by hand, never by CI. Some need the test servers.
bench: install-test
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/email_ingest.py
	$(BIN)/python bench/api_ingest.py
	$(BIN)/python bench/matrix_ingest.py
	$(BIN)/python bench/lease_takeover.py
