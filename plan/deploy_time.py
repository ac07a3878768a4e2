"""Expected ``pulumi up`` wall time from an empty stack: the critical path through the recorded graph.

Each custom resource takes its typical creation time (``plan/deploy_times.yaml``, with sources) and
starts when everything it waits for has finished: its dependencies and its provider. A component is
done when its children are, so depending on a component waits for all of them. Pulumi runs
everything else in parallel, so the longest chain is the wall time. ``make plan STACK`` writes the
result to ``build/plan/STACK/deploy-time.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from plan.harness import load_yaml

TIMES = Path(__file__).with_name("deploy_times.yaml")


class CycleError(Exception):
    """The graph has a cycle: Pulumi would wait forever."""


@cache
def times_table(path: Path = TIMES) -> dict[str, Any]:
    return load_yaml(path)


def duration(r: Mapping[str, Any], table: Mapping[str, Any] | None = None) -> float:
    """Typical seconds to create ``r`` (a recorded resource)."""
    table = table or times_table()
    special = table["special"]
    t = r["type"]
    inputs = r.get("inputs") or {}
    if not r.get("custom", True) or t.startswith(tuple(special["zero_cost_prefixes"])):
        return 0.0
    if t == "aws:rds/instance:Instance" and inputs.get("multiAz") is True:
        return float(special["rds_multi_az_seconds"])
    if t == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Gateway":
        return float(special["gateway_endpoint_seconds"])
    if t == "kubernetes:core/v1:Service" and (inputs.get("spec") or {}).get("type") == "LoadBalancer":
        return float(special["load_balancer_service_seconds"])
    if t == "kubernetes:helm.sh/v3:Release" and inputs.get("chart") in special["chart_seconds"]:
        return float(special["chart_seconds"][inputs["chart"]])
    entry = table["types"].get(t)
    return float(entry["seconds"] if entry else table["default_seconds"])


@dataclass(frozen=True)
class Step:
    name: str
    type: str
    seconds: float
    finish: float


@dataclass(frozen=True)
class DeployTime:
    stack: str
    path: list[Step]  # the critical path, first to last (custom resources only)
    finish: dict[str, float]  # every resource's finish time from empty
    overhead: float
    as_of: str

    @property
    def critical_seconds(self) -> float:
        return self.path[-1].finish if self.path else 0.0

    @property
    def wall_seconds(self) -> float:
        return self.critical_seconds + self.overhead


def critical_path(
    stack: str, resources: Sequence[Mapping[str, Any]], table: Mapping[str, Any] | None = None
) -> DeployTime:
    table = table or times_table()
    by_name = {r["name"]: r for r in resources}
    children: dict[str, list[str]] = {}
    for r in resources:
        if r.get("parent"):
            children.setdefault(r["parent"], []).append(r["name"])

    def waits_for(r: Mapping[str, Any]) -> list[str]:
        names = [*r.get("dependsOn", []), *([r["provider"]] if r.get("provider") else [])]
        if not r.get("custom", True):
            names += children.get(r["name"], [])
        return [n for n in names if n in by_name and n != r["name"]]

    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    visiting: set[str] = set()

    def visit(name: str) -> float:
        if name in finish:
            return finish[name]
        if name in visiting:
            raise CycleError(f"dependency cycle through {name}")
        visiting.add(name)
        r = by_name[name]
        start, before = 0.0, None
        for dep in waits_for(r):
            done = visit(dep)
            if done > start or (before is None and done == start):
                start, before = done, dep
        visiting.discard(name)
        finish[name] = start + duration(r, table)
        via[name] = before if start > 0 else None
        return finish[name]

    for name in sorted(by_name):
        visit(name)
    if not finish:
        return DeployTime(stack, [], {}, float(table["engine_overhead_seconds"]), str(table["as_of"]))
    last = max(sorted(finish), key=lambda n: finish[n])
    chain: list[str] = []
    node: str | None = last
    while node is not None:
        chain.append(node)
        node = via.get(node)
    path = [
        Step(n, by_name[n]["type"], duration(by_name[n], table), finish[n])
        for n in reversed(chain)
        if duration(by_name[n], table) > 0
    ]
    return DeployTime(stack, path, finish, float(table["engine_overhead_seconds"]), str(table["as_of"]))


def clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def render(d: DeployTime, resources: Sequence[Mapping[str, Any]]) -> str:
    """deploy-time.md: the expected wall time, the path that sets it, and slow resources off the path."""
    table = times_table()
    on_path = {s.name for s in d.path}
    slow = sorted(
        (r for r in resources if r["name"] not in on_path and duration(r, table) >= 60),
        key=lambda r: (-d.finish[r["name"]], r["name"]),
    )
    out = [
        f"# Expected `pulumi up` from empty: stack `{d.stack}`",
        "",
        f"**about {round(d.wall_seconds / 60)} minutes** ({clock(d.wall_seconds)}): the critical path below "
        f"({clock(d.critical_seconds)}) plus {int(d.overhead)} s of engine start-up. Typical creation times of "
        f"{d.as_of} from `plan/deploy_times.yaml` (each with its source); everything off the path runs in parallel.",
        "",
        "| # | resource | type | typical | done at |",
        "|---:|---|---|---:|---:|",
    ]
    for i, s in enumerate(d.path, 1):
        out.append(f"| {i} | `{s.name}` | `{s.type}` | {clock(s.seconds)} | {clock(s.finish)} |")
    if slow:
        out += ["", "Slow resources off the critical path (they finish in its shadow):", ""]
        out += ["| resource | type | typical | done at |", "|---|---|---:|---:|"]
        for r in slow:
            out.append(
                f"| `{r['name']}` | `{r['type']}` | {clock(duration(r, table))} | {clock(d.finish[r['name']])} |"
            )
    out += ["", "Sources:", *[f"- {k}: {v}" for k, v in table["sources"].items()], ""]
    return "\n".join(out)


def summary(d: DeployTime) -> str:
    """One line for `make plan`'s output."""
    minutes = round(d.wall_seconds / 60)
    return f"  expected `pulumi up` from empty: ~{minutes} min ({len(d.path)} resources on the critical path)"
