"""checkov on every stack's objects: nothing fails without a reviewed suppression."""

from __future__ import annotations

import pytest

from proof import checkov_scan
from tests.proof.defects import ALL, DATA_GAP, params


@pytest.mark.parametrize("set_id", params("checkov"))
def test_no_unexplained_checkov_failure(proof, set_id):
    result = proof.checkov[set_id]
    assert result.parsing_errors == []
    assert result.passed > 1000
    unexplained = sorted(
        {f"{check} {resource}" for check, resource, _ in result.unexplained(checkov_scan.suppressions())}
    )
    assert unexplained == []


def test_every_suppression_matches_a_failure(proof):
    """A suppression that matches nothing hides nothing and would hide the next real failure."""
    failures = [f for set_id in ALL if set_id != DATA_GAP for f in proof.checkov[set_id].failed]
    for entry in checkov_scan.suppressions():
        for glob in entry["objects"]:
            matched = [f for f in failures if checkov_scan._suppresses({**entry, "objects": [glob]}, f)]
            assert matched, f"{entry['check']} {glob} matches no checkov failure"
