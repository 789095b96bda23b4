# Two commands on a fresh Debian machine with Python 3.11:
#   make demo   - create .venv, install Edgeward, run the demo
#   make test   - install dev tools and the Debian peers the tests start, then lint, type-check, test
#   make check  - quick feedback while working: lint, type-check and the tests not marked slow
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_ARGS ?=

.PHONY: demo test check lint typecheck unit bench peers clean image docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The demo's roles (the cloud and the live table; the benchmarks need no more).
# The base install alone, `pip install .`, is the gateway role.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	sh tests/peers/install-debian-packages.sh demo || echo "peers: the demo runs without them"
	$(BIN)/edgeward demo $(DEMO_ARGS)

peers:
	sh tests/peers/install-debian-packages.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy
	$(BIN)/mypy --strict bench
	$(BIN)/mypy --strict image/edgeward_update.py

# In parallel (pytest-xdist), one test file per worker at a time, so that a
# module's cloud starts once; modules that share something machine-wide take
# a lock (the exclusive marker, tests/conftest.py).
PYTEST_PARALLEL := -n auto --dist loadfile

unit: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_PARALLEL)

# Under 3 minutes on a 2-core machine; make test runs the slow tests too.
check: lint typecheck
	$(BIN)/pytest $(PYTEST_PARALLEL) -m "not slow"

# The docs site into site/ (git-ignored); --strict turns a broken link or a
# page missing from the nav into a failure. NO_MKDOCS_2_WARNING quiets the
# theme's banner about its successor.
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

test: peers lint typecheck docs unit

bench: $(VENV)/.installed
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/auth_overhead.py
	$(BIN)/python bench/modbus_polls.py
	$(BIN)/python bench/serial_lines.py
	$(BIN)/python bench/gateway_cpu.py
	$(BIN)/python bench/backlog_drain.py
	$(BIN)/python bench/proxy_overhead.py
	$(BIN)/python bench/admission.py
	$(BIN)/python bench/binary_decoders.py
	$(BIN)/python bench/text_decoders.py
	$(BIN)/python bench/readings_query.py

# The gateway's root filesystem (needs root and mmdebstrap; cached, see image/README.md).
image: | $(BIN)/python
	PYTHON=$(abspath $(BIN)/python) sh image/build.sh

clean:
	rm -rf $(VENV) build site *.egg-info .mypy_cache .pytest_cache .ruff_cache .import_linter_cache
