"""The access matrix auditors read: who may do what, across every layer, for one stack.

Generated from the access model (components/access_model/), the same structure the IAM
policies, mesh permissions and Airflow role mapping are generated from; never written by hand.
For each identity: IdP groups -> Airflow role -> namespace/ServiceAccount -> IAM role and the
actions it allows on which resources -> mesh destinations it may call and exits it may take.
"""

from __future__ import annotations

import json
import os
from typing import Any

from components.access_model import AccessModel, Workload, render_policy
from components.settings import Settings
from plan import access_picture
from plan.mesh_enforcement import enforcement

#: KMS key ARNs only exist after `pulumi up`; the matrix names the key instead.
KEY_LABELS = {
    "logs_key_arn": "kms-key:task-logs",
    "secrets_key_arn": "kms-key:airflow-secrets",
    "node_volume_key_arn": "kms-key:task-node-volumes",
    "karpenter_node_role_arn": "iam-role:karpenter-task-nodes",
    "karpenter_queue_arn": "sqs-queue:karpenter-interruptions",
}


def placeholder_values(settings: Settings) -> dict[str, str]:
    return {
        "region": settings.region,
        "account": settings.aws_account_id,
        "logs_bucket": settings.logs_bucket_name,
        "hosted_zone_id": settings.hosted_zone_id,
        **KEY_LABELS,
    }


def build(model: AccessModel, settings: Settings) -> dict[str, Any]:
    values = placeholder_values(settings)
    domains = {d.name: d for d in settings.domains}
    rows = []
    for w in model.workloads.values():
        domain = domains.get(w.name.removeprefix("domain-")) if w.kind == "domain" else None
        rows.append(
            {
                "workload": w.name,
                "kind": w.kind,
                "description": w.description,
                "oidcGroups": list(domain.oidc_groups) if domain else [],
                "airflowRole": domain.airflow_role if domain else None,
                "namespace": w.namespace,
                "serviceAccount": w.service_account,
                "meshed": w.meshed,
                "plaintextPorts": list(w.plaintext_ports),
                "iamRole": _role_name(settings, w),
                "permissions": _permissions(w, values),
                "executionApi": _execution_api(w, settings),
                "meshDestinations": [
                    {"to": e.destination, "port": e.port, "protocol": e.protocol, "purpose": e.purpose}
                    for e in model.edges
                    if e.source == w.name
                ],
                "meshSources": [
                    {"from": e.source, "port": e.port, "protocol": e.protocol}
                    for e in model.edges
                    if e.destination == w.name
                ],
                "egress": [
                    {"host": x.host, "port": x.port, "purpose": x.purpose} for x in model.egress if x.source == w.name
                ],
            }
        )
    return {
        "stack": model.stack,
        "identityMode": settings.identity_mode,
        "meshProvider": settings.mesh_provider,
        # How strongly the mesh rows below hold with this provider (plan/mesh_enforcement.py).
        "meshEnforcement": dict(enforcement(settings.mesh_provider)),
        "people": [{"oidcGroup": g, "airflowRole": r} for g, r in model.role_mappings],
        "machines": {
            "issuer": model.machine_issuer,
            "audiences": list(model.machine_audiences),
            "edgeGroup": settings.machine_edge_group,
            "clients": [{"machine": m, "airflowRole": r} for m, r in model.machine_mappings],
        },
        "workloads": rows,
    }


def _machines_markdown(matrix: dict[str, Any]) -> list[str]:
    """The machine identities: who is accepted (issuer, audiences) and which role each client or scope gets."""
    machines = matrix["machines"]
    if not machines["clients"]:
        return ["## Machines: client id or scope -> Airflow role", "", "No machine client gets any role.", ""]
    edge = f", groups claim holding `{machines['edgeGroup']}` at the edge" if machines["edgeGroup"] else ""
    return [
        "## Machines: client id or scope -> Airflow role",
        "",
        f"Bearer access tokens of `{machines['issuer']}` with audience "
        + ", ".join(f"`{a}`" for a in machines["audiences"])
        + f"{edge}; the api-server maps them (docs/edge.md).",
        "",
        "| machine | Airflow role |",
        "|---|---|",
        *[f"| `{c['machine']}` | {c['airflowRole']} |" for c in machines["clients"]],
        "",
        "Tokens of any other client get no Airflow role.",
        "",
    ]


def _execution_api(w: Workload, settings: Settings) -> dict[str, Any] | None:
    """What task pods of ``w`` may read and write through Airflow's execution API: the scope the
    api-server plugin enforces (components/airflow/runtime/execution_scope.py), by the caller task's
    DAG: a domain's tasks reach its own DAGs and secrets prefix, the platform's tasks everything else."""
    domains = {f"domain-{d.name}": d for d in settings.domains}
    if w.name in domains:
        d = domains[w.name]
        return {
            "dags": [f"{d.name}_*"],
            "connectionsAndVariables": [f"{d.secrets_prefix}/*"],
            "notDags": [],
            "notConnectionsAndVariables": [],
        }
    if w.name == "airflow-worker":
        return {
            "dags": ["*"],
            "connectionsAndVariables": ["*"],
            "notDags": [f"{d.name}_*" for d in settings.domains],
            "notConnectionsAndVariables": [f"{d.secrets_prefix}/*" for d in settings.domains],
        }
    return None


def _role_name(settings: Settings, w: Workload) -> str | None:
    # the logical name the identity layer gives the role (IAM appends a suffix on create)
    return f"{settings.cluster_name}-identity-{w.name}-role" if w.grants else None


def _permissions(w: Workload, values: dict[str, str]) -> list[dict[str, Any]]:
    if not w.grants:
        return []
    return [
        {
            k: v
            for k, v in (
                ("effect", s["Effect"]),
                ("actions", s["Action"]),
                ("resources", s["Resource"]),
                ("condition", s.get("Condition")),
            )
            if v
        }
        for s in render_policy(w.grants, values)["Statement"]
    ]


def to_json(matrix: dict[str, Any]) -> str:
    return json.dumps(matrix, indent=2, sort_keys=True) + "\n"


def to_markdown(matrix: dict[str, Any]) -> str:
    out = [
        f"# Access matrix: stack `{matrix['stack']}`",
        "",
        f"Generated by `make plan` from the access model (mesh: {matrix['meshProvider']}, "
        f"AWS identity: {matrix['identityMode']}). Nothing is allowed that is not listed here.",
        "",
        "## People: IdP group -> Airflow role",
        "",
        "| IdP group | Airflow role |",
        "|---|---|",
        *[f"| `{p['oidcGroup']}` | {p['airflowRole']} |" for p in matrix["people"]],
        "",
        "Users in no listed group get no Airflow role.",
        "",
        *_machines_markdown(matrix),
        *_enforcement_markdown(matrix),
        "## Who may reach whom",
        "",
        "Solid arrows: calls the mesh allows (port); dotted: traffic that leaves the mesh.",
        "",
        access_picture.mermaid(matrix),
    ]
    for title, kinds in (("Data domains", ("domain",)), ("Platform", ("airflow", "edge", "platform"))):
        out += [f"## {title}", ""]
        for row in (r for r in matrix["workloads"] if r["kind"] in kinds):
            out += _workload_markdown(row)
    return "\n".join(out).rstrip() + "\n"


def _enforcement_markdown(matrix: dict[str, Any]) -> list[str]:
    e = matrix["meshEnforcement"]
    return [
        f"## What the mesh ({matrix['meshProvider']}) enforces of the rows below",
        "",
        "| | |",
        "|---|---|",
        f"| L4 (who may call whom) | {e['l4']} |",
        f"| L7 | {e['l7']} |",
        f"| egress (**{e['egressLevel']}**) | {e['egress']} |",
        f"| UDP edges | {e['udp']} |",
        f"| metrics | {e['metrics']} |",
        f"| not stopped | {e['limits']} |",
        "",
    ]


def _workload_markdown(row: dict[str, Any]) -> list[str]:
    lines = [f"### {row['workload']}", "", row["description"], ""]
    if row["oidcGroups"]:
        lines.append(
            f"- people: {', '.join(f'`{g}`' for g in row['oidcGroups'])} -> Airflow role `{row['airflowRole']}`"
        )
    lines.append(
        f"- runs as: `{row['namespace']}/{row['serviceAccount']}`" + ("" if row["meshed"] else " (outside the mesh)")
    )
    lines.append(f"- IAM role: `{row['iamRole']}`" if row["iamRole"] else "- IAM role: none (no AWS access)")
    for p in row["permissions"]:
        never = "**never** " if p["effect"] == "Deny" else ""
        under, resources = _resources(p["resources"])
        # long action lists (Karpenter's EC2 reads) wrap like the resources do
        acts = p["actions"]
        lines += _wrapped(f"  - {never}".rstrip(), [*acts[:-1], f"{acts[-1]} on{under} {resources[0]}", *resources[1:]])
        for operator, tests in (p.get("condition") or {}).items():
            for key, value in tests.items():
                lines += _wrapped(f"    when {key} {operator}", [f"`{v}`" for v in _as_list(value)])
    api = row.get("executionApi")
    if api:
        lines += _wrapped("- execution API: XComs, DAG runs, task instances of DAGs", [f"`{p}`" for p in api["dags"]])
        lines += _wrapped("  connections and variables", [f"`{p}`" for p in api["connectionsAndVariables"]])
        for kind, key in (("DAGs", "notDags"), ("keys", "notConnectionsAndVariables")):
            if api[key]:
                lines += _wrapped(f"  never {kind}", [f"`{p}`" for p in api[key]])
    calls = [f"`{d['to']}:{d['port']}`" + (" (udp)" if d["protocol"] == "udp" else "") for d in row["meshDestinations"]]
    lines += _wrapped("- may call in the mesh:", calls or ["nothing"])
    callers = [f"`{s['from']}`" for s in row["meshSources"] if s["protocol"] == "tcp"]
    if callers:
        lines += _wrapped("- may be called by:", sorted(set(callers)))
    if row.get("plaintextPorts"):
        ports = ", ".join(str(p) for p in row["plaintextPorts"])
        lines.append(f"- takes traffic outside mTLS on: {ports} (the mesh data planes' own telemetry)")
    exits = sorted({f"`{e['host']}:{e['port']}`" for e in row["egress"]})
    lines += _wrapped("- leaves the mesh to:", exits or ["nothing"])
    return [*lines, ""]


#: Longest line the Markdown gets: lists of callers or resources wrap onto indented continuation
#: lines (at 50 domains one Deny statement names 49 secret prefixes: 8,000+ characters unwrapped).
WIDTH = 160


def _resources(resources: list[str]) -> tuple[str, list[str]]:
    """(intro, items): resources as Markdown code; many that share an ARN prefix get the intro
    `` 100 resources under `prefix`:`` and are listed by what follows it."""
    plain = [f"`{r}`" for r in resources]
    if len(resources) <= 3:
        return "", plain
    # character-wise on purpose: the prefix is then cut back to the last ARN separator
    prefix = os.path.commonprefix(resources)  # noqa: RUF071
    prefix = prefix[: max(prefix.rfind("/"), prefix.rfind(":")) + 1]
    if len(prefix) < 20:
        return "", plain
    return f" {len(resources)} resources under `{prefix}`:", [f"`…{r.removeprefix(prefix)}`" for r in resources]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wrapped(head: str, items: list[str], tail: str = "") -> list[str]:
    """``head item, item, ...tail`` as lines of at most WIDTH characters (longer single items alone)."""
    indent = " " * (len(head) - len(head.lstrip()) + 2)
    lines, line = [], head
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else tail)
        if line != head and len(line) + 1 + len(piece) > WIDTH:
            lines.append(line)
            line = indent + piece
        else:
            line = f"{line} {piece}"
    return [*lines, line]
