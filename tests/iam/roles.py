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
