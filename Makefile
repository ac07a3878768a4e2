# Quick start: `make plan` (offline preview of the dev stack) and `make test`.
# Both install .venv from the requirements files on first use.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STACK  ?= dev
# Upstream chart schemas and CRDs for the offline checks (never copied into this repository).
export AIRFLOW_MESH_UPSTREAM_DIR ?= $(abspath ../shared/upstream)

# `make plan prod` works like `make plan STACK=prod`.
ifeq (plan,$(firstword $(MAKECMDGOALS)))
  PLAN_ARGS := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
  ifneq ($(PLAN_ARGS),)
    STACK := $(PLAN_ARGS)
    $(eval $(PLAN_ARGS):;@:)
  endif
endif

.PHONY: plan plan-all test lint bench project-file delivery-doc clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# checkov lives apart: its pins clash with requirements-dev.txt (proof/checkov_scan.py finds it here).
CHECKOV_VENV ?= .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

plan: $(VENV)/.installed  ## offline plan of STACK (default dev) -> build/plan/STACK/
	$(PY) -m plan $(STACK)

plan-all: $(VENV)/.installed  ## offline plan of every stack in stacks/
	$(PY) -m plan --all

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint $(CHECKOV_VENV)/.installed  ## ruff + the whole test suite
	$(PY) -m pytest

bench: $(VENV)/.installed  ## whole-process time of `make plan` per stack vs the Pulumi floor (not a test)
	$(PY) -m plan.bench

project-file: $(VENV)/.installed  ## regenerate Pulumi.yaml's config schema from components/settings.py
	$(PY) -m plan --project-file

delivery-doc: $(VENV)/.installed  ## regenerate each stack's cost and deploy-time numbers in README.md and docs/delivery.md
	$(PY) -m plan.delivery_doc

clean:
	rm -rf build .pytest_cache .ruff_cache  # build/proof holds the render and checkov caches
