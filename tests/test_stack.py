"""The whole stack as `pulumi up` would register it: providers, tags, determinism, secrets."""

from __future__ import annotations

import json

from tests import stacks

TAG_KEYS = {"project", "stack", "environment", "owner", "managed-by"}


def test_every_aws_resource_goes_through_the_one_tagged_provider(plan):
    (provider,) = plan.of_type("pulumi:providers:aws")
    # provider configuration travels JSON-encoded, as the engine passes it to the plugin
    tags = json.loads(provider["inputs"]["defaultTags"])["tags"]
    assert set(tags) == TAG_KEYS
    assert tags["stack"] == plan.stack and tags["project"] == "airflow-mesh" and tags["managed-by"] == "pulumi"
    assert provider["inputs"]["allowedAccountIds"]
    aws_resources = [r for r in plan.resources if r["type"].startswith("aws:")]
    assert len(aws_resources) > 50
    assert {r["provider"] for r in aws_resources} == {provider["name"]}


def test_every_kubernetes_resource_goes_through_the_cluster_provider(plan):
    (provider,) = plan.of_type("pulumi:providers:kubernetes")
    for r in plan.resources:
        if r["type"].startswith("kubernetes:"):
            assert r["provider"] == provider["name"], r["name"]


def test_components_use_project_type_tokens_and_children_are_parented(plan):
    # the Kubernetes provider's own multi-language components (yaml/v2) are the one exception
    components = [r for r in plan.resources if not r["custom"] and not r["type"].startswith("kubernetes:yaml/v2:")]
    assert components
    for c in components:
        assert c["type"].startswith("airflow-mesh:"), c["type"]
    top_level = {r["name"] for r in plan.resources if r["parent"] is None}
    assert all(not r["type"].startswith("aws:") for r in plan.resources if r["name"] in top_level)


def test_plans_are_deterministic():
    first = stacks.run("staging", fresh=True).to_json()  # two real runs, not the kept plan
    second = stacks.run("staging", fresh=True).to_json()
    assert first == second


def test_recorded_inputs_hide_secrets(plans):
    text = plans["dev"].to_json()
    assert "offline-placeholder" not in text
    assert '"kubeconfig": "[secret]"' in text
    assert json.loads(text)["stack"] == "dev"


def test_prod_ha_shape(plans):
    prod = plans["prod"]
    assert len({s["inputs"]["availabilityZone"] for s in prod.of_type("aws:ec2/subnet:Subnet")}) == 3
    assert len(prod.of_type("aws:ec2/natGateway:NatGateway")) == 3
    public = [s for s in prod.of_type("aws:ec2/subnet:Subnet") if "-public-" in s["name"]]
    assert all(public[0]["name"] not in g["dependsOn"] for g in prod.of_type("aws:eks/nodeGroup:NodeGroup"))


def test_a_first_preview_with_every_computed_output_unknown_builds_the_same_graph(plans):
    """On a real first `pulumi preview` nothing exists yet: ids, ARNs and endpoints are unknown. The
    program must register the same resources (nothing hides inside apply()), and the policy pack
    must not flag values it cannot see yet."""
    from policy.rules.offline import evaluate, from_records, stack_of

    for stack in ("dev", "prod"):
        unknown = stacks.run(stack, first_preview=True)
        assert [r["name"] for r in unknown.resources] == [r["name"] for r in plans[stack].resources]
        assert unknown.to_json().count('"[unknown]"') > 20  # the mode really hides outputs
        resources = from_records(unknown.resources)
        assert evaluate(resources, stack_of(stack, resources)) == []
