# flagger: make install | demo | test | lint
# Every step a fresh machine needs is here; CI runs `bash .ci/run`, which runs `make lint test`.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check --quiet
MODEL ?= models/flagger-edos
DEMO_OUT ?= examples/out

.PHONY: install dev browser wrk demo test lint format clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade "pip>=24"
	$(PIP) install -e .
	touch $@

dev: $(VENV)/.dev-installed

$(VENV)/.dev-installed: $(VENV)/.installed
	$(PIP) install -e '.[dev]'
	touch $@

demo: install
	$(VENV)/bin/flagger scan examples/messages.csv --output $(DEMO_OUT)/results.jsonl \
		--author-field author --time-field sent_at --model $(MODEL) --overwrite \
		--report $(DEMO_OUT)/report.html --report $(DEMO_OUT)/summary.json
	@echo "demo done: verdicts in $(DEMO_OUT)/results.jsonl, report in $(DEMO_OUT)/report.html"

# Chromium (Debian package) renders the HTML scan report in a test; without it that test skips.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get install -y -qq chromium >/dev/null 2>&1 || \
		  { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; }; } || \
		echo "chromium not installed: the HTML report render test will be skipped"

wrk:
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get install -y -qq wrk >/dev/null 2>&1 || \
		  { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }; } || \
		echo "wrk not installed: bench/api_load.py will use httpx clients"

test: dev browser
	$(PY) -m pytest

lint: dev
	$(VENV)/bin/ruff check src tests training bench
	$(VENV)/bin/ruff format --check src tests training bench

format: dev
	$(VENV)/bin/ruff format src tests training bench
	$(VENV)/bin/ruff check --fix src tests training bench

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache .mypy_cache
