"""The pack as the CLI runs it: every stack's recorded plan passes, through the rule functions and
through the real CrossGuard analyzer (gRPC), and every violating example is a mandatory violation."""

from __future__ import annotations

import pytest
from pulumi.runtime.proto import analyzer_pb2

from policy.rules import ALL
from policy.rules.model import UNKNOWN, Stack
from policy.rules.offline import evaluate, from_records, stack_of
from tests import stacks

from .analyzer import Analyzer
from .examples import EXAMPLES, res


@pytest.fixture(scope="module")
def analyzer():
    with Analyzer() as running:
        yield running


def test_every_stack_passes_every_rule(plan):
    resources = from_records(plan.resources)
    found = evaluate(resources, stack_of(plan.stack, resources))
    assert found == [], "\n".join(map(str, found))


VARIANTS = [
    ("dev", {"meshProvider": "istio", "meshAcceptUnenforcedEgress": True}),
    ("staging", {"meshProvider": "istio", "meshAcceptUnenforcedEgress": True}),
    ("prod", {"meshProvider": "istio", "meshAcceptUnenforcedEgress": True}),
    ("prod", {"meshProvider": "istio", "meshAcceptUnenforcedEgress": True, "identityMode": "pod-identity"}),
    ("prod", {"identityMode": "pod-identity"}),
    ("staging", {"meshProvider": "linkerd"}),
    ("prod", {"meshProvider": "consul"}),
    ("prod", {"oauth2ProxySessionStore": "redis"}),
    ("staging", {"otelEndpoint": "otlp.example.com:443"}),
    ("dev", {"meshTlsMode": "permissive", "meshCaSource": "builtin"}),
]


@pytest.mark.parametrize(
    ("stack", "overrides"), VARIANTS, ids=[f"{s}-{'-'.join(map(str, o.values()))}" for s, o in VARIANTS]
)
def test_every_supported_variant_passes_every_rule(stack, overrides):
    """The mandatory pack must not block a mode the program offers (Istio's entry point, Redis...)."""
    plan = stacks.run(stack, overrides)
    resources = from_records(plan.resources)
    found = evaluate(resources, stack_of(plan.stack, resources))
    assert found == [], "\n".join(map(str, found))


def test_stack_environment_is_read_from_the_aws_provider(plan):
    assert stack_of(plan.stack, from_records(plan.resources)).environment == plan.stack


def test_pack_declares_every_rule_as_mandatory(analyzer):
    info = analyzer.info()
    assert info.name == "airflow-mesh-guardrails"
    assert {p.name for p in info.policies} == {r.name for r in ALL}
    assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.MANDATORY}
    stack_rules = {r.name for r in ALL if r.scope == "stack"}
    assert {p.name for p in info.policies if p.policy_type == analyzer_pb2.POLICY_TYPE_STACK} == stack_rules


def test_every_stack_passes_the_running_pack(analyzer, plan):
    resources = from_records(plan.resources)
    analyzer.configure_stack(plan.stack)
    found = analyzer.analyze(plan.stack, resources) + analyzer.analyze_stack(plan.stack, resources)
    assert [(d.policyName, d.urn, d.message) for d in found] == []


@pytest.mark.parametrize("rule_name", sorted(EXAMPLES))
def test_running_pack_reports_each_violating_example_as_mandatory(analyzer, rule_name):
    environment, compliant, violating = EXAMPLES[rule_name]
    stack = environment  # the stack name carries the environment for Kubernetes resources
    analyzer.configure_stack(stack)

    def run(resources):
        found = analyzer.analyze(stack, resources) + analyzer.analyze_stack(stack, resources)
        return [d for d in found if d.policyName == rule_name]

    assert run(compliant) == []
    found = run(violating)
    assert found and all(d.enforcementLevel == analyzer_pb2.MANDATORY for d in found)


def test_unknown_values_during_preview_do_not_switch_a_policy_off(analyzer):
    """An unknown trust policy is skipped for that resource only; the advisory "can't run policy"
    diagnostic the SDK emits for unhandled unknowns must never appear."""
    unknown = res("aws:iam/role:Role", "pending", assumeRolePolicy=UNKNOWN)
    found = analyzer.analyze("prod", [unknown])
    assert found == []
    bucket = res("aws:s3/bucket:Bucket", "b", bucket=UNKNOWN)
    found = analyzer.analyze_stack("prod", [bucket])
    assert {d.policyName for d in found} == {"s3-bucket-encrypted", "s3-public-access-blocked", "s3-tls-only"}
    assert all(d.enforcementLevel == analyzer_pb2.MANDATORY for d in found)


def test_kubernetes_resources_take_the_environment_from_stack_tags_or_name(analyzer):
    permissive = res(
        "kubernetes:kuma.io/v1alpha1:MeshTLS",
        "tls",
        spec={"targetRef": {"kind": "Mesh"}, "rules": [{"default": {"mode": "Permissive"}}]},
    )
    analyzer.configure_stack("sandbox", {"environment": "dev"})
    assert analyzer.analyze("sandbox", [permissive]) == []
    analyzer.configure_stack("sandbox")
    assert analyzer.analyze("sandbox", [permissive]), "a stack whose class is unknown is held to prod rules"
    assert evaluate([permissive], Stack("dev", "dev")) == []
