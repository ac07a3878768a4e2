"""checkov on every stack's objects: nothing fails without a reviewed suppression."""

from __future__ import annotations

import pytest

from proof import checkov_scan
from tests.proof.broken import deployment, namespace, object_set
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


def test_a_checkov_finding_fails_unless_suppressed():
    """A privileged container is a checkov failure no reviewed suppression covers."""
    bad = deployment(
        "bad", containers=[{"name": "c", "image": "example/app:1.0", "securityContext": {"privileged": True}}]
    )
    result = checkov_scan.scan({"broken": object_set(namespace("apps"), bad)}, full=["broken"])["broken"]
    unexplained = {check for check, _, _ in result.unexplained(checkov_scan.suppressions())}
    assert "CKV_K8S_16" in unexplained  # "Container should not be privileged"
    covering = ({"check": "CKV_K8S_16", "objects": ["Deployment.apps.bad"], "reason": "test"},)
    assert "CKV_K8S_16" not in {check for check, _, _ in result.unexplained(covering)}
