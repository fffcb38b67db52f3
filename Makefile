# smsdash: `make run` starts the demo dashboard, `make test` runs the whole suite.
# Both work on a fresh machine with only Python 3.11 and pip; they create .venv themselves.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
SIMULATOR_PORT ?= 8025
PRIVATE_REDIS_PORT ?= 6390
# honcho gives each process its own $$PORT, so the web server reads WEB_PORT instead.
export WEB_PORT := $(PORT)
export SIMULATOR_PORT
# The demo's accounts point at the simulator on 127.0.0.1; only a deployment that says so sends keys there.
export PROVIDER_ALLOW_LOCAL_ENDPOINTS ?= true
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test setup setup-dev test-packages migrate demo admin-password lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Re-install only when pyproject.toml changed since the last install.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

migrate: setup
	$(PY) manage.py migrate --no-input -v0

demo: migrate
	$(PY) manage.py load_demo
	$(PY) manage.py ensure_admin

admin-password: setup
	$(PY) manage.py ensure_admin --reset

# The web server, the provider simulator and, where redis-server exists and REDIS_URL is not
# set, a private Redis under var/ with a worker and the cron scheduler; Ctrl-C stops them all.
run: demo
	@mkdir -p var
	@if [ -n "$$REDIS_URL" ]; then \
		echo "Jobs: Redis at $$REDIS_URL"; \
		$(VENV)/bin/honcho -f Procfile start web simulator worker cron watch; \
	elif command -v redis-server >/dev/null 2>&1; then \
		echo "Jobs: private Redis on 127.0.0.1:$(PRIVATE_REDIS_PORT) (var/redis)"; \
		REDIS_URL=redis://127.0.0.1:$(PRIVATE_REDIS_PORT)/0 PRIVATE_REDIS_PORT=$(PRIVATE_REDIS_PORT) \
			$(VENV)/bin/honcho -f Procfile start web simulator redis worker cron watch; \
	else \
		echo "Jobs: no redis-server found, background jobs run inline (the admin says so)."; \
		$(VENV)/bin/honcho -f Procfile start web simulator periodic; \
	fi

# Debian packages the tests use: Chromium for the browser tests (Playwright's own browser download
# cannot work here), openssl for the TLS tests' certificate, curl for the README's examples.
TEST_PACKAGES = chromium openssl curl
test-packages:
	@if [ ! -x $(CHROMIUM) ] || ! command -v openssl >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			(apt-get install -y -qq $(TEST_PACKAGES) >/dev/null 2>&1 || \
			 (apt-get update -qq && apt-get install -y -qq $(TEST_PACKAGES) >/dev/null)) || true; \
		else echo "$(TEST_PACKAGES) cannot be installed here: browser and TLS tests will fail."; fi; \
	fi

test: setup-dev test-packages
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup-dev
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) var/*.sqlite3* staticfiles test-artifacts
