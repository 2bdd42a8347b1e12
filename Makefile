# Two commands matter: `make run` and `make test`. Both create .venv and install pinned versions
# (pyproject.toml pins direct dependencies, constraints.txt pins everything beneath them).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: install run test bench lint system-deps node-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium and wrk (browser and load tests), prometheus/promtool and prometheus-alertmanager
# (tests/unit/alerts, tests/integration/alerts); installed only when a command is missing.
system-deps:
	@missing=""; \
	for c in chromium:chromium wrk:wrk promtool:prometheus prometheus:prometheus \
	         prometheus-alertmanager:prometheus-alertmanager; do \
	  command -v $${c%%:*} >/dev/null 2>&1 || missing="$$missing $${c#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  pkgs=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$pkgs >/dev/null; \
	  else echo "install Debian's $$pkgs(sudo apt-get install $$pkgs)"; fi; fi

# Pinned browser trackers (analytics.js, Snowplow) for tests/integration/compat; `npm ci` runs again
# only when package.json or package-lock.json changed since the last install.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

node-deps: node_modules/.installed

# The embedded broker keeps its log in .touchstream/kafka (durable, the default), so the next `make run` resumes
# on it; `TOUCHSTREAM_EMBEDDED_KAFKA_STORAGE=memory make run` keeps it in RAM: faster, may lose acknowledged events.
run: install node-deps
	$(BIN)/touchstream up --demo

test: install system-deps node-deps
	$(BIN)/python -m pytest

bench: install system-deps node-deps
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .touchstream .pytest_cache .mypy_cache .ruff_cache
