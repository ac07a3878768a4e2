"""Stack settings: the only place that reads ``pulumi.Config``.

Every key of the ``airflow-mesh`` namespace is a field of :class:`StackConfig` with a type, a
description and (where one is safe everywhere) a default. ``Pulumi.yaml``'s ``config:`` schema is
generated from the same model (``python -m plan --project-schema``) and a test keeps the two equal.

Keys are flat because Pulumi's project config schema only knows ``string``, ``integer``,
``boolean`` and ``array`` (pulumi/pulumi ``sdk/go/common/workspace/project.json``): flat keys are
the only ones the CLI itself can type-check.

Invalid input raises :class:`SettingsError` before any resource is registered. Each problem names
the stack file and the key, says what was given and what is allowed.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from functools import cached_property
from typing import Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic.alias_generators import to_camel

from components import settings_rules, versions

PROJECT = "airflow-mesh"
STACK_CONFIG_DIR = "stacks"
ENVIRONMENTS = settings_rules.ENVIRONMENTS

Environment = Literal["dev", "staging", "prod"]
NatGateways = Literal["single", "per-az"]
EndpointAccess = Literal["private", "public", "public-and-private"]
CapacityType = Literal["ON_DEMAND", "SPOT"]
InterfaceEndpoint = Literal["sts", "ecr.api", "ecr.dkr", "secretsmanager", "logs"]
KubernetesVersion = Literal[versions.KUBERNETES_VERSIONS]  # type: ignore[valid-type]

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class _Strict(BaseModel):
    """Frozen, camelCase keys, and unknown keys rejected (a typo must never be silently ignored)."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


class S3Grant(_Strict):
    """One bucket a domain's tasks may use."""

    bucket: str = Field(description="S3 bucket name.")
    prefixes: list[str] = Field(default_factory=lambda: [""], description="Key prefixes; empty string: whole bucket.")
    access: Literal["read", "readwrite"] = Field("read", description="`read` or `readwrite`.")


class EgressRule(_Strict):
    """One external service a domain's tasks may reach."""

    host: str = Field(description="DNS name of the external service.")
    port: int = Field(443, description="TCP port.")


class DomainConfig(_Strict):
    """A data domain: who its people are and what its tasks may do."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$", description="Domain name (DNS label).")
    oidc_groups: list[str] = Field(min_length=1, description="IdP groups of the domain's people.")
    airflow_role: str = Field(description="Airflow role the groups are mapped to (created by the program).")
    s3: list[S3Grant] = Field(default_factory=list, description="S3 buckets and prefixes the tasks may use.")
    secrets_prefix: str = Field(description="Secrets Manager prefix under airflow/<stack>/connections and /variables.")
    egress: list[EgressRule] = Field(default_factory=list, description="External services the tasks may reach.")


class StackConfig(_Strict):
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
    vpc_cidr: str = Field("10.0.0.0/16", description="IPv4 CIDR of the VPC, /16 to /20.")
    private_subnet_cidrs: list[str] = Field(
        default_factory=list,
        description="One private (node and pod) subnet CIDR per AZ, inside the VPC. Empty: carved from the VPC "
        "as /19s (for a /16) so the VPC CNI has room for pod IPs.",
    )
    public_subnet_cidrs: list[str] = Field(
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
    public_access_cidrs: list[str] = Field(
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
    system_node_min_size: int = Field(2, description="Minimum (and initial) size of the system node group.")
    system_node_max_size: int = Field(4, description="Maximum size of the system node group.")
    workload_node_instance_types: list[str] = Field(
        default_factory=lambda: ["m7i.xlarge"],
        description="Instance types of the workload node group (Airflow task pods). Spot needs at least two.",
    )
    workload_node_min_size: int = Field(1, description="Minimum (and initial) size of the workload node group.")
    workload_node_max_size: int = Field(6, description="Maximum size of the workload node group.")
    workload_capacity_type: CapacityType = Field(
        "ON_DEMAND", description="Capacity type of the workload node group: ON_DEMAND or SPOT."
    )
    node_disk_size_gib: int = Field(50, description="Encrypted gp3 root volume size of every node, in GiB (20-1000).")

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
    oidc_issuer_url: str = Field(
        description="HTTPS issuer URL of the team's OIDC provider (Okta, Entra ID, Keycloak...)."
    )
    oidc_client_id: str = Field(description="OIDC client id registered for Airflow at the identity provider.")
    oidc_client_secret: SecretStr = Field(
        description="OIDC client secret. Set it with `pulumi config set --secret airflow-mesh:oidcClientSecret`.",
        json_schema_extra={"secret": True},
    )
    oidc_groups_claim: str = Field("groups", description="ID-token claim that carries the user's IdP groups.")
    oidc_allowed_groups: list[str] = Field(
        default_factory=list,
        description="IdP groups allowed through the edge at all (required in prod). Empty outside prod: "
        "every authenticated user of the IdP passes the edge and gets only what airflowRoleMappings grants.",
    )
    oidc_allowed_email_domains: list[str] = Field(
        default_factory=list, description="Email domains allowed through the edge; empty: any domain."
    )

    # --- service mesh --------------------------------------------------------------------------
    mesh_provider: Literal["kuma", "istio"] = Field(
        "kuma", description="Service mesh: `kuma` (default) or `istio` (ambient mode)."
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
        "", description="OpenTelemetry collector (host:port, OTLP gRPC) for mesh metrics and traces; empty: off."
    )

    # --- edge ----------------------------------------------------------------------------------
    airflow_hostname: str = Field(description="Public DNS name of Airflow, inside hostedZoneName.")
    hosted_zone_name: str = Field(description="Route 53 hosted zone that holds airflowHostname.")
    hosted_zone_id: str = Field(description="Route 53 hosted zone id (Z...) of hostedZoneName.")
    edge_scheme: Literal["internal", "internet-facing"] = Field(
        "internal", description="Edge load balancer: `internal` (VPC/VPN only) or `internet-facing`."
    )
    edge_source_ranges: list[str] = Field(
        default_factory=list,
        description="CIDRs allowed to reach the edge load balancer; required when internet-facing.",
    )
    edge_replicas: int = Field(2, description="NGINX data-plane and oauth2-proxy replicas (2 or more outside dev).")
    acme_email: str = Field(description="Contact email of the ACME (Let's Encrypt) account.")
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
    dags_git_repository: str = Field(
        "", description="Git repository of the DAGs (git-sync); empty: DAGs are baked into airflowImage."
    )
    dags_git_branch: str = Field("main", description="Branch git-sync follows.")
    dags_git_ssh_key: SecretStr = Field(
        SecretStr(""),
        description="SSH private key for an ssh:// or git@ DAG repository (`pulumi config set --secret`).",
        json_schema_extra={"secret": True},
    )
    dags_git_known_hosts: str = Field(
        "",
        description="known_hosts lines of the SSH DAG repository's host; empty: git-sync does not verify the host key.",
    )
    airflow_image: str = Field(
        "", description="Airflow image (`repository:tag`) with DAGs baked in; empty: the chart's default image."
    )
    database_instance_class: str = Field("db.m7g.large", description="RDS PostgreSQL instance class.")
    database_multi_az: bool = Field(True, description="RDS Multi-AZ (required in prod).")
    database_storage_gib: int = Field(50, description="RDS allocated storage in GiB (autoscaling up to 4x).")
    database_backup_retention_days: int = Field(14, description="RDS automated backup retention, 1-35 days.")
    task_log_retention_days: int = Field(
        365, description="Days task logs are kept in S3 before expiring (older versions go after 30 days)."
    )

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


class SettingsError(pulumi.RunError):
    """Raised for invalid stack configuration; Pulumi prints it without a stack trace."""

    def __init__(self, stack: str, problems: list[tuple[str, str]]):
        self.stack = stack
        self.problems = problems
        where = stack_file(stack)
        lines = [f"{where}: {key}: {message}" for key, message in problems]
        super().__init__("invalid stack configuration:\n  " + "\n  ".join(lines))


def stack_file(stack: str) -> str:
    return f"{STACK_CONFIG_DIR}/Pulumi.{stack}.yaml"


def _key(name: str) -> str:
    return f"{PROJECT}:{name}"


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def load() -> Settings:
    """Read the stack's configuration from the Pulumi runtime and validate it."""
    stack = pulumi.get_stack()
    raw = _configured_values()
    region = pulumi.Config("aws").get("region")
    return validate(stack, region, raw, secret_keys={k for k in raw if pulumi.runtime.is_config_secret(_key(k))})


def _configured_values() -> dict[str, str]:
    """Every ``airflow-mesh:*`` key the engine handed us, as the raw strings Pulumi passes."""
    from pulumi.runtime import config as runtime_config  # the SDK exposes no public key listing

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = f"{PROJECT}:"
    values: dict[str, str] = {}
    for key in sorted(keys):
        if key.startswith(prefix):
            value = runtime_config.get_config(key)
            if value is not None:
                values[key[len(prefix) :]] = value
    return values


def validate(stack: str, region: str | None, raw: dict[str, str], secret_keys: set[str]) -> Settings:
    """Validate raw config strings for ``stack``; raise :class:`SettingsError` listing every problem."""
    problems: list[tuple[str, str]] = []
    fields = config_fields()

    for name in sorted(set(raw) - set(fields)):
        hint = difflib.get_close_matches(name, list(fields), n=1)
        problems.append((_key(name), "unknown key" + (f" (did you mean {_key(hint[0])}?)" if hint else "")))

    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in fields:
            continue
        if fields[name]["secret"] and value and name not in secret_keys:
            problems.append(
                (_key(name), f"must be a secret: set it with `pulumi config set --secret {_key(name)} ...`")
            )
            continue
        if fields[name]["type"] == "string":
            values[name] = value
            continue
        try:
            values[name] = json.loads(value)
        except json.JSONDecodeError:
            problems.append((_key(name), f"{value!r} is not a valid {fields[name]['type']}"))

    if not region:
        problems.append(("aws:region", "is required (e.g. `pulumi config set aws:region us-east-1`)"))
    elif not _REGION.match(region):
        problems.append(("aws:region", f"{region!r} is not an AWS region name"))

    settings: Settings | None = None
    if not problems:
        try:
            settings = Settings.model_validate({**values, "stack": stack, "region": region})
        except ValidationError as err:
            problems.extend(_describe(err))
    if settings is not None:
        problems.extend(settings_rules.check(settings))
    if problems:
        raise SettingsError(stack, problems)
    assert settings is not None
    return settings


def _describe(err: ValidationError) -> list[tuple[str, str]]:
    out = []
    for e in err.errors():
        head, *rest = e["loc"]
        key = "aws:region" if head == "region" else _key(str(head))
        for part in rest:
            key += f"[{part}]" if isinstance(part, int) else f".{part}"
        if e["type"] == "missing":
            out.append((key, "is required"))
            continue
        given = f"{e.get('input')!r}: "
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "literal_error":
            message = "allowed: " + ", ".join(map(str, e["ctx"]["expected"].replace("'", "").split(" or ")))
        out.append((key, given + message))
    return out


# --------------------------------------------------------------------------------------------------
# The Pulumi.yaml schema, generated from the model
# --------------------------------------------------------------------------------------------------


def config_fields() -> dict[str, dict[str, Any]]:
    """camelCase key -> {type, description, default?, secret} for every project config key."""
    schema = StackConfig.model_json_schema(by_alias=True)
    out: dict[str, dict[str, Any]] = {}
    for attr, field in StackConfig.model_fields.items():
        name = to_camel(attr)
        prop = schema["properties"][name]
        extra = field.json_schema_extra or {}
        entry: dict[str, Any] = {
            "type": _pulumi_type(prop),
            "description": field.description,
            "secret": bool(extra.get("secret")),
            "declare": extra.get("declare", True),
        }
        if entry["type"] == "array":
            entry["items"] = {"type": "string"}
        if not field.is_required():
            default = field.get_default(call_default_factory=True)
            entry["default"] = default.get_secret_value() if isinstance(default, SecretStr) else default
        out[name] = entry
    return out


def project_config_schema() -> dict[str, dict[str, Any]]:
    """The ``config:`` block of Pulumi.yaml, as the Pulumi CLI understands it."""
    out = {}
    for name, entry in config_fields().items():
        if not entry["declare"]:
            continue  # arrays of objects: the CLI's schema cannot type them, the settings model does
        decl: dict[str, Any] = {"type": entry["type"], "description": entry["description"]}
        if "items" in entry:
            decl["items"] = entry["items"]
        if entry["secret"]:
            decl["secret"] = True
        if "default" in entry:
            decl["default"] = entry["default"]
        out[_key(name)] = decl
    return out


def _pulumi_type(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if kind is None and "enum" in prop:
        kind = "string"
    if kind is None and "$ref" in prop:
        kind = "string"
    if kind not in {"string", "integer", "boolean", "array"}:
        raise TypeError(f"config key type {prop!r} cannot be declared in Pulumi.yaml")
    return kind


__all__ = [
    "Environment",
    "Settings",
    "SettingsError",
    "StackConfig",
    "derive_subnets",
    "load",
    "project_config_schema",
    "validate",
]
