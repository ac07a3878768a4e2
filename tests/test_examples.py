"""The committed stacks in stacks/ are examples: whatever stacks a team keeps there (its own
accounts, zones, IdP and domains; added or removed stacks), each must plan, pass the policy pack
and produce valid Kubernetes objects. Nothing here names a stack or a value from one; the
program's invariants are asserted on the fixture stacks in tests/stacks/ instead."""

from __future__ import annotations

import pytest
import yaml

from plan import ci, harness
from policy.rules.offline import evaluate, from_records, stack_of
from tests import schemas

EXAMPLES = harness.stack_names()
BUILTIN_GROUPS = ("apps/", "batch/", "policy/", "rbac.authorization.k8s.io/", "networking.k8s.io/")


@pytest.fixture(scope="session")
def example_plans() -> dict[str, harness.Plan]:
    """Each committed stack's offline plan, recorded once per session."""
    return {stack: harness.run(stack) for stack in EXAMPLES}


def test_there_is_at_least_one_example_stack():
    assert EXAMPLES, f"no Pulumi.<stack>.yaml in {harness.stacks_folder()}"


@pytest.mark.parametrize("stack", EXAMPLES)
def test_example_plans_and_passes_the_policy_pack(stack, example_plans):
    plan = example_plans[stack]
    assert plan.resources
    resources = from_records(plan.resources)
    found = evaluate(resources, stack_of(stack, resources))
    assert found == [], "\n".join(map(str, found))


@pytest.mark.parametrize("stack", EXAMPLES)
def test_example_kubernetes_objects_validate(stack, example_plans):
    checked = 0
    for record, obj in schemas.kubernetes_objects(example_plans[stack]):
        if obj["apiVersion"] == "v1" or obj["apiVersion"].startswith(BUILTIN_GROUPS):
            assert schemas.kubernetes_errors(obj) == [], record["name"]
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("stack", EXAMPLES)
def test_example_disables_default_providers_and_names_its_deploy_roles(stack):
    doc = yaml.safe_load((harness.stacks_folder() / f"Pulumi.{stack}.yaml").read_text())
    assert doc["config"]["pulumi:disable-default-providers"] == ["aws", "kubernetes"]
    info = ci.stack_info(stack)
    assert info["deploy_role"].startswith(f"arn:aws:iam::{info['account']}:role/")
