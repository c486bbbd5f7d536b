# The two commands of the README:  make run  (set up, then serve on http://localhost:5000)
#                                  make test (set up, then run every test, browser tests included)
# and                              make lint (ruff and pyright over the whole tree; fails on any finding)
#                                  make cluster (redis-server, one app process per core, HAProxy on port 5000)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup run test lint chromium services cluster bench clean

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

# The scale-out tests and `make cluster` run Debian's redis-server, haproxy and PostgreSQL (tests/services.py):
# installed the same way as Chromium; where they cannot be, the tests that need them skip (fail in CI).
services:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing="$$missing haproxy"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's$$missing for the scale-out tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Debian's$$missing cannot be installed here (needs root and apt-get): the scale-out tests will be skipped"; \
	  fi; \
	fi

test: setup chromium services
	$(PY) -m pytest

# One command for the cluster on this machine (README, "Scaling out"); Ctrl-C stops every process of it.
cluster: setup services
	PYTHON=$(PY) deploy/cluster.sh

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
