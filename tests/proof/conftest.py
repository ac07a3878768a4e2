"""The proof session for the tests: every stack and variant rendered, validated and scanned once."""

from __future__ import annotations

import pytest

from proof.session import Session


@pytest.fixture(scope="session")
def proof(upstream, plans) -> Session:
    """Shares the stacks' recorded plans with the rest of the suite."""
    return Session(upstream, plans)
