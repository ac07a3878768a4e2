"""KarpenterAws: what Karpenter needs in AWS before its controller starts.

From upstream's CloudFormation template (``karpenter/1.14.1/docs/cloudformation.yaml``):

- the **node role** task nodes run as (EKS worker, ECR pull and SSM policies; no CNI policy: the VPC
  CNI has its own IRSA role, see components/cluster/node_groups.py) and its **access entry** of type
  ``EC2_LINUX``, so kubelets on Karpenter's nodes can join (authentication mode API: no aws-auth);
- the **interruption queue** (SQS, SSE, 5-minute retention, TLS only) and the EventBridge rules
  that feed it: Spot interruption warnings, rebalance recommendations, instance state changes,
  AWS Health scheduled changes and capacity-reservation interruptions. Karpenter drains a node
  when a message arrives instead of losing it to a two-minute Spot reclaim;
- a **KMS key** for the task nodes' root volumes (the EC2NodeClass names it).

The controller's own role is not here: it is a workload of the access model (identity layer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cluster.node_groups import assume_ec2
from components.kms import customer_key
from components.settings.regions import Partition

#: The EventBridge rules of upstream's template: (short name, source, detail-type).
INTERRUPTION_EVENTS = (
    ("scheduled-change", "aws.health", "AWS Health Event"),
    ("spot-interruption", "aws.ec2", "EC2 Spot Instance Interruption Warning"),
    ("rebalance", "aws.ec2", "EC2 Instance Rebalance Recommendation"),
    ("state-change", "aws.ec2", "EC2 Instance State-change Notification"),
    ("capacity-reservation-interruption", "aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
)
#: AWS managed policies of the node role (names; the ARNs are in the stack's partition).
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonSSMManagedInstanceCore")


@dataclass(frozen=True)
class KarpenterAwsArgs:
    """Inputs of :class:`KarpenterAws`."""

    #: EKS cluster name (names the queue, as upstream's template does, and scopes the access entry).
    cluster_name: pulumi.Input[str]
    #: The stack's AWS partition (node role trust, managed policy ARNs, the queue's service principals).
    partition: Partition
    #: Prod: the volume key is protected and retained.
    protect: bool
    #: Retain the volume key on destroy even without ``protect`` (a stack being retired keeps every key).
    retain: bool = False


class KarpenterAws(pulumi.ComponentResource):
    """Node role + access entry, interruption queue + EventBridge rules, node-volume KMS key.

    Outputs: ``node_role_name``, ``node_role_arn``, ``queue_name``, ``queue_arn``, ``volume_key_arn``,
    ``access_entry`` (what the NodePools must wait for: a node cannot join before it exists).
    """

    def __init__(self, name: str, args: KarpenterAwsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:capacity:KarpenterAws", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=assume_ec2(args.partition),
            description="Karpenter task nodes (kubelet, image pulls, SSM); pods use their own roles",
            opts=child,
        )
        for policy in NODE_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}", role=role.name, policy_arn=args.partition.managed_policy(policy), opts=child
            )
        self.access_entry = aws.eks.AccessEntry(
            f"{name}-node-access",
            cluster_name=args.cluster_name,
            principal_arn=role.arn,
            type="EC2_LINUX",
            opts=child,
        )

        queue = aws.sqs.Queue(
            f"{name}-interruptions",
            name=args.cluster_name,
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-interruptions-policy",
            queue_url=queue.url,
            policy=queue.arn.apply(lambda arn: _queue_policy(args.partition, arn)),
            opts=child,
        )
        for short, source, detail in INTERRUPTION_EVENTS:
            rule = aws.cloudwatch.EventRule(
                f"{name}-{short}",
                description=f"Karpenter interruption queue: {detail}",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail]}),
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{short}-target",
                rule=rule.name,
                arn=queue.arn,
                target_id="KarpenterInterruptionQueueTarget",
                opts=child,
            )

        key = customer_key(
            f"{name}-volume-key",
            "Root volumes of Karpenter task nodes",
            alias=f"{name}-task-node-volumes",
            protect=args.protect,
            parent=self,
            retain=args.protect or args.retain,
        )

        self.node_role_name = role.name
        self.node_role_arn = role.arn
        self.queue_name = queue.name
        self.queue_arn = queue.arn
        self.volume_key_arn = key.arn
        self.register_outputs(
            {"node_role_arn": self.node_role_arn, "queue_arn": self.queue_arn, "volume_key_arn": self.volume_key_arn}
        )


def _queue_policy(part: Partition, queue_arn: str) -> str:
    """EventBridge (and SQS itself) may send; nothing may use the queue without TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "EC2InterruptionPolicy",
            "Statement": [
                {
                    "Sid": "EventBridgeSends",
                    "Effect": "Allow",
                    "Principal": {"Service": [part.principal("events"), part.principal("sqs")]},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                },
                {
                    "Sid": "DenyHTTP",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": queue_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        },
        sort_keys=True,
    )
