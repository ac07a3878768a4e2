"""The Karpenter controller's IAM grants, from upstream's own least-privilege policies.

Source: ``karpenter/1.14.1/docs/cloudformation.yaml`` in the upstream data (aws/karpenter-provider-aws
``website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml``): the
NodeLifecycle, IAMIntegration, EKSIntegration, Interruption and ResourceDiscovery policies, statement
for statement, with ``${ClusterName}``, ``${AWS::Region}`` and ``${AWS::AccountId}`` filled from the
settings. Every write is scoped by the cluster's ``kubernetes.io/cluster/<name>: owned`` tag (and the
``karpenter.sh/nodepool`` / ``karpenter.k8s.aws/ec2nodeclass`` tags Karpenter sets), so the role
cannot touch instances, launch templates or instance profiles of another cluster.

``${AWS::Partition}`` and ``${AWS::URLSuffix}`` come from the stack's partition. ``iam:PassedToService``
keeps upstream's pair (``ec2.amazonaws.com`` and, in ``aws-cn``, ``ec2.amazonaws.com.cn``): EC2 is
named either way there. Deliberately left out: the ZonalShift policy (``settings.enableZonalShift``
stays false). Added: the KMS
permissions EC2 needs to encrypt the nodes' root volumes with the stack's own key (Karpenter calls
RunInstances/CreateFleet, so EC2 acts for the controller's role; AWS EBS user guide, "KMS key policy
for EBS encryption"), and only through EC2 (``kms:ViaService``).

Slots the identity layer fills: ``karpenter_node_role_arn``, ``karpenter_queue_arn``,
``node_volume_key_arn`` (:class:`~components.access_model.model.Ref`). The cluster name, region and
account are known from the settings and written as literals, condition keys included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.access_model.model import Grant, Ref

if TYPE_CHECKING:
    from components.settings.regions import Partition

NODE_ROLE_ARN, QUEUE_ARN = Ref("karpenter_node_role_arn"), Ref("karpenter_queue_arn")
VOLUME_KEY_ARN = Ref("node_volume_key_arn")


def karpenter_grants(part: Partition, cluster: str, region: str, account: str) -> tuple[Grant, ...]:
    """The controller's grants for cluster ``cluster`` in ``region`` (of partition ``part``) of ``account``."""
    ec2 = f"arn:{part.id}:ec2:{region}"
    ec2_principals = sorted({"ec2.amazonaws.com", part.principal("ec2"), f"ec2.{part.dns_suffix}"})
    ec2_via = part.host("ec2", region)
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}
    request_owned = {
        f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster,
    }
    any_nodepool = {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
    request_nodepool = {"aws:RequestTag/karpenter.sh/nodepool": "*"}
    launched = tuple(
        f"{ec2}:*:{kind}/*"
        for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")
    )
    profile = part.arn("iam", "instance-profile/*", account=account)
    profile_owned = {**owned, "aws:ResourceTag/topology.kubernetes.io/region": region}
    request_profile = {**request_owned, "aws:RequestTag/topology.kubernetes.io/region": region}
    return (
        # --- NodeLifecycle --------------------------------------------------------------------
        Grant(
            "AllowScopedEC2InstanceAccessActions",
            ("ec2:RunInstances", "ec2:CreateFleet"),
            (
                f"{ec2}::image/*",
                f"{ec2}::snapshot/*",
                f"{ec2}:*:security-group/*",
                f"{ec2}:*:subnet/*",
                f"{ec2}:*:capacity-reservation/*",
                f"{ec2}:*:placement-group/*",
            ),
        ),
        Grant(
            "AllowScopedEC2LaunchTemplateAccessActions",
            ("ec2:RunInstances", "ec2:CreateFleet"),
            (f"{ec2}:*:launch-template/*",),
            {"StringEquals": owned, "StringLike": any_nodepool},
        ),
        Grant(
            "AllowScopedEC2InstanceActionsWithTags",
            ("ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"),
            launched,
            {"StringEquals": request_owned, "StringLike": request_nodepool},
        ),
        Grant(
            "AllowScopedResourceCreationTagging",
            ("ec2:CreateTags",),
            launched,
            {
                "StringEquals": {
                    **request_owned,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": request_nodepool,
            },
        ),
        Grant(
            "AllowScopedResourceTagging",
            ("ec2:CreateTags",),
            (f"{ec2}:*:instance/*",),
            {
                "StringEquals": owned,
                "StringLike": any_nodepool,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        ),
        Grant(
            "AllowScopedDeletion",
            ("ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"),
            (f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"),
            {"StringEquals": owned, "StringLike": any_nodepool},
        ),
        # --- IAMIntegration ---------------------------------------------------------------------
        Grant(
            "AllowPassingInstanceRole",
            ("iam:PassRole",),
            (NODE_ROLE_ARN,),
            {"StringEquals": {"iam:PassedToService": ec2_principals}},
        ),
        Grant(
            "AllowScopedInstanceProfileCreationActions",
            ("iam:CreateInstanceProfile",),
            (profile,),
            {"StringEquals": request_profile, "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}},
        ),
        Grant(
            "AllowScopedInstanceProfileTagActions",
            ("iam:TagInstanceProfile",),
            (profile,),
            {
                "StringEquals": {**profile_owned, **request_profile},
                "StringLike": {
                    "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                },
            },
        ),
        Grant(
            "AllowScopedInstanceProfileActions",
            ("iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"),
            (profile,),
            {"StringEquals": profile_owned, "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}},
        ),
        # --- EKSIntegration and Interruption ----------------------------------------------------
        Grant(
            "AllowAPIServerEndpointDiscovery",
            ("eks:DescribeCluster",),
            (part.arn("eks", f"cluster/{cluster}", region, account),),
        ),
        Grant(
            "AllowInterruptionQueueActions",
            ("sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"),
            (QUEUE_ARN,),
        ),
        # --- ResourceDiscovery ------------------------------------------------------------------
        Grant(
            "AllowRegionalReadActions",
            (
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribePlacementGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ),
            ("*",),
            {"StringEquals": {"aws:RequestedRegion": region}},
        ),
        Grant("AllowSSMReadActions", ("ssm:GetParameter",), (part.arn("ssm", "parameter/aws/service/*", region),)),
        Grant("AllowPricingReadActions", ("pricing:GetProducts",), ("*",)),
        Grant("AllowUnscopedInstanceProfileListAction", ("iam:ListInstanceProfiles",), ("*",)),
        Grant("AllowInstanceProfileReadActions", ("iam:GetInstanceProfile",), (profile,)),
        # --- root volumes encrypted with the stack's key (not in upstream's template) -------------
        Grant(
            "EncryptNodeVolumesThroughEC2",
            (
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:Decrypt",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
                "kms:DescribeKey",
            ),
            (VOLUME_KEY_ARN,),
            {"StringEquals": {"kms:ViaService": ec2_via}},
        ),
        Grant(
            "GrantNodeVolumeKeyToEC2",
            ("kms:CreateGrant",),
            (VOLUME_KEY_ARN,),
            {
                "StringEquals": {"kms:ViaService": ec2_via},
                "Bool": {"kms:GrantIsForAWSResource": "true"},
            },
        ),
    )
