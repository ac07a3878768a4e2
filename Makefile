# Quick start: `make plan` (offline preview of the dev stack) and `make test`.
# Both prepare .venv on first use (scripts/venv.sh): Python >= 3.11 is checked first, `make plan`
# installs only the plan's requirements (requirements-plan.txt), `make test` the dev tools too, and a
# .venv made by another interpreter is rebuilt.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Airflow 3.1.7 and its providers, for tests_airflow/ only: never imported by the program or .venv.
AF_VENV ?= .venv-airflow
AF_PY   := $(AF_VENV)/bin/python
# What the program generates for Airflow, exported from the plan by .venv, checked by .venv-airflow.
AF_BUNDLE ?= build/airflow-bundle
# checkov for tests/proof/ in its own venv: its pins (boto3 1.35, packaging 23) clash with
# requirements-dev.txt. proof/checkov_scan.py runs $(CK_VENV)/bin/checkov as a subprocess.
CK_VENV ?= .venv-checkov
CK_PY   := $(CK_VENV)/bin/python
STACK  ?= dev
export PYTHON VENV
# Upstream chart schemas and CRDs for the schema tests (never copied into this repository): a local
# copy if there is one, else what `make upstream` fetched and verified against upstream.lock.
UPSTREAM_CACHE := $(abspath .cache/upstream)
export AIRFLOW_MESH_UPSTREAM_DIR ?= $(if $(wildcard ../shared/upstream),$(abspath ../shared/upstream),$(UPSTREAM_CACHE))

# `make plan prod` works like `make plan STACK=prod`.
ifeq (plan,$(firstword $(MAKECMDGOALS)))
  PLAN_ARGS := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
  ifneq ($(PLAN_ARGS),)
    STACK := $(PLAN_ARGS)
    $(eval $(PLAN_ARGS):;@:)
  endif
endif

.PHONY: help plan plan-all diff test test-airflow lint upstream bench project-file delivery-doc prices \
	dashboard-picture venv-plan venv-dev venv-checkov \
	$(VENV)/.installed clean distclean

help:  ## this list
	@grep -E '^[a-z$$(). /-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

venv-plan:  ## .venv with what `make plan` needs
	@scripts/venv.sh plan

venv-dev:  ## .venv with the test and lint tools too
	@scripts/venv.sh dev

$(VENV)/.installed: venv-dev  # the name the GitHub workflows use

$(AF_VENV)/.installed: requirements-airflow.txt requirements-airflow.lock
	@echo "==> building $(AF_VENV): Airflow 3.1.7 and its providers for tests_airflow/ (about 2 minutes the first time)"
	test -x $(AF_PY) || $(PYTHON) -m venv $(AF_VENV)
	$(AF_PY) -m pip install --progress-bar off --upgrade pip
	$(AF_PY) -m pip install --progress-bar off -r requirements-airflow.txt -c requirements-airflow.lock
	touch $@

$(CK_VENV)/.installed: requirements-checkov.txt
	@echo "==> building $(CK_VENV): checkov for tests/proof/ (about a minute the first time)"
	test -x $(CK_PY) || $(PYTHON) -m venv $(CK_VENV)
	$(CK_PY) -m pip install --progress-bar off --upgrade pip
	$(CK_PY) -m pip install --progress-bar off -r requirements-checkov.txt
	touch $@

venv-checkov: $(CK_VENV)/.installed  ## .venv-checkov: checkov, which tests/proof/ runs as a subprocess

plan: venv-plan  ## offline plan of STACK (default dev) -> build/plan/STACK/, with the policy pack's verdict
	$(PY) -m plan $(STACK)

plan-all: venv-plan  ## offline plan of every stack in stacks/
	$(PY) -m plan --all

diff: venv-plan  ## what this branch changes in STACK against BASE (default origin/main), as Markdown
	$(PY) -m plan --diff $(or $(BASE),origin/main) $(STACK)

upstream:  ## fetch the upstream files in upstream.lock into .cache/upstream and verify them
	$(PYTHON) scripts/fetch_upstream.py

lint: venv-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# pytest-xdist workers for `make test` (one per core; TEST_WORKERS=0 runs in one process).
TEST_WORKERS ?= auto

test: lint $(AF_VENV)/.installed $(CK_VENV)/.installed  ## ruff + the whole test suite (with the rendered charts) + Airflow's own code on the generated config
	@# The charts, schemas and CRDs the tests render and validate against: fetched (and verified against
	@# upstream.lock) on first use when there is no ../shared/upstream or $$AIRFLOW_MESH_UPSTREAM_DIR copy.
	@test -d "$(AIRFLOW_MESH_UPSTREAM_DIR)/charts" || $(MAKE) --no-print-directory upstream
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal
	$(MAKE) --no-print-directory test-airflow

test-airflow: venv-dev $(AF_VENV)/.installed  ## tests_airflow/: real Airflow 3.1.7 on every stack's bundle
	$(PY) -m tests_airflow.export $(AF_BUNDLE)
	AIRFLOW_MESH_BUNDLE=$(abspath $(AF_BUNDLE)) $(AF_PY) -m pytest tests_airflow

bench: venv-dev  ## whole-process time of `make plan` per stack vs the Pulumi floor (not a test)
	$(PY) -m plan.bench

project-file: venv-plan  ## regenerate Pulumi.yaml's config schema from components/settings/model.py
	$(PY) -m plan --project-file

delivery-doc: venv-plan  ## regenerate each stack's cost and deploy-time numbers in README.md and docs/delivery.md
	$(PY) -m plan.delivery_doc

prices: venv-dev  ## refresh plan/prices.yaml from the AWS Price List API (needs AWS credentials)
	$(PY) -m plan.prices_fetch

dashboard-picture: venv-plan  ## redraw docs/observability-dashboard.svg from the dashboard's definition
	$(PY) -m plan.dashboard_picture

clean:  ## remove what plan and test wrote (build/, tool caches); keeps .venv and the upstream cache
	rm -rf build .pytest_cache .ruff_cache  # build/proof holds the render and checkov caches
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean  ## back to a fresh clone: also .venv and the fetched upstream files
	rm -rf $(VENV) $(AF_VENV) $(CK_VENV) .cache
