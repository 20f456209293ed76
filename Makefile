# Inkwell — the commands a newcomer and CI need. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
N ?= 3
APT_PACKAGES := redis-server mariadb-server nginx chromium
SYSTEM_TOOLS := redis-server mariadbd mariadb-install-db nginx chromium

.PHONY: run install lint format test test-fast system-deps cluster cluster-status cluster-reload cluster-down bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)  ## the virtualenv with every pinned dependency

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

lint: $(STAMP)  ## ruff format --check and ruff check
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: system-deps $(STAMP) lint  ## every test: unit, web, cluster, browser
	$(PY) -m pytest -p no:cacheprovider

test-fast: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider -x -q --ignore=tests/cluster --ignore=tests/browser

cluster: system-deps $(STAMP)  ## N instances behind nginx on 127.0.0.1:8080
	$(PY) -m deploy.cluster up $(N)

cluster-status: $(STAMP)
	$(PY) -m deploy.cluster status

cluster-reload: $(STAMP)
	$(PY) -m deploy.cluster reload

cluster-down: $(STAMP)
	$(PY) -m deploy.cluster down

bench: system-deps $(STAMP)  ## load scripts, reported as ratios against reference points
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q wrk; } || \
	  echo "wrk is missing (sudo apt-get install -y wrk): measuring with Python threads"
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var logs .pytest_cache .ruff_cache
