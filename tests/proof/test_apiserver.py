"""Every release renders with the real chart, and every object passes what the API server checks."""

from __future__ import annotations

import pytest

from proof import apiserver, reviewed
from proof.charts import HELM_RELEASE
from tests.proof.defects import params


@pytest.mark.parametrize("set_id", params("render"))
def test_every_release_renders_with_the_real_chart(proof, set_id):
    """A render error (a template `fail`, a values-schema rejection, a missing dependency) is what
    `helm install` would hit."""
    objects = proof.objects(set_id)
    assert len(objects.renders) == len(proof.plan(set_id).of_type(HELM_RELEASE)) >= 5
    for rendered in objects.renders:
        assert rendered.objects, f"{rendered.release} rendered nothing"


@pytest.mark.parametrize("set_id", params("apiserver"))
def test_every_object_is_accepted_by_the_api_server(proof, set_id):
    """Kubernetes schemas (strict) for built-in kinds; for custom resources the CRD the stack
    installs, strict, with its CEL rules."""
    report = proof.api(set_id)
    assert report.errors == []
    assert report.checked >= 150
    assert report.cel_evaluated >= 100  # Gateway API, cert-manager, NGF and Istio rules ran
    assert report.cel_transition_skipped >= 1  # GatewayClass controllerName: update-only rule


@pytest.mark.parametrize("set_id", params("cel"))
def test_every_cel_rule_is_evaluated_or_has_a_reviewed_reason(proof, set_id):
    assert apiserver.unexplained(proof.api(set_id), reviewed.load("cel_unevaluable")) == []
