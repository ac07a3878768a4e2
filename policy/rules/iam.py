"""IAM: workload roles trust exactly one ServiceAccount; no policy grants admin wildcards."""

from __future__ import annotations

from collections.abc import Iterator

from .model import Resource, Rule, Stack, as_list, known, statements

_WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
_ADMIN_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")


def _issuer(principal: object) -> str | None:
    """``arn:aws:iam::123:oidc-provider/oidc.eks.../id/ABC`` -> ``oidc.eks.../id/ABC``."""
    for federated in as_list(principal.get("Federated") if isinstance(principal, dict) else None):
        if isinstance(federated, str) and ":oidc-provider/" in federated:
            return federated.split(":oidc-provider/", 1)[1]
    return None


def check_irsa_trust(r: Resource, _stack: Stack) -> Iterator[str]:
    policy = r.get("assumeRolePolicy")
    if not known(policy):
        return
    for s in statements(policy):
        if s.get("Effect") != "Allow" or _WEB_IDENTITY not in as_list(s.get("Action")):
            continue
        issuer = _issuer(s.get("Principal"))
        if issuer is None:
            yield "a web-identity trust statement must name one IAM OIDC provider as its Federated principal"
            continue
        conditions = s.get("Condition") or {}
        equals = conditions.get("StringEquals") or {}
        sub = equals.get(f"{issuer}:sub")
        aud = equals.get(f"{issuer}:aud")
        for operator, keys in conditions.items():
            if operator != "StringEquals" and any(str(k).startswith(issuer) for k in keys or {}):
                yield f"{operator} on the OIDC claims widens the trust; pin `sub` and `aud` with StringEquals"
        if sub is None:
            yield f"trust does not pin `{issuer}:sub` with StringEquals: any ServiceAccount could assume it"
        elif not (isinstance(sub, str) and sub.startswith("system:serviceaccount:") and sub.count(":") == 3):
            yield f"`sub` must be exactly one `system:serviceaccount:<namespace>:<name>`, got {sub!r}"
        elif any(c in sub for c in "*?"):
            yield f"`sub` {sub!r} contains a wildcard"
        if aud != "sts.amazonaws.com":
            yield f"trust must pin `{issuer}:aud` = 'sts.amazonaws.com' with StringEquals (got {aud!r})"


def check_no_admin(r: Resource, _stack: Stack) -> Iterator[str]:
    if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
        arn = r.get("policyArn")
        if isinstance(arn, str) and arn.rsplit("/", 1)[-1] in _ADMIN_POLICIES:
            yield f"attaches {arn}: workload and platform roles get least-privilege policies only"
        return
    for s in statements(r.get("policy")):
        if s.get("Effect") != "Allow":
            continue
        if "NotAction" in s:
            yield "Allow with NotAction grants everything not listed"
            continue
        actions = [a for a in as_list(s.get("Action")) if isinstance(a, str)]
        resources = as_list(s.get("Resource"))
        if "*" in actions:
            yield "Allow on Action '*'"
        elif "*" in resources and any(a.endswith(":*") for a in actions):
            wide = ", ".join(a for a in actions if a.endswith(":*"))
            yield f"Allow on {wide} for every resource ('*')"


RULES = [
    Rule(
        name="irsa-trust-pins-sub-and-aud",
        description="A role trusted through the cluster's OIDC provider pins `sub` (one namespace:serviceaccount) "
        "and `aud` (sts.amazonaws.com) with StringEquals.",
        check=check_irsa_trust,
        types=("aws:iam/role:Role",),
        remediation="Build the role with components.cluster.workload_role.WorkloadRole.",
    ),
    Rule(
        name="iam-no-admin-wildcards",
        description="No IAM policy allows '*' actions, service-wide actions on every resource, NotAction, "
        "or attaches AdministratorAccess/PowerUserAccess/IAMFullAccess.",
        check=check_no_admin,
        types=(
            "aws:iam/rolePolicy:RolePolicy",
            "aws:iam/policy:Policy",
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        ),
        remediation="Grant the actions and resources the access model lists, nothing more.",
    ),
]
