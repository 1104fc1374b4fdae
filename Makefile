# `make run` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS :=

.PHONY: install run test bench lock clean

install: $(STAMP)

# The locks are complete (every dependency pinned and hashed), so pip installs them with --no-deps:
# resolving again, it would trip over extras the lock pins without them (smart-open[http]).
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

run: install
	$(BIN)/labeltrail serve --migrate

# The suite runs on SQLite always and on PostgreSQL when one answers at $(PG_TEST_URL).
test: install
	$(BIN)/ruff check .
	@if $(BIN)/python -m tests.support.pg_probe "$(PG_TEST_URL)"; then \
		LABELTRAIL_TEST_POSTGRES_URL="$(PG_TEST_URL)" $(BIN)/python -m pytest; \
	else \
		echo "!!! PostgreSQL does not answer at $(PG_TEST_URL): running on SQLite only"; \
		$(BIN)/python -m pytest; \
	fi

bench: install $(VENV)/.bench-installed
	LABELTRAIL_BENCH_POSTGRES_URL="$(PG_TEST_URL)" $(BIN)/python benchmarks/ingest.py
	LABELTRAIL_BENCH_POSTGRES_URL="$(PG_TEST_URL)" $(BIN)/python benchmarks/audit.py
	LABELTRAIL_BENCH_POSTGRES_URL="$(PG_TEST_URL)" $(BIN)/python benchmarks/graphql.py
	LABELTRAIL_BENCH_POSTGRES_URL="$(PG_TEST_URL)" $(BIN)/python benchmarks/shift.py
	LABELTRAIL_BENCH_POSTGRES_URL="$(PG_TEST_URL)" $(BIN)/python benchmarks/trace.py
	LABELTRAIL_BENCH_POSTGRES_URL="$(PG_TEST_URL)" $(BIN)/python benchmarks/load.py
	LABELTRAIL_BENCH_POSTGRES_URL="$(PG_TEST_URL)" $(BIN)/python benchmarks/suite.py

# Benchmarks compare against other tools (Evidently); those stay out of the runtime install.
$(VENV)/.bench-installed: requirements-bench.lock $(STAMP)
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-bench.lock
	touch $@

# Regenerate the hash-pinned lock after changing dependencies in pyproject.toml.
lock:
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 --universal -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra bench --generate-hashes --python-version 3.11 --universal \
		-c requirements.lock -o requirements-bench.lock

clean:
	rm -rf $(VENV)
