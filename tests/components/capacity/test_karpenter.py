"""Karpenter as recorded: controller, IAM scoping, interruption queue, EC2NodeClass and NodePools
against the upstream 1.14.1 CRDs (schema made strict, CEL rules evaluated) and chart values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from components import versions
from components.capacity.aws import INTERRUPTION_EVENTS
from components.capacity.karpenter import karpenter_values
from components.capacity.nodes import ec2_node_class, node_pools
from components.mesh import startup_taints
from components.platform import TASK_TAINT
from tests.components.capacity.cel import cel_failures
from tests.iam.roles import role_by_arn, subject, workload_roles
from tests.schemas import custom_resource_errors, releases, unknown_value_keys

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def crds(upstream: Path) -> Path:
    return upstream / "karpenter" / versions.KARPENTER_VERSION / "crds"


def crd_schema(upstream: Path, kind: str) -> dict:
    for path in crds(upstream).glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        if doc["spec"]["names"]["kind"] == kind:
            return doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    raise AssertionError(f"no CRD for {kind}")


def as_object(record: dict) -> dict:
    api_version, kind = record["type"].removeprefix("kubernetes:").rsplit(":", 1)
    return {"apiVersion": api_version, "kind": kind, **record["inputs"]}


def test_every_stack_installs_the_pinned_chart_on_system_nodes(plan, upstream):
    release = releases(plan)[versions.KARPENTER_CHART]["inputs"]
    assert release["version"] == "1.14.1" and release["namespace"] == "karpenter" and release["atomic"] is True
    values = release["values"]
    assert values["nodeSelector"]["airflow-mesh/node-role"] == "system"
    assert values["settings"]["clusterName"] == f"airflow-mesh-{plan.stack}"
    assert values["settings"]["interruptionQueue"] == f"airflow-mesh-{plan.stack}"
    assert values["controller"]["resources"]["requests"]["cpu"].endswith("m")
    assert values["replicas"] == (1 if plan.stack == "dev" else 2)
    chart_values = upstream / "karpenter" / versions.KARPENTER_VERSION / "karpenter" / "values.yaml"
    assert (
        unknown_value_keys(
            values, chart_values, free_form=["serviceAccount.annotations", "nodeSelector", "controller.resources"]
        )
        == []
    )


def test_controller_role_is_irsa_for_its_own_service_account_and_scoped_by_cluster_tags(plan):
    role = workload_roles(plan)["karpenter"]
    assert subject(role) == "system:serviceaccount:karpenter:karpenter"
    values = releases(plan)[versions.KARPENTER_CHART]["inputs"]["values"]
    assert role_by_arn(plan, values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"])["name"] == role.role
    cluster = f"airflow-mesh-{plan.stack}"
    by_sid = {s["Sid"]: s for s in role.policy["Statement"]}
    for sid in (
        "AllowScopedEC2LaunchTemplateAccessActions",
        "AllowScopedDeletion",
        "AllowScopedInstanceProfileActions",
    ):
        assert by_sid[sid]["Condition"]["StringEquals"][f"aws:ResourceTag/kubernetes.io/cluster/{cluster}"] == "owned"
    assert by_sid["AllowScopedEC2InstanceActionsWithTags"]["Condition"]["StringEquals"] == {
        f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster,
    }
    assert by_sid["AllowRegionalReadActions"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    (passed,) = by_sid["AllowPassingInstanceRole"]["Resource"]
    assert role_by_arn(plan, passed)["name"].endswith("-karpenter-aws-node-role")
    (queue,) = by_sid["AllowInterruptionQueueActions"]["Resource"]
    assert queue.endswith(f":{cluster}")
    for sid in ("EncryptNodeVolumesThroughEC2", "GrantNodeVolumeKeyToEC2"):
        assert by_sid[sid]["Condition"]["StringEquals"] == {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}


def test_pod_identity_mode_binds_the_chart_service_account_without_an_irsa_annotation():
    values = karpenter_values("c", "q", "arn:aws:iam::1:role/r", "pod-identity", "small")
    assert values["serviceAccount"]["annotations"] == {}
    assert karpenter_values("c", "q", "arn:aws:iam::1:role/r", "irsa", "small")["serviceAccount"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"
    }


def test_task_nodes_join_with_an_ec2_linux_access_entry(plan):
    entries = [e for e in plan.of_type("aws:eks/accessEntry:AccessEntry") if e["inputs"]["type"] == "EC2_LINUX"]
    assert len(entries) == 1 and "karpenter-aws-node-role" in " ".join(entries[0]["dependsOn"])
    for pool in plan.of_type(NODE_POOL):
        assert entries[0]["name"] in plan.requires(pool["name"])


def test_interruption_queue_gets_every_upstream_event_over_tls_only(plan):
    queue = plan.one("aws:sqs/queue:Queue")["inputs"]
    assert queue["messageRetentionSeconds"] == 300 and queue["sqsManagedSseEnabled"] is True
    policy = json.loads(plan.one("aws:sqs/queuePolicy:QueuePolicy")["inputs"]["policy"])
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    patterns = {
        json.dumps(json.loads(r["inputs"]["eventPattern"]), sort_keys=True)
        for r in plan.of_type("aws:cloudwatch/eventRule:EventRule")
    }
    expected = {json.dumps({"detail-type": [d], "source": [s]}, sort_keys=True) for _, s, d in INTERRUPTION_EVENTS}
    assert patterns >= expected
    targets = plan.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert len([t for t in targets if t["inputs"]["arn"].startswith("arn:aws:sqs:")]) == len(INTERRUPTION_EVENTS)


def test_node_class_and_pools_validate_against_the_upstream_crds_and_their_cel_rules(plan, upstream):
    objects = [as_object(r) for r in [*plan.of_type(NODE_CLASS), *plan.of_type(NODE_POOL)]]
    assert {o["kind"] for o in objects} == {"EC2NodeClass", "NodePool"}
    evaluated = 0
    for obj in objects:
        assert custom_resource_errors(obj, crds(upstream)) == [], obj["metadata"]["name"]
        failures, n = cel_failures(obj["spec"], crd_schema(upstream, obj["kind"])["properties"]["spec"], "spec")
        assert failures == [], (obj["metadata"]["name"], failures)
        evaluated += n
    assert evaluated >= 20


def test_the_cel_rules_do_reject_what_the_api_server_would(upstream):
    """Each a mistake the schema alone lets through."""
    node_class = ec2_node_class("c", "role", 30, "arn:aws:kms:us-east-1:1:key/k", {"eks:eks-cluster-name": "c"})
    schema = crd_schema(upstream, "EC2NodeClass")["properties"]["spec"]
    failures, _ = cel_failures(node_class["spec"], schema, "spec")
    assert any("eks:eks-cluster-name" in f for f in failures), failures
    node_class = ec2_node_class("c", "role", 30, "k", {})
    node_class["spec"]["amiSelectorTerms"] = [{"alias": "ubuntu@latest"}]
    assert cel_failures(node_class["spec"], schema, "spec")[0]
    (pool,) = node_pools(["on-demand"], ["amd64"], 8, (), "1m")
    pool["spec"]["template"]["spec"]["requirements"].append({"key": "karpenter.sh/custom", "operator": "Exists"})
    pool_schema = crd_schema(upstream, "NodePool")["properties"]["spec"]
    assert cel_failures(pool["spec"], pool_schema, "spec")[0]


def test_task_nodes_are_hardened_and_only_for_task_pods(plan):
    (nc,) = plan.of_type(NODE_CLASS)
    spec = nc["inputs"]["spec"]
    assert spec["amiSelectorTerms"] == [{"alias": versions.KARPENTER_AMI_ALIAS}]
    assert "latest" not in versions.KARPENTER_AMI_ALIAS
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (ebs,) = [m["ebs"] for m in spec["blockDeviceMappings"]]
    assert ebs["encrypted"] is True and ebs["volumeType"] == "gp3"
    (key,) = [k for k in plan.of_type("aws:kms/key:Key") if k["name"].endswith("karpenter-aws-volume-key")]
    assert ebs["kmsKeyID"].startswith("arn:aws:kms:") and key["name"] in plan.requires(nc["name"])
    tag = {"karpenter.sh/discovery": f"airflow-mesh-{plan.stack}"}
    assert spec["subnetSelectorTerms"] == spec["securityGroupSelectorTerms"] == [{"tags": tag}]
    private = [s for s in plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in s["name"]]
    public = [s for s in plan.of_type("aws:ec2/subnet:Subnet") if "-public-" in s["name"]]
    assert private and all(s["inputs"]["tags"].items() >= tag.items() for s in private)
    assert not any("karpenter.sh/discovery" in s["inputs"]["tags"] for s in public)
    node_sgs = [g for g in plan.of_type("aws:ec2/securityGroup:SecurityGroup") if g["name"].endswith("-node-sg")]
    assert [g["inputs"]["tags"]["karpenter.sh/discovery"] for g in node_sgs] == [tag["karpenter.sh/discovery"]]
    for pool in plan.of_type(NODE_POOL):
        template = pool["inputs"]["spec"]["template"]
        assert template["metadata"]["labels"] == {"airflow-mesh/node-role": "tasks"}
        assert template["spec"]["taints"] == [TASK_TAINT]
        assert template["spec"]["startupTaints"] == list(startup_taints("kuma"))


@pytest.mark.parametrize(
    ("stack", "pools", "archs"),
    [
        ("dev", {"tasks-spot": 12, "tasks-on-demand": 4}, ["amd64", "arm64"]),
        ("staging", {"tasks-spot": 18, "tasks-on-demand": 6}, ["amd64", "arm64"]),
        ("prod", {"tasks-on-demand": 96}, ["amd64"]),
    ],
)
def test_pools_per_stack_share_the_cpu_limit_and_prefer_spot(plans, stack, pools, archs):
    recorded = {p["inputs"]["metadata"]["name"]: p["inputs"]["spec"] for p in plans[stack].of_type(NODE_POOL)}
    assert {name: int(spec["limits"]["cpu"]) for name, spec in recorded.items()} == pools
    for name, spec in recorded.items():
        reqs = {r["key"]: r for r in spec["template"]["spec"]["requirements"]}
        assert reqs["kubernetes.io/arch"]["values"] == archs
        assert reqs["karpenter.sh/capacity-type"]["values"] == [name.removeprefix("tasks-")]
    if "tasks-spot" in recorded:
        assert recorded["tasks-spot"]["weight"] > recorded["tasks-on-demand"]["weight"]


def test_task_pods_select_tolerate_and_protect_their_nodes(plan):
    from components import access_model
    from components.airflow import pods
    from components.airflow.component import chart_inputs
    from tests import stacks

    settings = stacks.settings_for(plan.stack)
    inputs = chart_inputs(settings, access_model.build(settings))
    recorded = json.loads(releases(plan)["airflow"]["inputs"]["values"]["podTemplate"])
    for template in [recorded, *(pods.pod_template(inputs, d) for d in inputs.domains)]:
        assert template["metadata"]["annotations"]["karpenter.sh/do-not-disrupt"] == "true"
        assert template["spec"]["nodeSelector"] == {"airflow-mesh/node-role": "tasks"}
        assert {**TASK_TAINT, "operator": "Equal"} in template["spec"]["tolerations"]
        assert template["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "500m", "memory": "1024Mi"}
