"""The access matrix as a picture: a Mermaid flowchart GitHub renders inside access-matrix.md.

Workloads are boxes grouped by kind; a solid arrow is a mesh call the access model allows (labelled
with the port), a dotted arrow leaves the mesh. Exits are drawn per purpose (``AWS APIs through
IRSA``, ``git-sync of the DAG repository``...), not per host, so 50 domains stay one readable picture:
about 4 arrows per domain, far under Mermaid's default limit of 500 edges (``maxEdges``,
mermaid-js/mermaid ``packages/mermaid/src/config.type.ts``).
"""

from __future__ import annotations

import re
from typing import Any

GROUPS = (("domain", "Data domains"), ("airflow", "Airflow"), ("edge", "Edge"), ("platform", "Platform"))


def node_id(name: str) -> str:
    """A Mermaid node id for ``name`` (letters, digits and ``_`` only)."""
    return re.sub(r"\W", "_", name)


def _label(text: str) -> str:
    return text.replace('"', "'")


def mermaid(matrix: dict[str, Any]) -> str:
    """A ```mermaid fenced flowchart of ``matrix`` (plan/access_matrix.py ``build``)."""
    rows = matrix["workloads"]
    lines = ["```mermaid", "flowchart LR"]
    for kind, title in GROUPS:
        members = [r for r in rows if r["kind"] == kind]
        if not members:
            continue
        lines.append(f'  subgraph {kind}_group["{title}"]')
        lines += [f'    {node_id(r["workload"])}["{_label(r["workload"])}"]' for r in members]
        lines.append("  end")
    exits: dict[str, set[str]] = {}
    edges: list[str] = []
    for r in rows:
        source = node_id(r["workload"])
        for d in r["meshDestinations"]:
            port = f"{d['port']}/udp" if d["protocol"] == "udp" else str(d["port"])
            edges.append(f"  {source} -->|{port}| {node_id(d['to'])}")
        for purpose in sorted({e["purpose"] for e in r["egress"]}):
            exits.setdefault(purpose, set()).add(source)
    for i, (purpose, sources) in enumerate(sorted(exits.items())):
        lines.append(f'  exit{i}(["{_label(purpose)}"])')
        edges += [f"  {s} -.-> exit{i}" for s in sorted(sources)]
    return "\n".join([*lines, *edges, "```"]) + "\n"
