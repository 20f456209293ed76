# Inkwell — the commands a newcomer and CI need. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
N ?= 3
APT_PACKAGES := redis-server redis-sentinel mariadb-server nginx chromium
SYSTEM_TOOLS := redis-server redis-sentinel mariadbd mariadb-install-db nginx chromium

.PHONY: run install lock lint format test test-fast system-deps cluster cluster-status cluster-reload cluster-down bench clean

# Every dependency, runtime and dev, pinned with hashes; generated from pyproject.toml by `make lock`.
LOCK := requirements.lock

$(STAMP): $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	touch $(STAMP)

install: $(STAMP)  ## the virtualenv with every locked dependency (requirements.lock, hashes checked)

# After editing the dependencies in pyproject.toml: re-resolve them into $(LOCK) and install it.
# Pins already in the lock are kept unless asked: make lock LOCK_ARGS="--upgrade-package NAME",
# or LOCK_ARGS=--upgrade for everything. uv comes from the venv (the version pinned in
# pyproject.toml is installed first when missing, so a broken lock can still be regenerated).
lock:  ## re-resolve pyproject.toml into requirements.lock, then install it
	@test -x $(VENV)/bin/uv || { { test -x $(PY) || $(PYTHON) -m venv $(VENV); } && \
	  $(PY) -m pip install --quiet "$$(grep -oE 'uv==[0-9][0-9a-z.]*' pyproject.toml)"; }
	$(VENV)/bin/uv pip compile pyproject.toml --group dev --python-version 3.11 --universal \
	  --generate-hashes --custom-compile-command "make lock" --quiet $(LOCK_ARGS) -o $(LOCK)
	@$(MAKE) --no-print-directory install

run: $(STAMP)  ## the blog on embedded defaults with sample content at http://127.0.0.1:8888
	$(PY) main.py demo
	$(PY) main.py --port=8888

# Servers the test suite starts for itself: installed with apt when missing (as root).
system-deps:
	@missing=""; for tool in $(SYSTEM_TOOLS); do \
	  command -v $$tool >/dev/null 2>&1 || [ -x /usr/sbin/$$tool ] || missing="$$missing $$tool"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(APT_PACKAGES); \
	  else \
	    echo "missing:$$missing — run: sudo apt-get install -y $(APT_PACKAGES)"; exit 1; \
	  fi; \
	fi

lint: $(STAMP)  ## ruff format --check, ruff check, mypy (what it checks: [tool.mypy] in pyproject.toml)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: system-deps $(STAMP) lint  ## every test: unit, web, cluster, browser
	$(PY) -m pytest -p no:cacheprovider

test-fast: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider -x -q --ignore=tests/cluster --ignore=tests/browser

cluster: system-deps $(STAMP)  ## N instances behind nginx on 127.0.0.1:8080 (HA=1: replicated servers, see README)
	$(PY) -m deploy.cluster up $(N) $(if $(filter 1 yes true,$(HA)),--ha)

cluster-status: $(STAMP)
	$(PY) -m deploy.cluster status

cluster-reload: $(STAMP)
	$(PY) -m deploy.cluster reload

cluster-down: $(STAMP)
	$(PY) -m deploy.cluster down

# Starts its own cluster (var/bench/) over the bench site and the reference servers; the tables
# (pages as ratios; RSS growth, start-up, publish → visible, QR long polls) go to
# bench/RESULTS.md. BENCH_ARGS="--compare" for a quick ratio check (see bench/run.py).
bench: system-deps $(STAMP)  ## pages as ratios of reference points measured in the same run
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q wrk; } || \
	  { echo "wrk is missing: sudo apt-get install -y wrk"; exit 1; }
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var logs .pytest_cache .ruff_cache
