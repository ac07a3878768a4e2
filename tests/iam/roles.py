"""The IAM roles of a recorded plan, as documents: what the identity layer would hand to IAM."""

from __future__ import annotations

import json
from dataclasses import dataclass

from plan.harness import Plan

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
WORKLOAD_ROLE = "airflow-mesh:identity:WorkloadRole"


@dataclass(frozen=True)
class RoleDocs:
    """One workload role: its record names and its trust and permission documents."""

    workload: str
    role: str
    trust: dict
    policy: dict | None
    managed: tuple[str, ...]


def workload_roles(plan: Plan) -> dict[str, RoleDocs]:
    """Workload name (or add-on) -> its role, for every WorkloadRole component in the plan."""
    out = {}
    for component in plan.of_type(WORKLOAD_ROLE):
        children = [r for r in plan.resources if r["parent"] == component["name"]]
        (role,) = [r for r in children if r["type"] == ROLE]
        policies = [json.loads(r["inputs"]["policy"]) for r in children if r["type"] == ROLE_POLICY]
        managed = tuple(
            r["inputs"]["policyArn"]
            for r in children
            if r["type"] == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
        )
        workload = component["name"].split("-identity-", 1)[-1].split("-addons-", 1)[-1]
        out[workload] = RoleDocs(
            workload=workload,
            role=role["name"],
            trust=json.loads(role["inputs"]["assumeRolePolicy"]),
            policy=policies[0] if policies else None,
            managed=managed,
        )
    return out


def subject(docs: RoleDocs) -> str | None:
    """``system:serviceaccount:<ns>:<sa>`` the role trusts (IRSA), or None (Pod Identity)."""
    for statement in docs.trust["Statement"]:
        for key, value in statement.get("Condition", {}).get("StringEquals", {}).items():
            if key.endswith(":sub"):
                return value
    return None


def role_by_arn(plan: Plan, arn: str) -> dict:
    """The Role record an ARN from the plan points at: its explicit name, or its auto-name (logical name + suffix)."""
    role_name = arn.rsplit("/", 1)[1]
    found = [
        r
        for r in plan.of_type(ROLE)
        if r["inputs"].get("name") == role_name
        or (not r["inputs"].get("name") and role_name.startswith(r["name"] + "-"))
    ]
    assert len(found) == 1, (arn, [r["name"] for r in found])
    return found[0]
