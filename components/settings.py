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

from components import instance_types, versions

PROJECT = "airflow-mesh"
STACK_CONFIG_DIR = "stacks"
ENVIRONMENTS = ("dev", "staging", "prod")

Environment = Literal["dev", "staging", "prod"]
NatGateways = Literal["single", "per-az"]
EndpointAccess = Literal["private", "public", "public-and-private"]
CapacityType = Literal["ON_DEMAND", "SPOT"]
InterfaceEndpoint = Literal["sts", "ecr.api", "ecr.dkr", "secretsmanager", "logs"]
KubernetesVersion = Literal[versions.KUBERNETES_VERSIONS]  # type: ignore[valid-type]

#: Retention values CloudWatch Logs accepts (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

_ARN_ROLE = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_ARN_POLICY = re.compile(r"^arn:aws(-[a-z]+)*:iam::(\d{12}|aws):policy/[\w+=,.@/-]{1,512}$")
_AZ = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_TAG_VALUE = re.compile(r"^[\w .:/=+@-]{1,256}$")


class StackConfig(BaseModel):
    """Every ``airflow-mesh:*`` key a stack file may set. Field names are the camelCase keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

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
        if fields[name]["secret"] and name not in secret_keys:
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
        problems.extend(_rules(settings))
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
# Rules that need more than one key or the environment
# --------------------------------------------------------------------------------------------------


def _rules(s: Settings) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    add = lambda key, message: problems.append((_key(key), message))  # noqa: E731

    if s.stack in ENVIRONMENTS and s.stack != s.environment:
        add("environment", f"{s.environment!r} does not match the stack name {s.stack!r}")
    if not _TAG_VALUE.match(s.owner):
        add("owner", f"{s.owner!r} is not a valid AWS tag value")

    _network_rules(s, add)
    _cluster_rules(s, add)
    _node_rules(s, add)

    if s.permissions_boundary_arn and not _ARN_POLICY.match(s.permissions_boundary_arn):
        add("permissionsBoundaryArn", f"{s.permissions_boundary_arn!r} is not an IAM policy ARN")
    if not 3600 <= s.max_session_duration_seconds <= 43200:
        add("maxSessionDurationSeconds", f"{s.max_session_duration_seconds} is outside 3600-43200")
    if not s.oidc_issuer_url.startswith("https://") or any(c in s.oidc_issuer_url for c in "?# "):
        add("oidcIssuerUrl", f"{s.oidc_issuer_url!r} must be an https:// URL without query or fragment")
    if not s.oidc_client_id.strip():
        add("oidcClientId", "must not be empty")
    if not s.oidc_client_secret.get_secret_value().strip():
        add("oidcClientSecret", "must not be empty")
    return problems


def _network_rules(s: Settings, add) -> None:
    azs = s.availability_zones
    need = 3 if s.is_prod else 2
    if len(azs) < need:
        add("availabilityZones", f"{len(azs)} given, {s.environment} needs at least {need}")
    if len(set(azs)) != len(azs):
        add("availabilityZones", "contains duplicates")
    for i, az in enumerate(azs):
        if not _AZ.match(az) or not az.startswith(s.region):
            add(f"availabilityZones[{i}]", f"{az!r} is not an availability zone of {s.region}")

    try:
        vpc = ipaddress.IPv4Network(s.vpc_cidr)
    except ValueError as err:
        add("vpcCidr", f"{s.vpc_cidr!r} is not a valid IPv4 CIDR ({err})")
        return
    if not 16 <= vpc.prefixlen <= 20:
        add("vpcCidr", f"{s.vpc_cidr!r}: prefix must be /16 to /20 (pods take VPC IPs)")
        return
    if not vpc.is_private:
        add("vpcCidr", f"{s.vpc_cidr!r} is not a private (RFC 1918) range")

    if bool(s.private_subnet_cidrs) != bool(s.public_subnet_cidrs):
        add("privateSubnetCidrs", "set both privateSubnetCidrs and publicSubnetCidrs, or neither")
        return
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for key, cidrs in (("publicSubnetCidrs", s.public_subnet_cidrs), ("privateSubnetCidrs", s.private_subnet_cidrs)):
        if cidrs and len(cidrs) != len(azs):
            add(key, f"{len(cidrs)} given, one per availability zone ({len(azs)}) is needed")
        for i, cidr in enumerate(cidrs):
            try:
                net = ipaddress.IPv4Network(cidr)
            except ValueError as err:
                add(f"{key}[{i}]", f"{cidr!r} is not a valid IPv4 CIDR ({err})")
                continue
            if not net.subnet_of(vpc):
                add(f"{key}[{i}]", f"{cidr} is outside vpcCidr {vpc}")
            for other_key, other in seen:
                if net.overlaps(other):
                    add(f"{key}[{i}]", f"{cidr} overlaps {other} ({other_key})")
            seen.append((f"{key}[{i}]", net))

    if s.is_prod and s.nat_gateways != "per-az":
        add("natGateways", "'single' is not allowed in prod (allowed: per-az)")
    if len(set(s.interface_endpoints)) != len(s.interface_endpoints):
        add("interfaceEndpoints", "contains duplicates")
    if s.flow_log_retention_days not in LOG_RETENTION_DAYS:
        add("flowLogRetentionDays", f"{s.flow_log_retention_days} is not a CloudWatch retention ({_retentions()})")


def _cluster_rules(s: Settings, add) -> None:
    if s.is_prod and s.endpoint_access != "private":
        add("endpointAccess", f"{s.endpoint_access!r} is not allowed in prod (allowed: private)")
    if s.endpoint_access == "private" and s.public_access_cidrs:
        add("publicAccessCidrs", "must be empty when endpointAccess is private")
    if s.endpoint_access != "private" and not s.public_access_cidrs:
        add("publicAccessCidrs", f"required when endpointAccess is {s.endpoint_access!r} (no implicit 0.0.0.0/0)")
    for i, cidr in enumerate(s.public_access_cidrs):
        try:
            ipaddress.IPv4Network(cidr)
        except ValueError as err:
            add(f"publicAccessCidrs[{i}]", f"{cidr!r} is not a valid IPv4 CIDR ({err})")
    if not s.admin_role_arns:
        add("adminRoleArns", "at least one role is needed, or nobody can reach the cluster")
    for i, arn in enumerate(s.admin_role_arns):
        if not _ARN_ROLE.match(arn):
            add(f"adminRoleArns[{i}]", f"{arn!r} is not an IAM role ARN")
    if s.cluster_log_retention_days not in LOG_RETENTION_DAYS:
        add(
            "clusterLogRetentionDays", f"{s.cluster_log_retention_days} is not a CloudWatch retention ({_retentions()})"
        )
    for i, pin in enumerate(s.addon_versions):
        name, _, version = pin.partition("=")
        if name not in versions.EKS_ADDONS or not version:
            add(
                f"addonVersions[{i}]", f"{pin!r} must be name=version with name one of {', '.join(versions.EKS_ADDONS)}"
            )


def _node_rules(s: Settings, add) -> None:
    groups = {
        "systemNode": (s.system_node_instance_types, s.system_node_min_size, s.system_node_max_size),
        "workloadNode": (s.workload_node_instance_types, s.workload_node_min_size, s.workload_node_max_size),
    }
    for group, (types, min_size, max_size) in groups.items():
        key = f"{group}InstanceTypes"
        if not types:
            add(key, "at least one instance type is needed")
            continue
        unknown = [t for t in types if t not in instance_types.INSTANCE_TYPES]
        if unknown:
            add(
                key, f"unknown instance type(s) {', '.join(unknown)}; known: {', '.join(instance_types.INSTANCE_TYPES)}"
            )
            continue
        specs = [instance_types.INSTANCE_TYPES[t] for t in types]
        if len({spec.arch for spec in specs}) > 1:
            add(key, "mixes x86_64 and arm64 types; a node group has one AMI architecture")
        for t, spec in zip(types, specs, strict=True):
            if spec.memory_gib < instance_types.MIN_NODE_MEMORY_GIB or spec.max_pods < instance_types.MIN_NODE_PODS:
                add(
                    key,
                    f"{t} ({spec.memory_gib} GiB, {spec.max_pods} pods) cannot hold the platform; "
                    f"need at least {instance_types.MIN_NODE_MEMORY_GIB} GiB "
                    f"and {instance_types.MIN_NODE_PODS} pods per node",
                )
        if min_size < 0 or max_size < 1 or min_size > max_size:
            add(f"{group}MinSize", f"min {min_size} / max {max_size}: need 0 <= min <= max and max >= 1")
        if group == "systemNode":
            smallest_mem = min(spec.memory_gib for spec in specs) * min_size
            smallest_cpu = min(spec.vcpu for spec in specs) * min_size
            if min_size < 2:
                add("systemNodeMinSize", f"{min_size}: the system group needs at least 2 nodes to drain one")
            elif smallest_mem < instance_types.MIN_SYSTEM_MEMORY_GIB or smallest_cpu < instance_types.MIN_SYSTEM_VCPU:
                add(
                    "systemNodeMinSize",
                    f"{min_size} x {types} gives {smallest_cpu} vCPU / {smallest_mem} GiB; the platform needs "
                    f"{instance_types.MIN_SYSTEM_VCPU} vCPU / {instance_types.MIN_SYSTEM_MEMORY_GIB} GiB",
                )
            if s.is_prod and min_size < len(s.availability_zones):
                add("systemNodeMinSize", f"{min_size}: prod needs one system node per AZ ({len(s.availability_zones)})")
    if s.workload_capacity_type == "SPOT" and len(s.workload_node_instance_types) < 2:
        add("workloadNodeInstanceTypes", "SPOT needs at least two instance types to survive capacity reclaims")
    if not 20 <= s.node_disk_size_gib <= 1000:
        add("nodeDiskSizeGib", f"{s.node_disk_size_gib} is outside 20-1000 GiB")


def _retentions() -> str:
    return "allowed: " + ", ".join(map(str, LOG_RETENTION_DAYS))


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
        entry: dict[str, Any] = {
            "type": _pulumi_type(prop),
            "description": field.description,
            "secret": bool((field.json_schema_extra or {}).get("secret")),
        }
        if entry["type"] == "array":
            entry["items"] = {"type": "string"}
        if not field.is_required():
            entry["default"] = field.get_default(call_default_factory=True)
        out[name] = entry
    return out


def project_config_schema() -> dict[str, dict[str, Any]]:
    """The ``config:`` block of Pulumi.yaml, as the Pulumi CLI understands it."""
    out = {}
    for name, entry in config_fields().items():
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
