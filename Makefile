# Two entry points for a fresh machine: `make demo` (the main job) and `make test` (the whole suite).
# Both install what they need: a virtual environment with the two distributions of this repo (the provider
# with its test extras, and the emulator), and Azurite.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# The oldest Airflow the package declares (pyproject): the fast tests also run against it.
AIRFLOW_FLOOR := 3.3.0
FLOOR_VENV := .venv-floor

# Debian packages the tests use: a compose parser for docker-compose.yaml (no container engine needed),
# PostgreSQL for the end-to-end Airflow's metadata database, Redis for the Celery suite's broker, and
# Chromium for the UI tests (Playwright).
SYSTEM_PACKAGES := docker-compose postgresql redis-server chromium

.PHONY: setup system-packages demo test test-floor test-celery fuzz lint bench

setup: system-packages $(VENV)/.installed node_modules/.installed

system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Both distributions of this repo, from the checkout: the provider and the emulator (emulator/).
$(VENV)/.installed: pyproject.toml emulator/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[test]' -e ./emulator
	touch $@

node_modules/.installed: package.json
	npm install --no-package-lock --no-audit --no-fund --loglevel=error
	touch $@

lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

test: lint test-floor
	$(PY) -m pytest
	$(MAKE) test-celery

# The compose file's Celery topology (two workers on Redis, two triggerers) under load: tests/e2e_celery.
# Smaller counts for a quick look: E2E_CELERY_FAN_OUT=20 E2E_CELERY_WAITS=50 make test-celery
test-celery: setup
	$(PY) -m pytest -m celery tests/e2e_celery

test-floor: $(FLOOR_VENV)/.installed
	$(FLOOR_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/unit tests/dags

$(FLOOR_VENV)/.installed: pyproject.toml emulator/pyproject.toml $(VENV)/.installed
	$(VENV)/bin/uv venv --quiet --allow-existing --python $(PYTHON) $(FLOOR_VENV)
	$(VENV)/bin/uv pip install --quiet --python $(FLOOR_VENV)/bin/python -e '.[test]' -e ./emulator \
	  'apache-airflow==$(AIRFLOW_FLOOR)'
	touch $@

# The property tests (hypothesis) with many more random examples than `make test`'s fixed ones.
fuzz: setup
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -p no:cacheprovider $$(grep -rl --include='test_*.py' '^from hypothesis' tests)

demo: setup
	$(PY) demo/run.py

bench: setup
	$(PY) benchmarks/engine_throughput.py
	$(PY) benchmarks/dag_parse.py
	$(PY) benchmarks/triggerer_capacity.py
	$(PY) benchmarks/change_poll.py
	$(PY) benchmarks/change_detection_scale.py
	$(PY) benchmarks/watcher_latency.py
	$(PY) benchmarks/update_readmes.py
