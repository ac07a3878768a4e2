"""The settings model: every stack config key as a typed, documented, validated field.

Every key of the ``airflow-mesh`` namespace is a field of :class:`StackConfig` with a type, a
description and (where one is safe everywhere) a default. ``Pulumi.yaml``'s ``config:`` schema is
generated from the same model (``python -m plan --project-schema``) and a test keeps the two equal.

Keys are flat (``pulumi config set airflow-mesh:natGateways single``); the data domains are a list
of objects (``pulumi config set --path 'airflow-mesh:domains[0].name' marketing``). How the CLI turns
a stack file into the strings the program reads, and which forms each type accepts, is
docs/configuration.md.

Reading the config and reporting problems is :mod:`components.settings.loader`; rules that need
more than one key are :mod:`components.settings.rules`.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from typing import Literal

from pydantic import Field, SecretStr

from components import versions
from components.settings.domains import DomainConfig, Strict
from components.settings.types import (
    ClaimName,
    Email,
    GitRef,
    GitUrl,
    Hostname,
    HttpsUrl,
    Image,
    Ipv4Cidr,
    Printable,
)

PROJECT = "airflow-mesh"
STACK_CONFIG_DIR = "stacks"
ENVIRONMENTS = ("dev", "staging", "prod")

Environment = Literal["dev", "staging", "prod"]
NatGateways = Literal["single", "per-az"]
EndpointAccess = Literal["private", "public", "public-and-private"]
CapacityType = Literal["ON_DEMAND", "SPOT"]
InterfaceEndpoint = Literal["sts", "ecr.api", "ecr.dkr", "secretsmanager", "logs"]
KubernetesVersion = Literal[versions.KUBERNETES_VERSIONS]  # type: ignore[valid-type]


class StackConfig(Strict):
    """Every ``airflow-mesh:*`` key a stack file may set. Field names are the camelCase keys."""

    # --- identity of the stack -------------------------------------------------------------
    environment: Environment = Field(
        description="Environment class of this stack: dev, staging or prod. Drives the rules that "
        "prod must satisfy (3 AZs, NAT per AZ, private endpoint, protected data).",
    )
    owner: str = Field(description="Team that owns the stack; becomes the `owner` tag on every AWS resource.")
    aws_account_id: str = Field(
        pattern=r"^\d{12}$",
        description="AWS account the stack must deploy into; the AWS provider refuses any other account.",
    )

    # --- network -----------------------------------------------------------------------------
    availability_zones: list[str] = Field(
        description="Availability zones of the VPC, in the stack's region (at least 2; 3 in prod).",
    )
    vpc_cidr: Ipv4Cidr = Field("10.0.0.0/16", description="IPv4 CIDR of the VPC, /16 to /20.")
    private_subnet_cidrs: list[Ipv4Cidr] = Field(
        default_factory=list,
        description="One private (node and pod) subnet CIDR per AZ, inside the VPC. Empty: carved from the VPC "
        "as /19s (for a /16) so the VPC CNI has room for pod IPs.",
    )
    public_subnet_cidrs: list[Ipv4Cidr] = Field(
        default_factory=list,
        description="One public (load balancer and NAT) subnet CIDR per AZ, inside the VPC. "
        "Empty: carved from the top of the VPC.",
    )
    nat_gateways: NatGateways = Field(
        "per-az",
        description="`per-az` (one NAT gateway per AZ, survives an AZ outage; required in prod) "
        "or `single` (cheaper, for dev).",
    )
    interface_endpoints: list[InterfaceEndpoint] = Field(
        default_factory=lambda: ["sts", "ecr.api", "ecr.dkr", "secretsmanager", "logs"],
        description="VPC interface endpoints to create (sts, ecr.api, ecr.dkr, secretsmanager, logs) so AWS API "
        "traffic stays in the VPC. The S3 gateway endpoint is always created.",
    )
    flow_log_retention_days: int = Field(90, description="Retention of the VPC flow log group, in days.")

    # --- cluster -----------------------------------------------------------------------------
    kubernetes_version: KubernetesVersion = Field(
        versions.DEFAULT_KUBERNETES_VERSION,
        description=f"EKS Kubernetes version; one of {', '.join(versions.KUBERNETES_VERSIONS)}.",
    )
    endpoint_access: EndpointAccess = Field(
        "private",
        description="EKS API endpoint: `private` (VPC only; required in prod), `public` or `public-and-private`.",
    )
    public_access_cidrs: list[Ipv4Cidr] = Field(
        default_factory=list,
        description="CIDRs allowed to reach a public EKS endpoint; required when the endpoint is public.",
    )
    admin_role_arns: list[str] = Field(
        description="IAM roles granted cluster admin through EKS access entries. The deployer's role must be one of "
        "them: no implicit creator admin is granted.",
    )
    cluster_log_retention_days: int = Field(90, description="Retention of the EKS control-plane log group, in days.")
    addon_versions: list[str] = Field(
        default_factory=list,
        description="Pinned EKS add-on versions as `name=version` (e.g. `coredns=v1.12.4-eksbuild.1`). "
        "Unpinned add-ons get AWS's default build for the Kubernetes version.",
    )
    system_node_instance_types: list[str] = Field(
        default_factory=lambda: ["m7i.large"],
        description="Instance types of the on-demand system node group "
        "(platform add-ons, mesh, Airflow control plane).",
    )
    system_node_min_size: int = Field(3, description="Minimum (and initial) size of the system node group.")
    system_node_max_size: int = Field(4, description="Maximum size of the system node group.")
    workload_node_instance_types: list[str] = Field(
        default_factory=lambda: ["m7i.xlarge"],
        description="Instance types of the workload node group (Airflow task pods). Spot needs at least two.",
    )
    workload_node_min_size: int = Field(0, description="Minimum (and initial) size of the workload node group.")
    workload_node_max_size: int = Field(0, description="Maximum size of the workload node group; 0: none (Karpenter).")
    workload_capacity_type: CapacityType = Field(
        "ON_DEMAND", description="Capacity type of the workload node group: ON_DEMAND or SPOT."
    )
    system_node_capacity_type: CapacityType = Field(
        "ON_DEMAND", description="Capacity type of the system node group: ON_DEMAND (prod) or SPOT (dev, 2+ types)."
    )
    node_disk_size_gib: int = Field(50, description="Encrypted gp3 root volume size of every node, in GiB (20-1000).")

    # --- task capacity (Karpenter) and sleep -------------------------------------------------
    task_node_capacity_types: list[Literal["spot", "on-demand"]] = Field(
        default_factory=lambda: ["on-demand"], description="Task NodePools: spot (preferred) and/or on-demand."
    )
    task_node_architectures: list[Literal["amd64", "arm64"]] = Field(
        default_factory=lambda: ["amd64"], description="Task node CPU architectures; arm64 only with multi-arch images."
    )
    task_node_cpu_limit: int = Field(32, description="Most vCPUs all task nodes together may have (NodePool limits).")
    expected_task_vcpu_hours: int = Field(0, description="Expected task load, vCPU-hours a month (the cost report).")
    working_hours: str = Field(
        "", description="`MON-FRI 07:00-19:00`: nodes to zero and RDS stopped outside it; empty: always on (prod)."
    )
    working_hours_timezone: str = Field("UTC", description="IANA time zone of workingHours, e.g. `Europe/Berlin`.")

    # --- workload identity ---------------------------------------------------------------------
    identity_mode: Literal["irsa", "pod-identity"] = Field(
        "irsa",
        description="How pods get AWS credentials: `irsa` (IAM roles for service accounts) "
        "or `pod-identity` (EKS Pod Identity).",
    )
    permissions_boundary_arn: str = Field(
        "", description="IAM policy ARN set as permissions boundary on every workload role; empty for none."
    )
    max_session_duration_seconds: int = Field(
        3600, description="Maximum session duration of workload roles, 3600-43200 seconds."
    )

    # --- identity provider (people) ------------------------------------------------------------
    oidc_issuer_url: HttpsUrl = Field(
        description="HTTPS issuer URL of the team's OIDC provider (Okta, Entra ID, Keycloak...)."
    )
    oidc_client_id: Printable = Field(description="OIDC client id registered for Airflow at the identity provider.")
    oidc_client_secret: SecretStr = Field(
        description="OIDC client secret. Set it with `pulumi config set --secret airflow-mesh:oidcClientSecret`.",
        json_schema_extra={"secret": True},
    )
    oidc_groups_claim: ClaimName = Field("groups", description="ID-token claim that carries the user's IdP groups.")
    oidc_allowed_groups: list[Printable] = Field(
        default_factory=list,
        description="IdP groups allowed through the edge at all (required in prod). Empty outside prod: "
        "every authenticated user of the IdP passes the edge and gets only what airflowRoleMappings grants.",
    )
    oidc_allowed_email_domains: list[str] = Field(
        default_factory=list, description="Email domains allowed through the edge; empty: any domain."
    )

    # --- service mesh --------------------------------------------------------------------------
    mesh_provider: Literal["kuma", "istio", "linkerd", "consul"] = Field(
        "kuma",
        description="Service mesh: `kuma` (default), `istio` (ambient mode), `linkerd` (edge release) or "
        "`consul` (the Consul server is BUSL-1.1). Comparison: docs/mesh.md.",
    )
    mesh_tls_mode: Literal["strict", "permissive"] = Field(
        "strict", description="mTLS mode: `strict` everywhere; `permissive` is accepted in dev only."
    )
    mesh_certificate_ttl_hours: int = Field(
        24, description="Lifetime of workload certificates in hours (1-24); they renew automatically."
    )
    mesh_ca_source: Literal["cert-manager", "builtin"] = Field(
        "cert-manager",
        description="Mesh CA: `cert-manager` (a self-renewing CA Certificate) "
        "or `builtin` (the mesh's own generated CA).",
    )
    mesh_ca_name: str = Field("ca-1", description="Name of the current mesh CA; change it to rotate the CA.")
    mesh_previous_ca_name: str = Field(
        "", description="CA being rotated out: stays in the trust bundle until this is cleared (see README)."
    )
    mesh_control_plane_replicas: int = Field(
        2, description="Mesh control-plane replicas (2 or more outside dev, with a PodDisruptionBudget)."
    )
    otel_endpoint: str = Field(
        "", description="Extra OTLP endpoint (`host:443`, TLS) the collector also exports to; empty: AWS only."
    )

    # --- observability -------------------------------------------------------------------------
    access_trail_retention_days: int = Field(
        90, description="Access-trail log group retention in days (a CloudWatch value; at least 365 in prod)."
    )
    alarm_topic_arn: str = Field(
        "",
        pattern=r"^(arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256})?$",
        description="SNS topic for the alarms; empty: the stack creates `<cluster>-alarms`.",
    )
    mesh_accept_unenforced_egress: bool = Field(
        False,
        description="Accept a mesh that does not enforce the domains' egress allow-lists (istio ambient lets "
        "every destination through): they stay in the access matrix as documentation, not as a control.",
    )

    # --- edge ----------------------------------------------------------------------------------
    airflow_hostname: Hostname = Field(
        description="Public DNS name of Airflow: inside hostedZoneName, or the zone's apex itself."
    )
    hosted_zone_name: str = Field(description="Route 53 hosted zone that holds airflowHostname.")
    hosted_zone_id: str = Field(description="Route 53 hosted zone id (Z...) of hostedZoneName.")
    edge_scheme: Literal["internal", "internet-facing"] = Field(
        "internal", description="Edge load balancer: `internal` (VPC/VPN only) or `internet-facing`."
    )
    edge_source_ranges: list[Ipv4Cidr] = Field(
        default_factory=list,
        description="CIDRs allowed to reach the edge load balancer; required when internet-facing.",
    )
    edge_replicas: int = Field(2, description="NGINX data-plane and oauth2-proxy replicas (2 or more outside dev).")
    acme_email: Email = Field(description="Contact email of the ACME (Let's Encrypt) account.")
    acme_environment: Literal["production", "staging"] = Field(
        "production", description="Let's Encrypt `production` or `staging` (untrusted certs, high rate limits)."
    )
    oauth2_proxy_session_store: Literal["cookie", "redis"] = Field(
        "cookie",
        description="oauth2-proxy session store: `cookie`, or `redis` when IdP tokens are too large for cookies.",
    )

    # --- airflow -------------------------------------------------------------------------------
    airflow_executor: Literal["KubernetesExecutor", "CeleryExecutor"] = Field(
        "KubernetesExecutor", description="Airflow executor."
    )
    airflow_role_mappings: list[str] = Field(
        default_factory=list,
        description="IdP group to Airflow role, as `group=Role` (Admin, Op, User, Viewer or a domain's role). "
        "Users in no mapped group get no role.",
    )
    airflow_api_server_replicas: int = Field(2, description="Airflow api-server replicas (2 or more in prod).")
    airflow_scheduler_replicas: int = Field(2, description="Airflow scheduler replicas (2 or more in prod).")
    secret_rotation_days: int = Field(
        90, description="Generated keys and passwords (Fernet, JWT, API, DB) rotate after this many days."
    )
    dags_git_repository: GitUrl = Field(
        "",
        description="Git repository of the DAGs (git-sync): https://, ssh:// or git@, never with credentials in it "
        "(an SSH repository's key goes in dagsGitSshKey); empty: DAGs are baked into airflowImage.",
    )
    dags_git_branch: GitRef = Field("main", description="Branch git-sync follows.")
    dags_git_ssh_key: SecretStr = Field(
        SecretStr(""),
        description="SSH private key for an ssh:// or git@ DAG repository (`pulumi config set --secret`).",
        json_schema_extra={"secret": True},
    )
    dags_git_known_hosts: str = Field(
        "",
        description="known_hosts lines of the SSH DAG repository's host; empty: git-sync does not verify the host key.",
    )
    airflow_image: Image = Field(
        "",
        description="Airflow image with DAGs baked in, pinned by tag and/or digest (`repository:tag`, "
        "`repository@sha256:...`); empty: the chart's default image.",
    )
    database_instance_class: str = Field(
        "db.m7g.large", description="RDS PostgreSQL instance class (`db.` + an EC2 type of an RDS family)."
    )
    database_multi_az: bool = Field(True, description="RDS Multi-AZ (required in prod).")
    database_storage_gib: int = Field(50, description="RDS allocated storage in GiB (autoscaling up to 4x).")
    database_backup_retention_days: int = Field(14, description="RDS automated backup retention, 1-35 days.")
    task_log_retention_days: int = Field(
        365, description="Days task logs are kept in S3 before expiring (older versions go after 30 days)."
    )
    retire: bool = Field(False, description="Retire the stack: lift `protect`, keep the data (docs/retire.md).")

    # --- data domains (an array of objects: not declarable in Pulumi.yaml) ----------------------
    domains: list[DomainConfig] = Field(
        default_factory=list,
        description="Data domains: name, oidcGroups, airflowRole, s3 grants, secretsPrefix, egress (see README).",
        json_schema_extra={"declare": False},
    )


class Settings(StackConfig):
    """Validated settings for one stack: the config keys plus what Pulumi knows about the stack."""

    stack: str = Field(description="Pulumi stack name.")
    region: str = Field(description="AWS region (`aws:region`).")

    @property
    def project(self) -> str:
        return PROJECT

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def cluster_name(self) -> str:
        """Fixed (not auto-named) because the control-plane log group must exist under it first."""
        return f"{PROJECT}-{self.stack}"

    @property
    def tags(self) -> dict[str, str]:
        """The one tag map every AWS resource carries (provider default tags)."""
        return {
            "project": PROJECT,
            "stack": self.stack,
            "environment": self.environment,
            "owner": self.owner,
            "managed-by": "pulumi",
        }

    @cached_property
    def subnets(self) -> tuple[list[str], list[str]]:
        """(public, private) subnet CIDRs, one per AZ, explicit or carved from the VPC."""
        if self.private_subnet_cidrs and self.public_subnet_cidrs:
            return list(self.public_subnet_cidrs), list(self.private_subnet_cidrs)
        return derive_subnets(self.vpc_cidr, len(self.availability_zones))

    @property
    def addon_version_pins(self) -> dict[str, str]:
        return dict(pin.split("=", 1) for pin in self.addon_versions)

    @property
    def role_mappings(self) -> list[tuple[str, str]]:
        """(IdP group, Airflow role) pairs from airflowRoleMappings and the domains."""
        pairs = [tuple(m.split("=", 1)) for m in self.airflow_role_mappings]
        pairs += [(group, d.airflow_role) for d in self.domains for group in d.oidc_groups]
        return pairs  # type: ignore[return-value]

    @property
    def logs_bucket_name(self) -> str:
        """Fixed name of the task-log bucket: IAM policies and the access matrix name it before it exists."""
        return f"{self.cluster_name}-{self.aws_account_id}-task-logs"

    @property
    def access_trail_log_group(self) -> str:
        """Fixed names (IAM names them before they exist): the access trail, then the EMF metrics group."""
        return f"/{PROJECT}/{self.stack}/access-trail"

    @property
    def metrics_log_group(self) -> str:
        return f"/{PROJECT}/{self.stack}/metrics"

    @property
    def metrics_namespace(self) -> str:
        return f"AirflowMesh/{self.stack}"  # CloudWatch namespace of the dashboard and alarms

    @property
    def secrets_prefix(self) -> str:
        """Secrets Manager prefix of this stack's Airflow connections and variables."""
        return f"airflow/{self.stack}"


def derive_subnets(vpc_cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Private subnets take the first eighths of the VPC; public ones share the last eighth."""
    vpc = ipaddress.ip_network(vpc_cidr)
    eighths = list(vpc.subnets(prefixlen_diff=3))
    private = [str(net) for net in eighths[:az_count]]
    public = [str(net) for net in list(eighths[-1].subnets(prefixlen_diff=3))[:az_count]]
    return public, private


def config_key(name: str) -> str:
    """The full config key of a field: ``airflow-mesh:<camelCase name>``."""
    return f"{PROJECT}:{name}"
