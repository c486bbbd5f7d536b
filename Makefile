# The two commands of the README:  make run  (set up, then serve on http://localhost:5000)
#                                  make test (set up, then run every test, browser tests included)
# and                              make lint (ruff and pyright over the whole tree; fails on any finding)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup run test lint chromium bench clean

setup: $(VENV)/.installed node_modules/.installed

# The checkout itself in editable mode (pyproject.toml), so bench/ and tests import playground without sys.path edits.
$(VENV)/.installed: requirements/app.txt requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements/dev.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

run: setup
	$(PY) app.py

# Browser tests drive Debian's Chromium; install it where we may (root with apt-get), else say why they skip.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Debian's chromium is missing and cannot be installed here (needs root and apt-get): browser tests will be skipped"; \
	  fi; \
	fi

test: setup chromium
	$(PY) -m pytest

# All three run even when one fails, so one pass shows every finding; any finding fails the target.
lint: setup
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check . || status=1; \
	$(VENV)/bin/pyright || status=1; \
	exit $$status

bench: setup
	$(PY) bench/engine.py
	$(PY) bench/load.py
	$(PY) bench/browser.py

clean:
	rm -rf $(VENV) node_modules test-results .pytest_cache
