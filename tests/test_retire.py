"""Retiring a stack (docs/retire.md): `retire: true`, one `pulumi up`, then `pulumi destroy` deletes
everything but the data and nothing fails half-way.

`pulumi destroy` refuses a stack with any protected resource; otherwise it walks the dependency graph
backwards, deleting each resource after everything that requires it, and only drops resources marked
retainOnDelete from the state. It fails half-way when AWS refuses a delete because something that is
kept still uses it (a VPC with a retained database's subnets, a security group referenced by a
retained rule). So: nothing protected, the data kept, and everything a kept resource stands on kept.
"""

from __future__ import annotations

import json

import pytest

from plan import harness
from policy.rules.offline import evaluate_records
from tests import stacks

ROOT = harness.ROOT
#: What a retired prod leaves in AWS: the data, its keys, and the network the database stands in.
KEPT_TYPES = {
    "aws:rds/instance:Instance",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:cloudwatch/logGroup:LogGroup",  # the access trail: audit data (who reached what)
}
#: Resources with no cloud object to delete (the engine only forgets them).
STATE_ONLY = ("pulumi:providers:", "random:", "time:", "command:")


@pytest.fixture(scope="module")
def retiring() -> harness.Plan:
    return stacks.run("prod", {"retire": True})


def destroy(plan: harness.Plan) -> list[tuple[str, str]]:
    """(name, "delete" | "retain") in the order `pulumi destroy` acts: dependents before what they
    require. Raises AssertionError for a protected resource (destroy would refuse to start)."""
    protected = [r["name"] for r in plan.resources if r["options"].get("protect")]
    assert not protected, f"`pulumi destroy` refuses: {protected[:3]} are protected"
    done: list[tuple[str, str]] = []
    seen: set[str] = set()

    def visit(name: str) -> None:  # dependents first: visit everything that requires ``name``
        if name in seen:
            return
        seen.add(name)
        for other in plan.resources:
            r = plan[name]
            if name in {*other["dependsOn"], other["parent"], other["provider"]}:
                visit(other["name"])
        action = "retain" if r["options"].get("retainOnDelete") else "delete"
        done.append((name, action))

    for r in plan.resources:
        visit(r["name"])
    return done


def cloud(r: dict) -> bool:
    return r["custom"] and not r["type"].startswith(STATE_ONLY)


def test_prod_refuses_destroy_until_retired(plans):
    with pytest.raises(AssertionError, match="protected"):
        destroy(plans["prod"])


def test_retired_prod_keeps_the_data_and_what_it_stands_on(retiring):
    kept = {name for name, action in destroy(retiring) if action == "retain"}
    kept_types = {retiring[n]["type"] for n in kept if not retiring[n]["type"].startswith("aws:s3/bucket")}
    assert {retiring[n]["type"] for n in kept} >= KEPT_TYPES
    assert {t for t in kept_types if not t.startswith("aws:s3/")} <= KEPT_TYPES
    db = retiring.one("aws:rds/instance:Instance")
    assert db["name"] in kept and db["inputs"]["deletionProtection"] is True
    assert db["inputs"]["skipFinalSnapshot"] is False, "a later manual delete still leaves a snapshot"
    assert retiring.one("aws:ec2/vpc:Vpc")["name"] in kept
    private = [s["name"] for s in retiring.of_type("aws:ec2/subnet:Subnet") if "-private-" in s["name"]]
    public = [s["name"] for s in retiring.of_type("aws:ec2/subnet:Subnet") if "-public-" in s["name"]]
    assert set(private) <= kept and not set(public) & kept
    assert all(k["name"] in kept for k in retiring.of_type("aws:kms/key:Key")), "every key outlives the stack"
    assert retiring.one("aws:eks/cluster:Cluster")["name"] not in kept
    assert retiring.one("aws:eks/cluster:Cluster")["inputs"]["deletionProtection"] is False


def test_nothing_kept_stands_on_something_deleted(retiring):
    """AWS refuses to delete what a kept resource still uses: that is the half-way failure."""
    kept = {name for name, action in destroy(retiring) if action == "retain"}
    for name in kept:
        needed = {n for n in retiring.requires(name) if cloud(retiring[n])}
        assert needed <= kept, f"{name} is kept but {sorted(needed - kept)} would be deleted under it"


def test_the_database_rule_pointing_at_the_nodes_goes_before_the_nodes(retiring):
    """A kept rule naming the nodes' security group would make AWS refuse to delete that group."""
    order = [name for name, action in destroy(retiring) if action == "delete"]
    rules = retiring.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    (rule,) = [r for r in rules if r["name"].endswith("-db-from-nodes")]
    groups = {g["name"] for g in retiring.of_type("aws:ec2/securityGroup:SecurityGroup")}
    (nodes,) = [d for d in rule["dependsOn"] if d in groups and not d.endswith("-db-sg")]
    assert rule["name"] in order and nodes in order
    assert order.index(rule["name"]) < order.index(nodes)


def test_the_pack_flags_only_the_lifted_protection_which_retire_json_downgrades(retiring):
    advisory = json.loads((ROOT / "policy" / "retire.json").read_text())
    found = evaluate_records("prod", retiring.resources)
    assert found and {v.rule for v in found} == set(advisory)
    assert all(level == {"enforcementLevel": "advisory"} for level in advisory.values())


def test_retire_changes_only_resource_options_and_protection_flags(plans, retiring):
    """The `pulumi up` that prepares retirement replaces nothing: same resources, same inputs except
    the EKS deletion protection it turns off."""
    before, after = plans["prod"], retiring
    assert [r["name"] for r in before.resources] == [r["name"] for r in after.resources]
    changed = {r["name"] for r in after.resources if r["inputs"] != before[r["name"]]["inputs"]}
    assert changed == {before.one("aws:eks/cluster:Cluster")["name"]}


def test_a_retired_dev_stack_keeps_its_data_too():
    plan = stacks.run("dev", {"retire": True})
    kept = {name for name, action in destroy(plan) if action == "retain"}
    assert plan.one("aws:rds/instance:Instance")["name"] in kept
    assert plan.one("aws:s3/bucket:Bucket")["inputs"]["forceDestroy"] is False
