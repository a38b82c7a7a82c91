# The two commands of the quick start:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test install install-test lint checks bench

# What `make demo` installed, and from which pyproject.toml: it reinstalls only when that
# file changes (new dependencies, entry points), not on every run.
INSTALLED := $(VENV)/.installed-demo

$(BIN)/python:
	@echo "==> creating the virtual environment $(VENV)"
	@$(PYTHON) -m venv $(VENV)
	@echo "==> updating pip in $(VENV)"
	@$(BIN)/python -m pip install --quiet --upgrade pip

# The editable install's "Editable installation … !!" box only warns about a folder named
# like the package in the current directory; it is noise here (src/ layout), so it is
# filtered by its message and every other warning still shows.
$(INSTALLED): pyproject.toml | $(BIN)/python
	@echo "==> installing agentconsole and its dependencies into $(VENV) (first time: about half a minute)"
	@PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install --quiet -e .
	@touch $@

install: $(INSTALLED)

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	./scripts/install-test-servers ngircd dovecot-imapd openssl postgresql

# Installs agentconsole (once) and opens it on a throwaway demo store.
demo: install
	@echo "==> starting the demo: seeding a throwaway store, then opening the console (q quits)"
	@$(BIN)/agentconsole demo

# Installs everything the suite needs (Python packages and real servers), checks lint,
# formatting, types and import contracts, then runs the suite on the SQLite store and the
# store-dependent tests again on a PostgreSQL server the suite starts.
test: install-test
	@$(MAKE) --no-print-directory checks
	@echo "==> the suite on the SQLite store"
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@echo "==> the store-dependent tests on PostgreSQL"
	$(BIN)/python -m pytest --store=postgresql $(PYTEST_ARGS)

lint: install-test checks

# The static gate of every change (pinned tools, see pyproject.toml).
checks:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo   # import contracts in pyproject.toml: one-way imports

# Benchmarks print tables; they are run by hand, never by CI. Some need the test servers.
bench: install-test
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/cli_startup.py --reuse
	$(BIN)/python bench/email_ingest.py
	$(BIN)/python bench/api_ingest.py
	$(BIN)/python bench/endpoint_under_load.py
	$(BIN)/python bench/matrix_ingest.py
	$(BIN)/python bench/attachment_memory.py
	$(BIN)/python bench/lease_takeover.py
	$(BIN)/python bench/query_speed.py
	$(BIN)/python bench/sla_speed.py
	$(BIN)/python bench/bulk_close.py
	$(BIN)/python bench/reply_picker.py
	$(BIN)/python bench/rules_speed.py
	$(BIN)/python bench/answer_five.py
	$(BIN)/python bench/peers.py
