"""WorkloadRole: one IAM role for exactly one Kubernetes service account."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.settings.regions import Partition

IdentityMode = Literal["irsa", "pod-identity"]
#: Audience of projected service-account tokens (amazon-eks-pod-identity-webhook ``--token-audience``).
IRSA_AUDIENCE = "sts.amazonaws.com"


@dataclass(frozen=True)
class WorkloadIdentity:
    """How pods get AWS credentials in this stack; built once by the cluster, shared by every role."""

    #: ``irsa`` (web identity through the cluster's IAM OIDC provider) or ``pod-identity`` (EKS Pod Identity agent).
    mode: IdentityMode
    #: EKS cluster name, for Pod Identity associations.
    cluster_name: pulumi.Input[str]
    #: ARN of the cluster's IAM OIDC provider (IRSA).
    oidc_provider_arn: pulumi.Input[str]
    #: Issuer URL of the cluster (``https://oidc.eks...``); its host/path prefixes the IRSA condition keys.
    oidc_issuer_url: pulumi.Input[str]
    #: The stack's AWS partition: the Pod Identity service principal and the add-ons' managed policy ARNs.
    partition: Partition
    #: Optional permissions boundary put on every workload role.
    permissions_boundary_arn: str | None = None
    #: Maximum session duration of every workload role, in seconds.
    max_session_duration: int = 3600


@dataclass(frozen=True)
class WorkloadRoleArgs:
    """Inputs of :class:`WorkloadRole`."""

    #: Shared identity settings of the stack.
    identity: WorkloadIdentity
    #: Namespace of the one service account the role trusts.
    namespace: str
    #: Name of the one service account the role trusts (never a wildcard).
    service_account: str
    #: Inline IAM policy document (JSON), built from Outputs inside ``apply``; None: no inline policy.
    policy: pulumi.Input[str] | None = None
    #: AWS managed policies to attach (only where AWS maintains the least-privilege policy, e.g. EBS CSI).
    managed_policy_arns: Sequence[str] = ()
    #: Create the annotated ServiceAccount (False when an EKS add-on or a chart creates its own).
    create_service_account: bool = False
    #: Labels for the ServiceAccount, when it is created here.
    labels: Mapping[str, str] = field(default_factory=dict)
    #: What the ServiceAccount waits for (its Namespace). A component's ``depends_on`` does not hold
    #: back its children, so it is passed down explicitly.
    depends_on: Sequence[pulumi.Resource] = ()


class WorkloadRole(pulumi.ComponentResource):
    """IAM role trusted by exactly one ``namespace:serviceaccount``, its policy and (optionally) the ServiceAccount.

    In ``irsa`` mode the trust policy pins ``<issuer>:sub`` to ``system:serviceaccount:<ns>:<sa>`` and
    ``<issuer>:aud`` to ``sts.amazonaws.com`` with ``StringEquals``. In ``pod-identity`` mode the role trusts
    ``pods.eks.amazonaws.com`` and an ``aws.eks.PodIdentityAssociation`` binds it to the service account.

    Outputs: ``role_arn``, ``role_name``, ``namespace``, ``service_account``.
    """

    def __init__(self, name: str, args: WorkloadRoleArgs, opts: pulumi.ResourceOptions | None = None):
        if not args.namespace or not args.service_account or "*" in args.namespace + args.service_account:
            raise ValueError(f"{name}: a workload role binds one concrete namespace and service account")
        super().__init__("airflow-mesh:identity:WorkloadRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = args.identity

        role = aws.iam.Role(
            f"{name}-role",
            name=physical_role_name(f"{name}-role"),
            assume_role_policy=trust_policy(identity, args.namespace, args.service_account),
            permissions_boundary=identity.permissions_boundary_arn,
            max_session_duration=identity.max_session_duration,
            description=f"{args.namespace}/{args.service_account}",
            opts=child,
        )
        if args.policy is not None:
            aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=args.policy, opts=child)
        for arn in args.managed_policy_arns:
            aws.iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=child)

        if identity.mode == "pod-identity":
            aws.eks.PodIdentityAssociation(
                f"{name}-pod-identity",
                cluster_name=identity.cluster_name,
                namespace=args.namespace,
                service_account=args.service_account,
                role_arn=role.arn,
                opts=child,
            )
        self.service_account_resource: k8s.core.v1.ServiceAccount | None = None
        if args.create_service_account:
            annotations = {"eks.amazonaws.com/role-arn": role.arn} if identity.mode == "irsa" else {}
            self.service_account_resource = k8s.core.v1.ServiceAccount(
                f"{name}-sa",
                metadata={
                    "name": args.service_account,
                    "namespace": args.namespace,
                    "labels": dict(args.labels),
                    "annotations": annotations,
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
            )

        self.role_arn = role.arn
        self.role_name = role.name
        self.namespace = args.namespace
        self.service_account = args.service_account
        self.register_outputs({"role_arn": self.role_arn, "role_name": self.role_name})


#: IAM role names are at most 64 characters; Pulumi's auto-name adds "-" and 7 random characters.
IAM_ROLE_NAME_MAX = 64
_AUTONAME_SUFFIX = 8


def physical_role_name(logical: str) -> str | None:
    """None (let Pulumi auto-name) when that fits IAM's limit, else a stable shortened name with a hash
    of the full one, so long stack or domain names never fail at ``pulumi preview``."""
    if len(logical) + _AUTONAME_SUFFIX <= IAM_ROLE_NAME_MAX:
        return None
    digest = hashlib.sha256(logical.encode()).hexdigest()[:8]
    return f"{logical[: IAM_ROLE_NAME_MAX - len(digest) - 1].rstrip('-')}-{digest}"


def trust_policy(identity: WorkloadIdentity, namespace: str, service_account: str) -> pulumi.Output[str]:
    """The role's trust policy for one service account, built from Outputs inside ``apply``."""
    if identity.mode == "pod-identity":
        return pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": identity.partition.principal("pods.eks")},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                    }
                ],
            }
        )

    def render(provider_arn: str, issuer_url: str) -> str:
        issuer = issuer_url.removeprefix("https://")
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": provider_arn},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": {
                                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                # The token audience is the webhook's default in every partition, China
                                # included (eksctl#1910, terraform-aws-eks#1704): not the partition's STS host.
                                f"{issuer}:aud": IRSA_AUDIENCE,
                            }
                        },
                    }
                ],
            }
        )

    return pulumi.Output.all(identity.oidc_provider_arn, identity.oidc_issuer_url).apply(lambda a: render(*a))
