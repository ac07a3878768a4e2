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


def _required() -> bool:
    """CI (GitHub sets CI=true) or AIRFLOW_MESH_REQUIRE_UPSTREAM=1: missing upstream data fails."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("AIRFLOW_MESH_REQUIRE_UPSTREAM") == "1"


def find_upstream() -> tuple[Path | None, str]:
    """(folder, "") holding every file of upstream.lock, else (None, why not).

    Looked for in order: $AIRFLOW_MESH_UPSTREAM_DIR, ../shared/upstream beside the repository, and
    .cache/upstream once `make upstream` completed it for this lock. A folder that exists but lacks
    locked files is reported, not passed over: the tests would otherwise read a partial copy.
    """
    from scripts.fetch_upstream import CACHE, MARKER, lock_digest, read_lock

    paths = [e.path for e in read_lock()]
    given = os.environ.get("AIRFLOW_MESH_UPSTREAM_DIR")
    for candidate in (given, str(harness.ROOT.parent / "shared" / "upstream")):
        if candidate and Path(candidate).is_dir() and Path(candidate).resolve() != CACHE.resolve():
            missing = [p for p in paths if not (Path(candidate) / p).is_file()]
            if missing:
                return None, f"{candidate} lacks {len(missing)} files of upstream.lock, e.g. {missing[0]}"
            return Path(candidate), ""
    marker = CACHE / MARKER
    if marker.is_file() and marker.read_text().strip() == lock_digest():
        return CACHE, ""
    return None, "upstream data not found: run `make upstream` (fetches upstream.lock) or set AIRFLOW_MESH_UPSTREAM_DIR"


@pytest.fixture(scope="session")
def upstream() -> Path:
    """Upstream chart schemas, values, CRDs and chart sources, pinned by upstream.lock.

    Skips the test where they are absent, except in CI (CI=true, AIRFLOW_MESH_REQUIRE_UPSTREAM=1),
    where the schema checks must run: there a missing file fails the test.
    """
    folder, why = find_upstream()
    if folder is not None:
        return folder
    if _required():
        pytest.fail(why + " (required here: CI=true or AIRFLOW_MESH_REQUIRE_UPSTREAM=1)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def proof(upstream, plans):
    """The proof session (proof/session.py): every stack and variant rendered, validated and scanned
    once, sharing the stacks' recorded plans; here so the journeys read the same renders as tests/proof."""
    from proof.session import Session

    return Session(upstream, plans)
