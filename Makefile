# Quick start: `make plan` (offline preview of the dev stack) and `make test`.
# Both install .venv from the requirements files on first use.
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Airflow 3.1.7 and its providers, for tests_airflow/ only: never imported by the program or .venv.
AF_VENV ?= .venv-airflow
AF_PY   := $(AF_VENV)/bin/python
# What the program generates for Airflow, exported from the plan by .venv, checked by .venv-airflow.
AF_BUNDLE ?= build/airflow-bundle
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

.PHONY: plan plan-all test test-airflow lint bench project-file delivery-doc clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(AF_VENV)/.installed: requirements-airflow.txt requirements-airflow.lock
	test -x $(AF_PY) || python3 -m venv $(AF_VENV)
	$(AF_PY) -m pip install --quiet --upgrade pip
	$(AF_PY) -m pip install --quiet -r requirements-airflow.txt -c requirements-airflow.lock
	touch $@

plan: $(VENV)/.installed  ## offline plan of STACK (default dev) -> build/plan/STACK/
	$(PY) -m plan $(STACK)

plan-all: $(VENV)/.installed  ## offline plan of every stack in stacks/
	$(PY) -m plan --all

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint $(AF_VENV)/.installed  ## ruff + the whole test suite + Airflow's own code on the generated config
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-airflow

test-airflow: $(VENV)/.installed $(AF_VENV)/.installed  ## tests_airflow/: real Airflow 3.1.7 on every stack's bundle
	$(PY) -m tests_airflow.export $(AF_BUNDLE)
	AIRFLOW_MESH_BUNDLE=$(abspath $(AF_BUNDLE)) $(AF_PY) -m pytest tests_airflow

bench: $(VENV)/.installed  ## whole-process time of `make plan` per stack vs the Pulumi floor (not a test)
	$(PY) -m plan.bench

project-file: $(VENV)/.installed  ## regenerate Pulumi.yaml's config schema from components/settings/model.py
	$(PY) -m plan --project-file

delivery-doc: $(VENV)/.installed  ## regenerate each stack's cost and deploy-time numbers in README.md and docs/delivery.md
	$(PY) -m plan.delivery_doc

clean:
	rm -rf build .pytest_cache .ruff_cache
