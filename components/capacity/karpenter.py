"""Karpenter: the controller (Helm release, CRDs included), the task EC2NodeClass and NodePools.

The controller runs on the system nodes (``airflow-mesh/node-role: system``; the chart's own affinity
also keeps it off nodes it launched), outside the mesh (access model: it must work while the mesh
control plane does not), with the IAM role the identity layer made for the ``karpenter`` workload.
Task nodes scale from zero: nothing runs on them until a task pod asks, and Karpenter removes
them once empty (``consolidateAfter``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from components import sizing, versions
from components.capacity.nodes import ec2_node_class, node_pools
from components.platform import KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT, NODE_ROLE_LABEL, SYSTEM_NODE_ROLE

PART_OF = {"app.kubernetes.io/part-of": "airflow-mesh"}


@dataclass(frozen=True)
class KarpenterArgs:
    """Inputs of :class:`Karpenter`."""

    #: EKS cluster name (the chart refuses to install without it).
    cluster_name: pulumi.Input[str]
    #: Interruption queue name (KarpenterAws).
    queue_name: pulumi.Input[str]
    #: Role task nodes run as (KarpenterAws); Karpenter makes their instance profile from it.
    node_role_name: pulumi.Input[str]
    #: KMS key of the task nodes' root volumes.
    volume_key_arn: pulumi.Input[str]
    #: The controller's IAM role (identity layer).
    controller_role_arn: pulumi.Input[str]
    #: ``irsa``: annotate the chart's ServiceAccount; ``pod-identity``: the association binds it.
    identity_mode: Literal["irsa", "pod-identity"]
    #: Sizing tier of the platform (``components.sizing``): replicas and requests.
    tier: sizing.Tier
    #: ``spot`` and/or ``on-demand``: one NodePool each.
    capacity_types: Sequence[str]
    #: ``amd64`` and/or ``arm64``.
    architectures: Sequence[str]
    #: vCPUs all task nodes together may have.
    cpu_limit: int
    #: Expected task load, vCPU-hours a month (recorded on the preferred NodePool for the cost report).
    expected_vcpu_hours: int
    #: Taints task nodes are born with (the mesh CNI's, ``mesh.startup_taints``).
    startup_taints: Sequence[Mapping[str, str]]
    #: Root volume of task nodes, GiB.
    disk_size_gib: int
    #: Tags of everything Karpenter launches (the stack's tag map).
    tags: Mapping[str, str]
    #: What everything here waits for: the node access entry (nodes cannot join before it) and CoreDNS
    #: (on destroy, Karpenter must still resolve AWS endpoints to terminate its nodes).
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    #: Helm timeout in seconds; the release is atomic.
    timeout_seconds: int = 600


class Karpenter(pulumi.ComponentResource):
    """Namespace, the Karpenter release and the task EC2NodeClass + NodePools.

    Outputs: ``node_pools`` (names), ``ready`` (release, node class and pools).
    """

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:capacity:Karpenter", name, None, opts)
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata={
                "name": KARPENTER_NAMESPACE,
                # Not meshed (access model); the controller meets `restricted`.
                "labels": {**PART_OF, "pod-security.kubernetes.io/enforce": "restricted"},
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        release = k8s.helm.v3.Release(
            f"{name}-release",
            name="karpenter",
            chart=versions.KARPENTER_CHART,
            version=versions.KARPENTER_VERSION,
            namespace=namespace.metadata.name,
            values=pulumi.Output.all(args.cluster_name, args.queue_name, args.controller_role_arn).apply(
                lambda a: karpenter_values(a[0], a[1], a[2], args.identity_mode, args.tier)
            ),
            atomic=True,
            cleanup_on_fail=True,
            timeout=args.timeout_seconds,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        # The CRDs come with the release (chart crds/), so the custom resources wait for it.
        after = pulumi.ResourceOptions(parent=self, depends_on=[release, *args.depends_on])
        node_class = pulumi.Output.all(args.cluster_name, args.node_role_name, args.volume_key_arn).apply(
            lambda a: ec2_node_class(a[0], a[1], args.disk_size_gib, a[2], args.tags)
        )
        nc = k8s.apiextensions.CustomResource(
            f"{name}-node-class",
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata={"name": node_class["metadata"]["name"], "labels": PART_OF},
            spec=node_class["spec"],
            opts=after,
        )
        pools = node_pools(
            args.capacity_types,
            args.architectures,
            args.cpu_limit,
            args.startup_taints,
            consolidate_after="1m" if args.tier == "small" else "5m",
            expected_vcpu_hours=args.expected_vcpu_hours,
        )
        self.node_pools = [p["metadata"]["name"] for p in pools]
        created = [
            k8s.apiextensions.CustomResource(
                f"{name}-{pool['metadata']['name']}",
                api_version=pool["apiVersion"],
                kind=pool["kind"],
                metadata={**pool["metadata"], "labels": PART_OF},
                spec=pool["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[release, nc, *args.depends_on]),
            )
            for pool in pools
        ]
        self.namespace = namespace
        self.ready: list[pulumi.Resource] = [release, nc, *created]
        self.register_outputs({"node_pools": self.node_pools})


def karpenter_values(
    cluster_name: str, queue_name: str, role_arn: str, identity_mode: str, tier: sizing.Tier
) -> dict[str, Any]:
    """Helm values of the karpenter chart 1.14.1 (keys from its values.yaml)."""
    annotations = {"eks.amazonaws.com/role-arn": role_arn} if identity_mode == "irsa" else {}
    return {
        "replicas": sizing.replicas("karpenter", tier),
        "serviceAccount": {"create": True, "name": KARPENTER_SERVICE_ACCOUNT, "annotations": annotations},
        "nodeSelector": {"kubernetes.io/os": "linux", NODE_ROLE_LABEL: SYSTEM_NODE_ROLE},
        "controller": {"resources": sizing.helm_resources("karpenter", tier)},
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue_name},
        "logLevel": "info",
    }
