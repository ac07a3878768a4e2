"""What Karpenter may launch for task pods: the EC2NodeClass and the NodePools, as plain objects.

Pure functions (no resources), so tests validate exactly these bodies against the upstream CRDs and
their CEL rules (``karpenter/1.14.1/crds``), and the cost report reads the limits from the plan.

- One EC2NodeClass ``tasks``: the pinned AL2023 alias, the private subnets and the node security group
  by their ``karpenter.sh/discovery`` tag, IMDSv2 only with hop limit 1 (a pod's extra network hop
  cannot reach the instance role; pods use IRSA or Pod Identity), an encrypted gp3 root volume with
  the stack's node-volume key.
- One NodePool per capacity type (``tasks-spot`` weighted above ``tasks-on-demand``, the fallback
  when Spot has no capacity), sharing one CPU/memory limit split between them, labelled and tainted
  for task pods only, born with the mesh CNI's startup taint (``mesh.startup_taints``: the taint the
  chosen mesh's CNI controller removes once it is ready on the node, kumahq/kuma#18741).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components import versions
from components.platform import KARPENTER_DISCOVERY_TAG, NODE_ROLE_LABEL, TASK_NODE_ROLE, TASK_TAINT

NODE_CLASS = "tasks"
#: Memory per vCPU the NodePool limit allows (general-purpose instances have 4 GiB, memory-optimised 8).
MEMORY_GIB_PER_VCPU = 8
#: Instance categories and sizes task nodes may have: general purpose, compute and memory optimised,
#: Nitro generations after 5 (all have ENA and IMDSv2), 2 to 16 vCPUs (a lost Spot node takes at most
#: 16 vCPUs of tasks with it).
CATEGORIES = ("c", "m", "r")
MIN_GENERATION = 5
CPU_SIZES = ("2", "4", "8", "16")
CAPACITY_WEIGHTS = {"spot": 100, "on-demand": 10}
EXPECTED_LOAD = "airflow-mesh/expected-task-vcpu-hours"


def ec2_node_class(
    cluster_name: str, node_role_name: str, disk_size_gib: int, volume_key_arn: str, tags: Mapping[str, str]
) -> dict[str, Any]:
    """The ``tasks`` EC2NodeClass (karpenter.k8s.aws/v1)."""
    discovery = [{"tags": {KARPENTER_DISCOVERY_TAG: cluster_name}}]
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": NODE_CLASS},
        "spec": {
            "role": node_role_name,
            "amiSelectorTerms": [{"alias": versions.KARPENTER_AMI_ALIAS}],
            "subnetSelectorTerms": discovery,
            "securityGroupSelectorTerms": discovery,
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": 1,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [
                {
                    "deviceName": "/dev/xvda",
                    "rootVolume": True,
                    "ebs": {
                        "volumeSize": f"{disk_size_gib}Gi",
                        "volumeType": "gp3",
                        "encrypted": True,
                        "kmsKeyID": volume_key_arn,
                        "deleteOnTermination": True,
                    },
                }
            ],
            # Provider default tags do not reach what Karpenter launches; these do (minus the keys
            # Karpenter reserves for itself, which the CRD's CEL rules reject).
            "tags": dict(tags),
            "detailedMonitoring": False,
        },
    }


def node_pools(
    capacity_types: Sequence[str],
    architectures: Sequence[str],
    cpu_limit: int,
    startup_taints: Sequence[Mapping[str, str]],
    consolidate_after: str,
    expected_vcpu_hours: int = 0,
) -> list[dict[str, Any]]:
    """One NodePool (karpenter.sh/v1) per capacity type, the CPU limit split between them.

    Karpenter enforces ``limits`` per NodePool, so the stack-wide ceiling is divided: Spot (when listed)
    gets the share left after on-demand's quarter, on-demand alone gets all of it.
    """
    shares = _shares(capacity_types, cpu_limit)
    preferred = max(capacity_types, key=CAPACITY_WEIGHTS.__getitem__)
    pools = []
    for capacity in capacity_types:
        cpu = shares[capacity]
        pools.append(
            {
                "apiVersion": "karpenter.sh/v1",
                "kind": "NodePool",
                "metadata": {
                    "name": f"tasks-{capacity}",
                    # The expected load lands on the preferred (first, highest weight) pool; the cost
                    # report prices it from here (plan/capacity_cost.py).
                    "annotations": {EXPECTED_LOAD: str(expected_vcpu_hours if capacity == preferred else 0)},
                },
                "spec": {
                    "weight": CAPACITY_WEIGHTS[capacity],
                    "limits": {"cpu": str(cpu), "memory": f"{cpu * MEMORY_GIB_PER_VCPU}Gi"},
                    "disruption": {
                        # Running tasks carry karpenter.sh/do-not-disrupt (pod template), so only empty
                        # or underused nodes without a running task are consolidated.
                        "consolidationPolicy": "WhenEmptyOrUnderutilized",
                        "consolidateAfter": consolidate_after,
                        "budgets": [{"nodes": "20%"}],
                    },
                    "template": {
                        "metadata": {"labels": {NODE_ROLE_LABEL: TASK_NODE_ROLE}},
                        "spec": {
                            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": NODE_CLASS},
                            "taints": [dict(TASK_TAINT)],
                            "startupTaints": [dict(t) for t in startup_taints],
                            # Nodes are replaced monthly (AMI and kernel fixes); a task still running then
                            # holds its node up to terminationGracePeriod.
                            "expireAfter": "720h",
                            "terminationGracePeriod": "24h",
                            "requirements": _requirements(capacity, architectures),
                        },
                    },
                },
            }
        )
    return pools


def _shares(capacity_types: Sequence[str], cpu_limit: int) -> dict[str, int]:
    if set(capacity_types) == {"spot", "on-demand"}:
        on_demand = max(2, cpu_limit // 4)
        return {"on-demand": on_demand, "spot": max(2, cpu_limit - on_demand)}
    return {capacity_types[0]: cpu_limit}


def _requirements(capacity: str, architectures: Sequence[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [capacity]},
        {"key": "kubernetes.io/arch", "operator": "In", "values": list(architectures)},
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
        {"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": list(CATEGORIES)},
        {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": [str(MIN_GENERATION)]},
        {"key": "karpenter.k8s.aws/instance-cpu", "operator": "In", "values": list(CPU_SIZES)},
    ]
    if capacity == "spot":
        # Spot needs choice to survive reclaims: at least 5 instance families to pick from
        # (Karpenter's minValues; the launch fails rather than narrowing below it).
        out[3] = {**out[3], "minValues": 2}
        out.append({"key": "karpenter.k8s.aws/instance-family", "operator": "Exists", "minValues": 5})
    return out
