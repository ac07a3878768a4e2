"""Cluster: the EKS control plane, its access, nodes, add-ons, IRSA and the one Kubernetes provider."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster.addons import ClusterAddons, ClusterAddonsArgs
from components.cluster.node_groups import NodeGroups, NodeGroupsArgs, NodeGroupSpec
from components.cluster.workload_role import IdentityMode, WorkloadIdentity
from components.kms import customer_key
from components.platform import KUBERNETES_SERVICE_CIDR

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
#: Ports the control plane must reach on nodes: kubelet (also cert-manager's webhook, which runs on
#: 10250 with hostNetwork-safe defaults), generic webhooks (443/9443), metrics-server (4443), Kuma's
#: injector (5443), Istio's (15017) and Linkerd's proxy injector and service-profile validator (8443;
#: its policy validator is on 9443). Without them, admission webhooks time out and pods never start.
WEBHOOK_PORTS: dict[int, str] = {
    443: "webhooks on 443",
    4443: "metrics-server",
    5443: "Kuma sidecar injector and validator",
    8443: "Linkerd proxy injector and sp-validator",
    9443: "controller webhooks (NGINX Gateway Fabric, others)",
    10250: "kubelet and cert-manager webhook",
    15017: "Istio sidecar/ambient webhooks",
}
_ASSUME_EKS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
)


@dataclass(frozen=True)
class ClusterArgs:
    """Inputs of :class:`Cluster`."""

    #: EKS cluster name (fixed: the control-plane log group is created under it beforehand).
    name: str
    #: AWS region (for ``aws eks get-token`` in the kubeconfig).
    region: str
    #: Kubernetes version of control plane and nodes.
    kubernetes_version: str
    #: VPC of the cluster.
    vpc_id: pulumi.Input[str]
    #: Private subnets for control-plane ENIs and nodes.
    private_subnet_ids: pulumi.Input[Sequence[str]]
    #: ``private``, ``public`` or ``public-and-private``.
    endpoint_access: str
    #: CIDRs allowed to a public endpoint.
    public_access_cidrs: Sequence[str]
    #: IAM roles given cluster admin through access entries.
    admin_role_arns: Sequence[str]
    #: Retention of the control-plane log group, days.
    log_retention_days: int
    #: Prod: protect the KMS key and turn on EKS deletion protection.
    protect: bool
    #: Managed node groups.
    node_groups: Sequence[NodeGroupSpec]
    #: Root volume size of nodes, GiB.
    node_disk_size_gib: int
    #: EKS add-on version pins.
    addon_version_pins: Mapping[str, str]
    #: How workloads get AWS credentials (``irsa`` or ``pod-identity``).
    identity_mode: IdentityMode
    #: Permissions boundary for every workload role, if the organisation requires one.
    permissions_boundary_arn: str | None
    #: Maximum session duration of workload roles, seconds.
    max_session_duration: int
    #: Tag map, for what provider default tags cannot reach (instances launched by node groups).
    tags: Mapping[str, str]


class Cluster(pulumi.ComponentResource):
    """EKS with API authentication, KMS-encrypted secrets, logs, nodes, add-ons and IRSA.

    Outputs: ``name``, ``endpoint``, ``kubeconfig`` (secret), ``oidc_provider_arn``, ``oidc_issuer_url``,
    ``node_security_group_id``, ``provider`` (the stack's one ``kubernetes.Provider``), ``identity``.
    """

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:cluster:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        key = customer_key(
            f"{name}-secrets-key",
            f"Envelope encryption of Kubernetes secrets in {args.name}",
            alias=f"{args.name}-secrets",
            protect=args.protect,
            parent=self,
        )

        role = aws.iam.Role(f"{name}-role", assume_role_policy=_ASSUME_EKS, opts=child)
        role_policy = aws.iam.RolePolicyAttachment(
            f"{name}-AmazonEKSClusterPolicy",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )

        cluster_sg, node_sg = self._security_groups(name, args.vpc_id)

        # Created first so EKS writes into a group we own (retention, tags, deletion) instead of its own.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{args.name}/cluster",
            retention_in_days=args.log_retention_days,
            opts=child,
        )

        public = args.endpoint_access != "private"
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=args.name,
            version=args.kubernetes_version,
            role_arn=role.arn,
            vpc_config={
                "subnet_ids": args.private_subnet_ids,
                "security_group_ids": [cluster_sg.id],
                "endpoint_private_access": True,
                "endpoint_public_access": public,
                **({"public_access_cidrs": list(args.public_access_cidrs)} if public else {}),
            },
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": False},
            encryption_config={"resources": ["secrets"], "provider": {"key_arn": key.arn}},
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            upgrade_policy={"support_type": "STANDARD"},
            # vpc-cni, kube-proxy and CoreDNS come as managed add-ons (versioned, upgradable) instead.
            bootstrap_self_managed_addons=False,
            deletion_protection=args.protect,
            # Fixed so the API's in-cluster address is known to the mesh exits (access_model).
            kubernetes_network_config={"ip_family": "ipv4", "service_ipv4_cidr": KUBERNETES_SERVICE_CIDR},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, role_policy]),
        )

        access = []
        for role_arn in args.admin_role_arns:
            entry_name = f"{name}-admin-{_role_slug(role_arn)}"
            entry = aws.eks.AccessEntry(
                entry_name, cluster_name=cluster.name, principal_arn=role_arn, type="STANDARD", opts=child
            )
            access.append(entry)
            access.append(
                aws.eks.AccessPolicyAssociation(
                    f"{entry_name}-policy",
                    cluster_name=cluster.name,
                    principal_arn=entry.principal_arn,
                    policy_arn=CLUSTER_ADMIN_POLICY,
                    access_scope={"type": "cluster"},
                    opts=child,
                )
            )

        issuer_url = cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer_url,
            client_id_lists=["sts.amazonaws.com"],
            opts=child,
        )
        self.identity = WorkloadIdentity(
            mode=args.identity_mode,
            cluster_name=cluster.name,
            oidc_provider_arn=oidc.arn,
            oidc_issuer_url=issuer_url,
            permissions_boundary_arn=args.permissions_boundary_arn,
            max_session_duration=args.max_session_duration,
        )

        core_addons = ClusterAddons(
            f"{name}-core-addons",
            ClusterAddonsArgs(
                cluster_name=cluster.name,
                kubernetes_version=args.kubernetes_version,
                before_compute=True,
                version_pins=args.addon_version_pins,
                identity=self.identity,
            ),
            opts=child,
        )
        nodes = NodeGroups(
            f"{name}-nodes",
            NodeGroupsArgs(
                cluster_name=cluster.name,
                kubernetes_version=cluster.version,
                subnet_ids=args.private_subnet_ids,
                node_security_group_id=node_sg.id,
                disk_size_gib=args.node_disk_size_gib,
                groups=args.node_groups,
                tags=args.tags,
                depends_on=core_addons.addons,
            ),
            opts=child,
        )
        compute_addons = ClusterAddons(
            f"{name}-addons",
            ClusterAddonsArgs(
                cluster_name=cluster.name,
                kubernetes_version=args.kubernetes_version,
                before_compute=False,
                version_pins=args.addon_version_pins,
                identity=self.identity,
                depends_on=nodes.node_groups,
            ),
            opts=child,
        )

        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                lambda a: kubeconfig(a[0], a[1], a[2], args.region)
            )
        )
        # Every Kubernetes object waits for admin access, nodes and CoreDNS; on destroy the reverse
        # holds, so LoadBalancer Services and webhooks go while their controllers and nodes still run.
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[cluster, *access, *nodes.node_groups, *compute_addons.addons]
            ),
        )

        self.name = cluster.name
        self.endpoint = cluster.endpoint
        self.oidc_provider_arn = oidc.arn
        self.oidc_issuer_url = self.identity.oidc_issuer_url
        self.node_security_group_id = node_sg.id
        self.cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
        self.register_outputs(
            {
                "name": self.name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidc_provider_arn": self.oidc_provider_arn,
                "oidc_issuer_url": self.oidc_issuer_url,
            }
        )

    def _security_groups(
        self, name: str, vpc_id: pulumi.Input[str]
    ) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        """Control-plane and node security groups, with only the paths EKS and the webhooks need."""
        child = pulumi.ResourceOptions(parent=self)
        cluster_sg = aws.ec2.SecurityGroup(
            f"{name}-control-plane-sg",
            vpc_id=vpc_id,
            description="EKS control plane ENIs",
            tags={"Name": f"{name}-control-plane"},
            opts=child,
        )
        node_sg = aws.ec2.SecurityGroup(
            f"{name}-node-sg",
            vpc_id=vpc_id,
            description="EKS nodes and pods",
            tags={"Name": f"{name}-node"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-nodes-to-api",
            security_group_id=cluster_sg.id,
            referenced_security_group_id=node_sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="Nodes and pods to the Kubernetes API",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-api-to-nodes",
            security_group_id=cluster_sg.id,
            referenced_security_group_id=node_sg.id,
            ip_protocol="-1",
            description="Control plane to kubelets and admission webhooks",
            opts=child,
        )
        for port, why in WEBHOOK_PORTS.items():
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-to-nodes-{port}",
                security_group_id=node_sg.id,
                referenced_security_group_id=cluster_sg.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"Control plane to {why}",
                opts=child,
            )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-node-to-node",
            security_group_id=node_sg.id,
            referenced_security_group_id=node_sg.id,
            ip_protocol="-1",
            description="Node to node and pod to pod (the mesh enforces who may talk)",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-node-egress",
            security_group_id=node_sg.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="-1",
            description="Nodes to AWS APIs, registries and the OIDC issuer (through NAT or endpoints)",
            opts=child,
        )
        return cluster_sg, node_sg


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with ``aws eks get-token``: no profile, no token, stable bytes.

    Deterministic on purpose (sorted keys, no timestamps): a kubeconfig that changed on every run
    would make Pulumi replace the provider and diff every Kubernetes object.
    """
    user = f"{cluster_name}-deployer"
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": user}}],
            "current-context": cluster_name,
            "preferences": {},
            "users": [
                {
                    "name": user,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                cluster_name,
                                "--region",
                                region,
                                "--output",
                                "json",
                            ],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def _role_slug(role_arn: str) -> str:
    """Stable resource-name part for an admin role: its name, made name-safe."""
    return re.sub(r"[^a-z0-9-]+", "-", role_arn.rsplit("/", 1)[-1].lower()).strip("-")
