# fleetgate: one-command set-up on a fresh Debian/Ubuntu machine with Python 3.11+.
#
#   make demo         install the runtime lock into .venv and run the demo (no test tools, no Ray)
#   make test         install the dev lock (every extra) into .venv, lint, type-check, run every test
#   make lock         re-resolve requirements/*.lock from pyproject.toml (needs the package index)
#   make test-latest  the suite against the newest versions pyproject.toml allows, in .venv-latest
#
# Installs come only from the hash-pinned locks in requirements/ (names, versions, sha256 hashes),
# through uv: the one on PATH, or one that `make` installs into .tools/ from requirements/bootstrap.lock.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
TOOLS   := .tools
SYSTEM_UV := $(shell command -v uv 2>/dev/null)
UV      := $(or $(SYSTEM_UV),$(TOOLS)/bin/uv)
LOCKS   = $(PYTHON) tools/locks.py
PYTEST_ARGS ?=
# which lock the venv holds, stamped by the lock file's checksum
RUNTIME_STAMP := $(VENV)/.synced-runtime-$(shell cksum requirements/runtime.lock | cut -d' ' -f1)
DEV_STAMP     := $(VENV)/.synced-dev-$(shell cksum requirements/dev.lock | cut -d' ' -f1)

.PHONY: demo test test-latest lock lock-check uv check bench install dev redis-server clean

lock-check:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "fleetgate needs Python 3.11+")'
	@$(LOCKS) check

$(TOOLS)/bin/uv: requirements/bootstrap.lock
	@echo "installing uv into $(TOOLS)/ (none on PATH)"
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements/bootstrap.lock
	@touch $@

uv: $(if $(SYSTEM_UV),,$(TOOLS)/bin/uv)

$(BIN)/python:
	$(PYTHON) -m venv --without-pip $(VENV)

# sync: exactly the lock's packages (anything else is removed), hashes checked, then fleetgate
# itself as an editable install with no dependencies of its own (its build backend is locked too)
define sync
	$(UV) pip sync --quiet --python $(BIN)/python --require-hashes requirements/$(1).lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation --no-index -e .
	@rm -f $(VENV)/.synced-* && touch $(2)
endef

$(RUNTIME_STAMP): requirements/runtime.lock pyproject.toml | lock-check uv $(BIN)/python
	$(call sync,runtime,$@)

$(DEV_STAMP): requirements/dev.lock pyproject.toml | lock-check uv $(BIN)/python
	$(call sync,dev,$@)

# the dev lock holds every runtime package: a venv synced to it serves the demo as well
ifeq ($(wildcard $(DEV_STAMP)),)
install: $(RUNTIME_STAMP)
else
install: $(DEV_STAMP)
endif

dev: $(DEV_STAMP)

demo: lock-check install
	$(BIN)/fleetgate demo

redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing redis-server (tests run their own throwaway instance)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "redis-server is missing: run 'sudo apt-get install redis-server' and then 'make test' again"; exit 1; \
	  fi; }

check: lock-check dev
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy --strict src tools

test: lock-check dev redis-server check
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lock: uv
	$(LOCKS) lock --uv $(UV)

# The newest versions pyproject.toml allows, resolved now into a scratch venv: a breaking release
# shows up here before users see it. Not part of CI; the locks are left as they are.
test-latest: uv redis-server
	@test -x .venv-latest/bin/python || $(PYTHON) -m venv --without-pip .venv-latest
	$(UV) pip install --quiet --python .venv-latest/bin/python --upgrade --refresh -e ".[$$($(LOCKS) extras)]"
	.venv-latest/bin/python -m pytest -q $(PYTEST_ARGS)

bench: dev
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/overhead.py --limits --no-litellm
	$(BIN)/python bench/limits.py
	$(BIN)/python bench/routing.py
	$(BIN)/python bench/simulate.py

clean:
	rm -rf $(VENV) .venv-latest $(TOOLS) .mypy_cache .ruff_cache .pytest_cache .hypothesis
