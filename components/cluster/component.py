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
from components.cluster.storage import default_storage_class
from components.cluster.workload_role import IRSA_AUDIENCE, IdentityMode, WorkloadIdentity
from components.kms import customer_key
from components.platform import KARPENTER_DISCOVERY_TAG, KUBERNETES_SERVICE_CIDR
from components.settings.regions import Partition

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
#: EKS access policy (``arn:<partition>:eks::aws:cluster-access-policy/<name>``).
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
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


def _assume_eks(part: Partition) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": part.principal("eks")},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass(frozen=True)
class ClusterArgs:
    """Inputs of :class:`Cluster`."""

    #: EKS cluster name (fixed: the control-plane log group is created under it beforehand).
    name: str
    #: AWS region (for ``aws eks get-token`` in the kubeconfig).
    region: str
    #: The region's AWS partition: ARNs, service principals and hosts of everything the cluster writes.
    partition: Partition
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
    #: Keep the KMS keys through `pulumi destroy` even without ``protect`` (a stack being retired).
    retain_key: bool = False


class Cluster(pulumi.ComponentResource):
    """EKS with API authentication, KMS-encrypted secrets, logs, nodes, add-ons and IRSA.

    Outputs: ``name``, ``endpoint``, ``kubeconfig`` (secret), ``oidc_provider_arn``, ``oidc_issuer_url``,
    ``node_security_group_id``, ``provider`` (the stack's one ``kubernetes.Provider``), ``identity``,
    ``storage_class`` / ``storage_class_name`` (the default StorageClass, :mod:`components.cluster.storage`).
    """

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:cluster:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # both keys: protected in prod, kept (30-day window) while a stack is retired
        keep = {"protect": args.protect, "parent": self, "retain": args.protect or args.retain_key}
        secrets_text = f"Envelope encryption of Kubernetes secrets in {args.name}"
        key = customer_key(f"{name}-secrets-key", secrets_text, f"{args.name}-secrets", **keep)
        volumes_text = f"Encryption of the EBS volumes Kubernetes claims in {args.name}"
        volume_key = customer_key(f"{name}-volumes-key", volumes_text, f"{args.name}-volumes", **keep)

        role = aws.iam.Role(f"{name}-role", assume_role_policy=_assume_eks(args.partition), opts=child)
        role_policy = aws.iam.RolePolicyAttachment(
            f"{name}-AmazonEKSClusterPolicy",
            role=role.name,
            policy_arn=args.partition.managed_policy("AmazonEKSClusterPolicy"),
            opts=child,
        )

        cluster_sg, node_sg = self._security_groups(name, args.name, args.vpc_id)

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
        admin_policy = args.partition.arn("eks", f"cluster-access-policy/{CLUSTER_ADMIN_POLICY}", account="aws")
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
                    policy_arn=admin_policy,
                    access_scope={"type": "cluster"},
                    opts=child,
                )
            )

        issuer_url = cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer_url,
            client_id_lists=[IRSA_AUDIENCE],
            opts=child,
        )
        self.identity = WorkloadIdentity(
            mode=args.identity_mode,
            cluster_name=cluster.name,
            oidc_provider_arn=oidc.arn,
            oidc_issuer_url=issuer_url,
            partition=args.partition,
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
                partition=args.partition,
                cluster_name=cluster.name,
                kubernetes_version=cluster.version,
                subnet_ids=args.private_subnet_ids,
                node_security_group_id=node_sg.id,
                disk_size_gib=args.node_disk_size_gib,
                groups=args.node_groups,
                tags=args.tags,
                # Not the core add-ons: instances boot and join for about two minutes, while the add-ons
                # (DaemonSets: nothing to wait for) are ACTIVE within one, so nodes turn Ready as soon as
                # aws-node runs on them. Waiting for the add-ons first only put a minute on the
                # critical path of every `pulumi up` from empty (plan/deploy_time.py).
                depends_on=[cluster],
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
                volume_key_arn=volume_key.arn,
            ),
            opts=child,
        )

        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                lambda a: kubeconfig(a[0], a[1], a[2], args.region)
            )
        )
        # Every Kubernetes object waits for admin access and nodes; on destroy the reverse holds, so
        # LoadBalancer Services and webhooks go while their controllers and nodes still run. Not for
        # CoreDNS and the EBS CSI driver: the first releases (cert-manager, the mesh) reach the API
        # server by the address Kubernetes puts in every pod's environment and claim no volume, and
        # both add-ons are ACTIVE a minute after the nodes, long before those releases are. What does
        # need them waits for ``compute_addons`` itself (Airflow's volumes; Karpenter, whose node
        # clean-up on destroy resolves AWS endpoints). One minute off every deploy's critical path.
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[cluster, *access, *core_addons.addons, *nodes.node_groups]
            ),
        )
        #: CoreDNS and the EBS CSI driver: wait for these to need cluster DNS or volumes.
        self.compute_addons = compute_addons.addons

        # Claims bind only once the EBS CSI driver runs, but the class itself can be created any time.
        self.storage_class = default_storage_class(
            f"{name}-storage-class", volume_key.arn, pulumi.ResourceOptions(parent=self, provider=self.provider)
        )

        self.name = cluster.name
        self.storage_class_name = self.storage_class.metadata.name
        self.endpoint = cluster.endpoint
        self.oidc_provider_arn = oidc.arn
        self.oidc_issuer_url = self.identity.oidc_issuer_url
        self.node_security_group_id = node_sg.id
        #: The managed node groups (the sleep schedule scales them) and the system nodes' role.
        self.node_groups = nodes.node_groups
        self.cluster_arn = cluster.arn
        self.cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
        self.register_outputs(
            {
                "name": self.name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidc_provider_arn": self.oidc_provider_arn,
                "oidc_issuer_url": self.oidc_issuer_url,
                "storage_class_name": self.storage_class_name,
            }
        )

    def _security_groups(
        self, name: str, cluster_name: str, vpc_id: pulumi.Input[str]
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
            # Karpenter's EC2NodeClass finds the node security group by this tag (components/capacity).
            tags={"Name": f"{name}-node", KARPENTER_DISCOVERY_TAG: cluster_name},
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
