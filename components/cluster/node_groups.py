"""NodeGroups: EKS managed node groups on AL2023 with IMDSv2 enforced."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.platform import NODE_ROLE_LABEL
from components.settings.regions import Partition

#: Kubernetes taint effects as the EKS node group API spells them.
_EKS_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
#: No AmazonEKS_CNI_Policy here: the VPC CNI gets its own IRSA role, so pods on the node cannot
#: borrow ENI permissions from the instance profile.
_NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")


def assume_ec2(part: Partition) -> str:
    """Trust policy of a node role: EC2 instances of the partition assume it."""
    statement = {"Effect": "Allow", "Principal": {"Service": part.principal("ec2")}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass(frozen=True)
class NodeGroupSpec:
    """One managed node group."""

    #: Short name (``system``, ``workload``); also the ``airflow-mesh/node-role`` label value.
    name: str
    #: Instance types, one architecture.
    instance_types: Sequence[str]
    #: EKS AMI type (``AL2023_x86_64_STANDARD`` or ``AL2023_ARM_64_STANDARD``).
    ami_type: str
    #: ``ON_DEMAND`` or ``SPOT``.
    capacity_type: str
    #: Minimum and initial size; the desired size is left to the autoscaler afterwards.
    min_size: int
    #: Maximum size.
    max_size: int
    #: Taints every node is born with, as ``{"key", "value", "effect"}`` with Kubernetes effect names
    #: (``NoSchedule``...). A node group's taints are set at registration (EKS passes them to the
    #: kubelet's ``--register-with-taints``), so no pod can land before a controller removes them.
    taints: Sequence[Mapping[str, str]] = ()


@dataclass(frozen=True)
class NodeGroupsArgs:
    """Inputs of :class:`NodeGroups`."""

    #: The stack's AWS partition (node role trust and managed policy ARNs).
    partition: Partition
    #: EKS cluster name.
    cluster_name: pulumi.Input[str]
    #: Kubernetes version of the nodes (follows the control plane, so upgrades roll the nodes).
    kubernetes_version: pulumi.Input[str]
    #: Private subnets the nodes live in.
    subnet_ids: pulumi.Input[Sequence[str]]
    #: Security group of every node.
    node_security_group_id: pulumi.Input[str]
    #: Encrypted gp3 root volume size, GiB.
    disk_size_gib: int
    #: The groups to create.
    groups: Sequence[NodeGroupSpec]
    #: Tags for instances, volumes and ENIs: provider default tags do not reach what an ASG launches.
    tags: Mapping[str, str]
    #: What every node group waits for (the add-ons nodes need to become Ready). A component's own
    #: ``depends_on`` does not hold back its children, so it is passed down explicitly.
    depends_on: Sequence[pulumi.Resource] = ()


class NodeGroups(pulumi.ComponentResource):
    """Node IAM role, a hardened launch template and one managed node group per spec.

    Outputs: ``node_role_arn``, ``node_groups`` (the ``aws.eks.NodeGroup`` resources).
    """

    def __init__(self, name: str, args: NodeGroupsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:cluster:NodeGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_ec2(args.partition), opts=child)
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy}", role=role.name, policy_arn=args.partition.managed_policy(policy), opts=child
            )
            for policy in _NODE_POLICIES
        ]

        template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description="airflow-mesh EKS nodes: IMDSv2 only, encrypted gp3 root volume",
            update_default_version=True,
            # Hop limit 1: pods cannot reach the instance's credentials; they use their own roles.
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": 1,
                "instance_metadata_tags": "disabled",
            },
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",
                    "ebs": {
                        "volume_size": args.disk_size_gib,
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "delete_on_termination": "true",
                    },
                }
            ],
            vpc_security_group_ids=[args.node_security_group_id],
            tag_specifications=[
                {"resource_type": kind, "tags": dict(args.tags)} for kind in ("instance", "volume", "network-interface")
            ],
            opts=child,
        )

        self.node_groups = []
        for spec in args.groups:
            self.node_groups.append(
                aws.eks.NodeGroup(
                    f"{name}-{spec.name}",
                    cluster_name=args.cluster_name,
                    version=args.kubernetes_version,
                    node_role_arn=role.arn,
                    subnet_ids=args.subnet_ids,
                    ami_type=spec.ami_type,
                    capacity_type=spec.capacity_type,
                    instance_types=list(spec.instance_types),
                    scaling_config={
                        "min_size": spec.min_size,
                        "max_size": spec.max_size,
                        "desired_size": spec.min_size,
                    },
                    update_config={"max_unavailable_percentage": 33},
                    launch_template={"id": template.id, "version": template.latest_version.apply(str)},
                    labels={NODE_ROLE_LABEL: spec.name},
                    taints=[
                        {"key": t["key"], "value": t.get("value") or None, "effect": _EKS_EFFECTS[t["effect"]]}
                        for t in spec.taints
                    ],
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        depends_on=[*attachments, *args.depends_on],
                        # The cluster autoscaler owns the desired size once the group exists.
                        ignore_changes=["scalingConfig.desiredSize"],
                    ),
                )
            )

        self.node_role_arn = role.arn
        self.register_outputs({"node_role_arn": self.node_role_arn})
