# Two commands on a fresh Debian machine with Python 3.11:
#   make demo   - create .venv, install Edgeward, run the demo
#   make test   - install dev tools and the Debian peers the tests start, then lint, type-check, test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_ARGS ?=

.PHONY: demo test lint typecheck unit bench peers clean image docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
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

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy
	$(BIN)/mypy --strict bench
	$(BIN)/mypy --strict image/edgeward_update.py

unit: $(VENV)/.installed-dev
	$(BIN)/pytest

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

# The gateway's root filesystem (needs root and mmdebstrap; cached, see image/README.md).
image: | $(BIN)/python
	PYTHON=$(abspath $(BIN)/python) sh image/build.sh

clean:
	rm -rf $(VENV) build site *.egg-info .mypy_cache .pytest_cache .ruff_cache
