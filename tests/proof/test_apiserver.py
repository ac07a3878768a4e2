"""Every release renders with the real chart, and every object passes what the API server checks."""

from __future__ import annotations

import pytest

from proof import apiserver, reviewed
from proof.charts import HELM_RELEASE
from tests.proof.conftest import SET_IDS


def test_every_release_renders_with_the_real_chart(proof, set_id):
    """A render error (a template `fail`, a values-schema rejection) is what `helm install` would hit."""
    plan = proof.plan(set_id)
    objects = proof.objects(set_id)
    releases = plan.of_type(HELM_RELEASE)
    assert len(objects.renders) == len(releases) >= 5
    for rendered in objects.renders:
        assert rendered.objects, f"{rendered.release} rendered nothing"


def test_every_object_is_accepted_by_the_api_server(proof, set_id):
    """Kubernetes schemas (strict) for built-in kinds; for custom resources the CRD the stack
    installs, strict, with its CEL rules."""
    report = proof.api(set_id)
    assert report.errors == []
    assert report.checked >= 150
    assert report.cel_evaluated >= 100  # Gateway API, cert-manager, NGF and Istio rules ran


def test_every_cel_rule_is_evaluated_or_has_a_reviewed_reason(proof, set_id):
    reasons = {(e["crd"], e["rule"]) for e in reviewed.load("cel_unevaluable")}
    unexplained = sorted(
        (u.crd, u.rule[:80], u.reason) for u in proof.api(set_id).unevaluable if (u.crd, u.rule) not in reasons
    )
    assert unexplained == []


@pytest.mark.parametrize("set_id", SET_IDS[:1])
def test_counts_are_reported(proof, set_id, record_property):
    report = proof.api(set_id)
    record_property("cel_evaluated", report.cel_evaluated)
    assert report.cel_transition_skipped >= 1  # GatewayClass controllerName is immutable: update-only
