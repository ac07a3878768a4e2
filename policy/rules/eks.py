"""EKS: private API in prod, KMS-encrypted secrets, audit logs, access entries only."""

from __future__ import annotations

from collections.abc import Iterator

from .model import Resource, Rule, Stack, as_list, dig, known, truthy

_CLUSTER = ("aws:eks/cluster:Cluster",)
_OPEN = ("0.0.0.0/0", "::/0")
_REQUIRED_LOGS = ("api", "audit", "authenticator")


def check_endpoint(r: Resource, stack: Stack) -> Iterator[str]:
    public = r.get("vpcConfig.endpointPublicAccess")
    if not known(public):
        return
    # EKS makes the endpoint public when the flag is left out, open to 0.0.0.0/0 when no CIDRs are given.
    is_public = True if public is None else truthy(public)
    if not is_public:
        return
    if stack.is_prod:
        yield "the EKS API endpoint is public in prod; set endpointPublicAccess=false (reach it through the VPC)"
        return
    cidrs = as_list(r.get("vpcConfig.publicAccessCidrs")) or ["0.0.0.0/0"]
    if any(c in _OPEN for c in cidrs):
        yield f"the public EKS API endpoint is open to the internet ({', '.join(map(str, cidrs))}); list the CIDRs"


def check_secrets_encryption(r: Resource, _stack: Stack) -> Iterator[str]:
    config = r.get("encryptionConfig")
    if not known(config):
        return
    configs = [c for c in as_list(config) if isinstance(c, dict)]
    if not any("secrets" in as_list(c.get("resources")) and dig(c, "provider.keyArn") for c in configs):
        yield "Kubernetes secrets are not envelope-encrypted with a KMS key (encryptionConfig resources=['secrets'])"


def check_audit_logs(r: Resource, _stack: Stack) -> Iterator[str]:
    enabled = r.get("enabledClusterLogTypes")
    if not known(enabled):
        return
    missing = [t for t in _REQUIRED_LOGS if t not in as_list(enabled)]
    if missing:
        yield f"control-plane log types {missing} are not enabled; who did what to the cluster must be on record"


def check_access_entries(r: Resource, _stack: Stack) -> Iterator[str]:
    mode = r.get("accessConfig.authenticationMode")
    if known(mode) and mode != "API":
        yield f"authenticationMode is {mode!r}; use 'API' (access entries, no aws-auth ConfigMap)"
    creator = r.get("accessConfig.bootstrapClusterCreatorAdminPermissions")
    if known(creator) and (creator is None or truthy(creator)):
        yield "the cluster creator gets implicit admin; set bootstrapClusterCreatorAdminPermissions=false"


RULES = [
    Rule(
        name="eks-endpoint-private-in-prod",
        description="The EKS API endpoint is private in prod; a public endpoint elsewhere is limited to listed CIDRs.",
        check=check_endpoint,
        types=_CLUSTER,
        remediation="airflow-mesh:endpointAccess=private (prod), publicAccessCidrs otherwise.",
    ),
    Rule(
        name="eks-secrets-kms-encrypted",
        description="Kubernetes secrets are envelope-encrypted with a customer-managed KMS key.",
        check=check_secrets_encryption,
        types=_CLUSTER,
    ),
    Rule(
        name="eks-control-plane-audit-logs",
        description="EKS control-plane api, audit and authenticator logs are enabled.",
        check=check_audit_logs,
        types=_CLUSTER,
    ),
    Rule(
        name="eks-access-entries-only",
        description="EKS authenticates with access entries only (mode API) and grants the creator no implicit admin.",
        check=check_access_entries,
        types=_CLUSTER,
    ),
]
