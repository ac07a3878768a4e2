"""Rules that need more than one key, or the environment: each returns (key, message) problems."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from components import versions
from components.platform import KUBERNETES_SERVICE_CIDR
from components.settings.machine import BUILTIN_ROLES
from components.settings.machine_rules import machine_rules
from components.settings.model import ENVIRONMENTS, config_key
from components.settings.node_rules import database_rules, node_rules
from components.settings.partition_rules import partition_rules
from components.settings.session_rules import session_rules

if TYPE_CHECKING:
    from components.settings.stack import Settings

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
BUILTIN_AIRFLOW_ROLES = BUILTIN_ROLES

_ARN_ROLE = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_ARN_POLICY = re.compile(r"^arn:aws(-[a-z]+)*:iam::(\d{12}|aws):policy/[\w+=,.@/-]{1,512}$")
_AZ = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")
_TAG_VALUE = re.compile(r"^[\w .:/=+@-]{1,256}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


# --------------------------------------------------------------------------------------------------


def check(s: Settings, partial: bool = False) -> list[tuple[str, str]]:
    """Problems found by the cross-key rules, as (full key, message).

    ``partial``: ``s`` lacks the keys that already failed their own validation (reading one raises
    ``AttributeError``). A rule group that needs such a key is skipped, so its problems are not
    reported on top of (or because of) the key's own; every other group still runs, so one run
    reports everything that can be told.
    """
    problems: list[tuple[str, str]] = []
    # A key with a namespace (``aws:region``) is kept; the project's own keys get ``airflow-mesh:``.
    add = lambda key, message: problems.append((key if ":" in key else config_key(key), message))  # noqa: E731
    for group in RULE_GROUPS:
        try:
            group(s, add)
        except AttributeError:
            if not partial:
                raise
    return problems


def _stack_rules(s: Settings, add) -> None:
    if s.stack in ENVIRONMENTS and s.stack != s.environment:
        add("environment", f"{s.environment!r} does not match the stack name {s.stack!r}")
    if not _TAG_VALUE.match(s.owner):
        add("owner", f"{s.owner!r} is not a valid AWS tag value")


def _identity_rules(s: Settings, add) -> None:
    if s.permissions_boundary_arn and not _ARN_POLICY.match(s.permissions_boundary_arn):
        add("permissionsBoundaryArn", f"{s.permissions_boundary_arn!r} is not an IAM policy ARN")
    if not 3600 <= s.max_session_duration_seconds <= 43200:
        add("maxSessionDurationSeconds", f"{s.max_session_duration_seconds} is outside 3600-43200")
    if not s.oidc_client_id.strip():
        add("oidcClientId", "must not be empty")
    if not s.oidc_client_secret.get_secret_value().strip():
        add("oidcClientSecret", "must not be empty")


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
    if vpc.overlaps(ipaddress.IPv4Network(KUBERNETES_SERVICE_CIDR)):
        add("vpcCidr", f"{s.vpc_cidr!r} overlaps the cluster's Service CIDR {KUBERNETES_SERVICE_CIDR}")

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


def _retentions() -> str:
    return "allowed: " + ", ".join(map(str, LOG_RETENTION_DAYS))


def _mesh_rules(s: Settings, add) -> None:
    if s.mesh_provider in ("kuma", "linkerd", "consul"):
        # Kuma, Linkerd and Consul tell external destinations apart by TLS SNI or HTTP Host only: a name
        # on any other port cannot be let out without opening that port to every host.
        repo = s.dags_git_repository
        if repo and not repo.startswith("https://"):
            add(
                "dagsGitRepository",
                f"{repo!r}: with meshProvider {s.mesh_provider}, use an https:// repository (SSH cannot leave by name)",
            )
        for i, d in enumerate(s.domains):
            for j, rule in enumerate(d.egress):
                if rule.port not in (80, 443):
                    add(
                        f"domains[{i}].egress[{j}]",
                        f"{rule.host}:{rule.port}: with meshProvider {s.mesh_provider}, "
                        "external hosts are reachable on 443 (TLS) or 80 only",
                    )
                elif rule.port == 80 and s.mesh_provider == "consul":
                    # A plain-HTTP destination is an HTTP route in the caller's sidecar that Consul builds
                    # without a timeout (hashicorp/consul agent/xds/routes.go makeNamedAddressesRoute), so
                    # Envoy's 15 s default cuts every slower call, and no config entry reaches that route
                    # (ServiceResolver requestTimeout applies at the terminating gateway only, and 0 means
                    # "Envoy's default" there too): the mesh would add a request timeout to a task's call.
                    add(
                        f"domains[{i}].egress[{j}]",
                        f"{rule.host}:80: with meshProvider consul, a plain-HTTP exit is cut at Envoy's 15 s "
                        "route timeout (Consul sets none on destination routes); use 443",
                    )
    declared = [f"domains[{i}].egress" for i, d in enumerate(s.domains) if d.egress]
    if s.mesh_provider == "istio" and declared and not s.mesh_accept_unenforced_egress:
        # Ambient without an egress waypoint passes every destination through (plan/mesh_enforcement.py).
        add(
            "meshProvider",
            f"istio ambient does not enforce egress allow-lists ({', '.join(declared)}); choose kuma, linkerd or "
            "consul, or set meshAcceptUnenforcedEgress: true to accept them as documentation only",
        )
    if s.mesh_provider == "linkerd" and s.mesh_ca_source != "cert-manager":
        # Linkerd's Helm install has no CA that renews itself: its identity issuer must come from outside.
        add("meshCaSource", f"{s.mesh_ca_source!r}: with meshProvider linkerd, use cert-manager")
    if s.mesh_tls_mode == "permissive" and s.environment != "dev":
        add("meshTlsMode", f"'permissive' is not allowed in {s.environment} (allowed: strict)")
    if not 1 <= s.mesh_certificate_ttl_hours <= 24:
        add("meshCertificateTtlHours", f"{s.mesh_certificate_ttl_hours} is outside 1-24 hours")
    for key, name in (("meshCaName", s.mesh_ca_name), ("meshPreviousCaName", s.mesh_previous_ca_name)):
        if name and not _DNS_LABEL.match(name):
            add(key, f"{name!r} is not a DNS label")
    if s.mesh_previous_ca_name and s.mesh_previous_ca_name == s.mesh_ca_name:
        add("meshPreviousCaName", "must differ from meshCaName (it names the CA being rotated out)")
    minimum = 1 if s.environment == "dev" else 2
    if s.mesh_control_plane_replicas < minimum:
        add("meshControlPlaneReplicas", f"{s.mesh_control_plane_replicas}: {s.environment} needs at least {minimum}")
    if s.otel_endpoint and not re.match(r"^[a-z0-9.-]+:443$", s.otel_endpoint):
        add("otelEndpoint", f"{s.otel_endpoint!r} must be host:443 (OTLP over TLS: Kuma matches exits by SNI)")
    if (days := s.access_trail_retention_days) not in LOG_RETENTION_DAYS or (s.is_prod and days < 365):
        add("accessTrailRetentionDays", f"{days}: not a CloudWatch retention ({_retentions()}) or < 365 in prod")


def _edge_rules(s: Settings, add) -> None:
    zone = s.hosted_zone_name.rstrip(".").lower()
    if not _HOSTNAME.match(zone):
        add("hostedZoneName", f"{s.hosted_zone_name!r} is not a DNS name")
    if s.airflow_hostname != zone and not s.airflow_hostname.endswith("." + zone):
        add("airflowHostname", f"{s.airflow_hostname!r} is outside hostedZoneName {zone!r}")
    if not re.match(r"^Z[A-Z0-9]{1,32}$", s.hosted_zone_id):
        add("hostedZoneId", f"{s.hosted_zone_id!r} is not a Route 53 hosted zone id")
    if s.edge_scheme == "internet-facing" and not s.edge_source_ranges:
        add("edgeSourceRanges", "required when edgeScheme is internet-facing (no implicit 0.0.0.0/0)")
    minimum = 1 if s.environment == "dev" else 2
    if s.edge_replicas < minimum:
        add("edgeReplicas", f"{s.edge_replicas}: {s.environment} needs at least {minimum}")
    if s.is_prod and not s.oidc_allowed_groups:
        add("oidcAllowedGroups", "must not be empty in prod: name the IdP groups that may reach Airflow")
    for i, domain in enumerate(s.oidc_allowed_email_domains):
        if not _HOSTNAME.match(domain):
            add(f"oidcAllowedEmailDomains[{i}]", f"{domain!r} is not a DNS name")


def _airflow_rules(s: Settings, add) -> None:
    known_roles = set(BUILTIN_AIRFLOW_ROLES) | {d.airflow_role for d in s.domains}
    seen: dict[str, str] = {}
    for i, mapping in enumerate(s.airflow_role_mappings):
        group, sep, role = mapping.partition("=")
        if not sep or not group.strip() or not role:
            add(f"airflowRoleMappings[{i}]", f"{mapping!r} must be group=Role")
        elif role not in known_roles:
            add(f"airflowRoleMappings[{i}]", f"{role!r} is not a role (known: {', '.join(sorted(known_roles))})")
        elif group in seen and seen[group] != role:
            add(f"airflowRoleMappings[{i}]", f"group {group!r} is already mapped to {seen[group]!r}")
        else:
            seen[group] = role
    minimum = 2 if s.is_prod else 1
    for key, value in (
        ("airflowApiServerReplicas", s.airflow_api_server_replicas),
        ("airflowSchedulerReplicas", s.airflow_scheduler_replicas),
    ):
        if value < minimum:
            add(key, f"{value}: {s.environment} needs at least {minimum}")
    if not 1 <= s.secret_rotation_days <= 365:
        add("secretRotationDays", f"{s.secret_rotation_days} is outside 1-365 days")
    repo = s.dags_git_repository
    if repo and not repo.startswith("https://") and not s.dags_git_ssh_key.get_secret_value():
        add("dagsGitSshKey", f"required for the SSH repository {repo!r} (`pulumi config set --secret`)")
    if s.airflow_executor == "CeleryExecutor" and s.domains:
        add(
            "airflowExecutor",
            "'CeleryExecutor' runs every task as the platform worker; data domains need KubernetesExecutor",
        )
    if s.is_prod and not s.database_multi_az:
        add("databaseMultiAz", "false is not allowed in prod")
    if not 20 <= s.database_storage_gib <= 65536:
        add("databaseStorageGib", f"{s.database_storage_gib} is outside 20-65536 GiB")
    if not 1 <= s.database_backup_retention_days <= 35:
        add("databaseBackupRetentionDays", f"{s.database_backup_retention_days} is outside 1-35 days")
    elif s.is_prod and s.database_backup_retention_days < 7:
        add("databaseBackupRetentionDays", f"{s.database_backup_retention_days}: prod keeps at least 7 days")
    if s.task_log_retention_days < 1:
        add("taskLogRetentionDays", f"{s.task_log_retention_days} must be at least 1")


def _domain_rules(s: Settings, add) -> None:
    names: set[str] = set()
    groups: dict[str, str] = {}
    roles: dict[str, str] = {}
    writes: list[tuple[str, str, str]] = []  # (domain, bucket, prefix)
    prefixes: dict[str, str] = {}
    platform_groups = {m.partition("=")[0] for m in s.airflow_role_mappings}
    for i, d in enumerate(s.domains):
        key = f"domains[{i}]"
        if d.name in names:
            add(f"{key}.name", f"duplicate domain {d.name!r}")
        names.add(d.name)
        if d.airflow_role in BUILTIN_AIRFLOW_ROLES:
            add(f"{key}.airflowRole", f"{d.airflow_role!r} is a built-in role; a domain gets its own")
        elif d.airflow_role in roles:
            add(f"{key}.airflowRole", f"{d.airflow_role!r} is already the role of domain {roles[d.airflow_role]!r}")
        roles.setdefault(d.airflow_role, d.name)
        for j, group in enumerate(d.oidc_groups):
            if group in platform_groups:
                add(f"{key}.oidcGroups[{j}]", f"group {group!r} is already mapped by airflowRoleMappings")
            if group in groups and groups[group] != d.name:
                add(f"{key}.oidcGroups[{j}]", f"group {group!r} is already mapped to domain {groups[group]!r}")
            groups.setdefault(group, d.name)
        if d.secrets_prefix in prefixes:
            add(
                f"{key}.secretsPrefix",
                f"{d.secrets_prefix!r} is already the prefix of domain {prefixes[d.secrets_prefix]!r}",
            )
        prefixes.setdefault(d.secrets_prefix, d.name)
        prefix = d.secrets_prefix
        if (
            not re.match(r"^[a-z0-9][a-z0-9_/-]*$", prefix)
            or ".." in prefix
            or (prefix.startswith("airflow/") and not prefix.startswith(f"{s.secrets_prefix}/"))
        ):
            add(f"{key}.secretsPrefix", f"{prefix!r} is outside the stack's prefix {s.secrets_prefix}/")
        for j, grant in enumerate(d.s3):
            if not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", grant.bucket):
                add(f"{key}.s3[{j}].bucket", f"{grant.bucket!r} is not an S3 bucket name")
            if grant.bucket == s.logs_bucket_name:
                add(
                    f"{key}.s3[{j}].bucket",
                    "is the task-log bucket: domains get their own DAGs' logs only, automatically",
                )
            for prefix in grant.prefixes:
                if grant.access == "readwrite":
                    for other, bucket, other_prefix in writes:
                        overlap = prefix.startswith(other_prefix) or other_prefix.startswith(prefix)
                        if other != d.name and bucket == grant.bucket and overlap:
                            add(
                                f"{key}.s3[{j}].prefixes",
                                f"s3://{bucket}/{prefix} overlaps s3://{bucket}/{other_prefix}, "
                                f"written by domain {other!r}",
                            )
                    writes.append((d.name, grant.bucket, prefix))


#: Each group reads what it needs from the settings and calls ``add(key, message)`` per problem.
#: Add a group here for new keys (small groups skip less when a key they read is broken).
RULE_GROUPS = (
    _stack_rules,
    _network_rules,
    _cluster_rules,
    node_rules,
    database_rules,
    _mesh_rules,
    _edge_rules,
    session_rules,
    _airflow_rules,
    _domain_rules,
    _identity_rules,
    machine_rules,
    partition_rules,
)
