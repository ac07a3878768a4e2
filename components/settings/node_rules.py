"""Rules on node groups and the database class, from EC2's instance-type data (:mod:`.instance_types`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from components.settings import instance_types as it

if TYPE_CHECKING:
    from components.settings.model import Settings

Add = Callable[[str, str], None]


def node_rules(s: Settings, add: Add) -> None:
    """Every type known to EC2 and usable by EKS, one architecture per group, room for the platform."""
    groups = {
        "systemNode": (s.system_node_instance_types, s.system_node_min_size, s.system_node_max_size),
        "workloadNode": (s.workload_node_instance_types, s.workload_node_min_size, s.workload_node_max_size),
    }
    for group, (types, min_size, max_size) in groups.items():
        key = f"{group}InstanceTypes"
        if not types:
            add(key, "at least one instance type is needed")
            continue
        usable = True
        for i, t in enumerate(types):
            spec = it.INSTANCE_TYPES.get(t)
            if spec is None:
                add(f"{key}[{i}]", f"{t!r} is not an EC2 instance type{it.suggest(t)}")
                usable = False
            elif spec.arch not in it.AMI_TYPES:
                add(f"{key}[{i}]", f"{t!r} ({spec.arch}) has no EKS AL2023 AMI (x86_64 or arm64 only)")
                usable = False
        if not usable:
            continue
        specs = [it.INSTANCE_TYPES[t] for t in types]
        if len({spec.arch for spec in specs}) > 1:
            add(key, "mixes x86_64 and arm64 types; a node group has one AMI architecture")
        for t, spec in zip(types, specs, strict=True):
            if spec.memory_gib < it.MIN_NODE_MEMORY_GIB or spec.max_pods < it.MIN_NODE_PODS:
                add(
                    key,
                    f"{t} ({spec.memory_gib:g} GiB, {spec.max_pods} pods) cannot hold the platform; "
                    f"need at least {it.MIN_NODE_MEMORY_GIB} GiB and {it.MIN_NODE_PODS} pods per node",
                )
        if min_size < 0 or max_size < 1 or min_size > max_size:
            add(f"{group}MinSize", f"min {min_size} / max {max_size}: need 0 <= min <= max and max >= 1")
        if group == "systemNode":
            _system_capacity(s, types, specs, min_size, add)
    if s.workload_node_min_size < 1:
        add(
            "workloadNodeMinSize",
            f"{s.workload_node_min_size}: at least 1 (no cluster autoscaler adds nodes from zero)",
        )
    if s.workload_capacity_type == "SPOT" and len(s.workload_node_instance_types) < 2:
        add("workloadNodeInstanceTypes", "SPOT needs at least two instance types to survive capacity reclaims")
    if not 20 <= s.node_disk_size_gib <= 1000:
        add("nodeDiskSizeGib", f"{s.node_disk_size_gib} is outside 20-1000 GiB")


def _system_capacity(s: Settings, types: list[str], specs: list[it.InstanceType], min_size: int, add: Add) -> None:
    smallest_mem = min(spec.memory_gib for spec in specs) * min_size
    smallest_cpu = min(spec.vcpu for spec in specs) * min_size
    if min_size < 2:
        add("systemNodeMinSize", f"{min_size}: the system group needs at least 2 nodes to drain one")
    elif smallest_mem < it.MIN_SYSTEM_MEMORY_GIB or smallest_cpu < it.MIN_SYSTEM_VCPU:
        add(
            "systemNodeMinSize",
            f"{min_size} x {types} gives {smallest_cpu} vCPU / {smallest_mem:g} GiB; the platform needs "
            f"{it.MIN_SYSTEM_VCPU} vCPU / {it.MIN_SYSTEM_MEMORY_GIB} GiB",
        )
    if s.is_prod and min_size < len(s.availability_zones):
        add("systemNodeMinSize", f"{min_size}: prod needs one system node per AZ ({len(s.availability_zones)})")


def database_rules(s: Settings, add: Add) -> None:
    problem = it.rds_instance_class_problem(s.database_instance_class)
    if problem:
        add("databaseInstanceClass", f"{s.database_instance_class!r} is {problem}")
