"""Shared fixtures: one offline plan per fixture stack (tests/stacks/), recorded once per session.

The invariants are asserted on the fixture stacks the tests own, never on the examples in stacks/
(those are checked for whatever stacks exist, in tests/test_examples.py). See tests/stacks/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plan import harness
from tests import stacks

STACKS = stacks.NAMES


@pytest.fixture(scope="session")
def plans() -> dict[str, harness.Plan]:
    """The recorded plan of every fixture stack in tests/stacks/ (the harness `make plan` uses)."""
    return {stack: stacks.run(stack) for stack in STACKS}


@pytest.fixture(params=STACKS)
def plan(request, plans) -> harness.Plan:
    """Each fixture stack's plan in turn."""
    return plans[request.param]


@pytest.fixture(scope="session")
def upstream() -> Path:
    """Upstream chart schemas and CRDs ($AIRFLOW_MESH_UPSTREAM_DIR, else ../shared/upstream)."""
    candidates = [os.environ.get("AIRFLOW_MESH_UPSTREAM_DIR"), str(harness.ROOT.parent / "shared" / "upstream")]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    reason = "upstream data not found: set AIRFLOW_MESH_UPSTREAM_DIR or put shared/ beside the repository"
    if os.environ.get("AIRFLOW_MESH_REQUIRE_UPSTREAM") == "1":
        pytest.fail(reason + " (required here: AIRFLOW_MESH_REQUIRE_UPSTREAM=1)")
    pytest.skip(reason)
