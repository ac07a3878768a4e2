"""Rules on node groups and the database class, from EC2's instance-type data (:mod:`.instance_types`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from components import sizing
from components.settings import instance_types as it
from components.settings.capacity_rules import system_capacity_problem, task_capacity_rules

if TYPE_CHECKING:
    from components.settings.stack import Settings

Add = Callable[[str, str], None]


def node_rules(s: Settings, add: Add) -> None:
    """Every type known to EC2 and usable by EKS, one architecture per group, room for the platform."""
    groups = {
        "systemNode": (s.system_node_instance_types, s.system_node_min_size, s.system_node_max_size),
        "workloadNode": (s.workload_node_instance_types, s.workload_node_min_size, s.workload_node_max_size),
    }
    # 0/0: no workload node group, Karpenter gives task pods their nodes; its types are still checked.
    no_workload_group = s.workload_node_max_size == 0 and s.workload_node_min_size == 0
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
        if group == "workloadNode" and no_workload_group:
            continue
        if min_size < 0 or max_size < 1 or min_size > max_size:
            add(f"{group}MinSize", f"min {min_size} / max {max_size}: need 0 <= min <= max and max >= 1")
        if group == "systemNode":
            _system_capacity(s, types, specs, min_size, add)
    if not no_workload_group and s.workload_node_min_size < 1:
        add(
            "workloadNodeMinSize",
            f"{s.workload_node_min_size}: at least 1 (nothing scales a node group up from zero; "
            "set min and max to 0 to let Karpenter give task pods their nodes)",
        )
    if not no_workload_group and s.workload_capacity_type == "SPOT" and len(s.workload_node_instance_types) < 2:
        add("workloadNodeInstanceTypes", "SPOT needs at least two instance types to survive capacity reclaims")
    if s.system_node_capacity_type == "SPOT":
        if s.is_prod:
            add("systemNodeCapacityType", "'SPOT' is not allowed in prod (allowed: ON_DEMAND)")
        if len(s.system_node_instance_types) < 2:
            add("systemNodeInstanceTypes", "SPOT needs at least two instance types to survive capacity reclaims")
    task_capacity_rules(s, add)
    if not 20 <= s.node_disk_size_gib <= 1000:
        add("nodeDiskSizeGib", f"{s.node_disk_size_gib} is outside 20-1000 GiB")


def _system_capacity(s: Settings, types: list[str], specs: list[it.InstanceType], min_size: int, add: Add) -> None:
    if min_size < 2:
        add("systemNodeMinSize", f"{min_size}: the system group needs at least 2 nodes to drain one")
    else:
        # Computed from the platform's requests (components/sizing.py), not a fixed figure.
        problem = system_capacity_problem(s, specs, min_size)
        if problem:
            add("systemNodeMinSize", f"{min_size} x {types}: {problem}")
    needed, pods = sizing.nodes_needed(s.environment, s.mesh_provider, s.mesh_control_plane_replicas)
    if min_size < needed:
        add(
            "systemNodeMinSize",
            f"{min_size}: {pods} need a node each (their chart requires pod anti-affinity by host), "
            f"so at least {needed}",
        )
    if s.is_prod and min_size < len(s.availability_zones):
        add("systemNodeMinSize", f"{min_size}: prod needs one system node per AZ ({len(s.availability_zones)})")


def database_rules(s: Settings, add: Add) -> None:
    problem = it.rds_instance_class_problem(s.database_instance_class)
    if problem:
        add("databaseInstanceClass", f"{s.database_instance_class!r} is {problem}")
