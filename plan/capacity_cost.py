"""The cost of what scales: Karpenter task capacity, the sleep schedule's saving, and MWAA beside it.

- **Task capacity** is priced from each NodePool in the plan: its CPU limit (the most it can cost)
  and the expected task load (``airflow-mesh/expected-task-vcpu-hours`` on the pool, from the
  ``expectedTaskVcpuHours`` setting) divided by the packing assumption. The price of a vCPU-hour is
  the cheapest per vCPU among the priced instance types the pool's requirements admit (Karpenter
  launches the cheapest fitting type), less the Spot discount for a Spot pool.
- **Sleep**: with a working-hours schedule in the plan, the managed node groups' instances and
  volumes and the RDS instance-hours are billed only while awake; storage and the rest run on.
- **MWAA**: the smallest priced environment class, always on, as a yardstick.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from components.capacity.sleep import awake_hours_per_week
from components.settings.instance_types import INSTANCE_TYPES

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
SCHEDULE = "aws:scheduler/schedule:Schedule"
from components.capacity.nodes import EXPECTED_LOAD  # noqa: E402

_ARCH = {"amd64": "x86_64", "arm64": "arm64"}
_WORKING_HOURS = re.compile(r"^(\S+ \d\d:\d\d-\d\d:\d\d) \(")


def _req(pool: Mapping[str, Any], key: str) -> list[str]:
    reqs = (((pool.get("inputs") or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get("requirements")
    for r in reqs or []:
        if r["key"] == key:
            return list(r.get("values") or [])
    return []


def vcpu_hour_price(pool: Mapping[str, Any], p: Mapping[str, Any], spot_discount: float) -> tuple[str, float] | None:
    """(instance type, $ per vCPU-hour) of the cheapest priced type the pool admits; None if none is priced."""
    categories = set(_req(pool, "karpenter.k8s.aws/instance-category"))
    archs = {_ARCH[a] for a in _req(pool, "kubernetes.io/arch")}
    generation = int((_req(pool, "karpenter.k8s.aws/instance-generation") or ["0"])[0])
    cpus = {int(c) for c in _req(pool, "karpenter.k8s.aws/instance-cpu")}
    spot = _req(pool, "karpenter.sh/capacity-type") == ["spot"]
    best: tuple[str, float] | None = None
    # .get: a region without prices (cost._NoPrices) leaves task capacity unpriced, not an error.
    for name, price in (p.get("ec2_instance_hour") or {}).items():
        spec = INSTANCE_TYPES.get(name)
        family = name.split(".")[0]
        gen = int(re.sub(r"\D", "", family) or 0)
        if spec is None or not isinstance(price, int | float) or spec.arch not in archs:
            continue
        if family[0] not in categories or gen <= generation or (cpus and spec.vcpu not in cpus):
            continue
        per_vcpu = price * (1 - spot_discount if spot else 1) / spec.vcpu
        if best is None or per_vcpu < best[1]:
            best = (name, per_vcpu)
    return best


def karpenter_lines(
    resources: Sequence[Mapping[str, Any]],
    p: Mapping[str, Any],
    a: Mapping[str, Any],
    hours: int,
    add: Callable[..., None],
) -> None:
    """One line per NodePool: expected cost from the task load, the limit's cost as its maximum."""
    for pool in (r for r in resources if r["type"] == NODE_POOL):
        spec = (pool.get("inputs") or {}).get("spec") or {}
        limit = int(str((spec.get("limits") or {}).get("cpu", "0")))
        load = int(((pool["inputs"].get("metadata") or {}).get("annotations") or {}).get(EXPECTED_LOAD, "0"))
        capacity = _req(pool, "karpenter.sh/capacity-type")[0]
        found = vcpu_hour_price(pool, p, a["spot_discount"])
        if found is None:
            add(
                pool,
                "compute",
                f"Karpenter {capacity} task nodes (limit {limit} vCPU): no price for a type it fits",
                None,
            )
            continue
        name, per_vcpu = found
        node_vcpus = INSTANCE_TYPES[name].vcpu
        disk = _root_gib(resources)
        node_hours = load / a["task_node_packing"] / node_vcpus
        expected = node_hours * (node_vcpus * per_vcpu + disk * p["ebs_gp3_gb_month"] / hours)
        at_max = limit * hours * per_vcpu + limit / node_vcpus * disk * p["ebs_gp3_gb_month"]
        what = (
            f"Karpenter {capacity} task nodes from zero: {load} task vCPU-h expected (like {name} at "
            f"${per_vcpu:.4f}/vCPU-h), limit {limit} vCPU"
        )
        add(pool, "compute", what, expected, round(at_max, 2))


def _root_gib(resources: Sequence[Mapping[str, Any]]) -> int:
    for r in resources:
        if r["type"] == "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass":
            for m in ((r.get("inputs") or {}).get("spec") or {}).get("blockDeviceMappings") or []:
                return int(str(m["ebs"]["volumeSize"]).removesuffix("Gi"))
    return 20


def working_hours(resources: Sequence[Mapping[str, Any]]) -> str | None:
    """The stack's working hours (``MON-FRI 07:00-19:00``) if it has a sleep schedule."""
    for r in resources:
        if r["type"] == SCHEDULE:
            found = _WORKING_HOURS.match(str((r.get("inputs") or {}).get("description", "")))
            if found:
                return found.group(1)
    return None


def awake_share(resources: Sequence[Mapping[str, Any]]) -> float:
    """Share of the month the stack is awake: 1.0 without a schedule."""
    hours = working_hours(resources)
    return 1.0 if hours is None else awake_hours_per_week(hours) / (24 * 7)


def sleeping_saving(lines: Sequence[Any], share: float) -> float:
    """What sleeping saves: node groups' whole cost (instances and their volumes go) and RDS
    instance-hours (its storage stays), billed only for ``share`` of the month."""
    saving = 0.0
    for line in lines:
        if line.monthly is None:
            continue
        if line.kind == "node-group":
            saving += line.monthly * (1 - share)
        elif line.kind == "database":
            saving += line.sleepable * (1 - share)
    return round(saving, 2)


def mwaa(p: Mapping[str, Any], hours: int) -> tuple[str, float] | None:
    """(environment class, $/month) of the cheapest priced MWAA class; None if none is priced."""
    priced = {k: v for k, v in (p.get("mwaa_environment_hour") or {}).items() if isinstance(v, int | float)}
    if not priced:
        return None
    name = min(priced, key=priced.__getitem__)
    return name, round(priced[name] * hours, 2)
