"""Rules of the capacity keys: does the system node group hold the platform, are task capacity and
the sleep schedule well formed. Called from :mod:`components.settings.rules`."""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import TYPE_CHECKING

from components import sizing
from components.settings import instance_types

if TYPE_CHECKING:
    from components.settings.stack import Settings


def system_capacity_problem(s: Settings, specs: list[instance_types.InstanceType], nodes: int) -> str:
    """Why ``nodes`` of the smallest of ``specs`` cannot hold the platform's requests with headroom
    (``components.sizing``); empty when they can. Outside dev the platform must also fit on one node
    fewer, so a node can be drained or lost without evicting the control plane."""
    demand = sizing.system_demand(
        s.environment,
        s.mesh_provider,
        s.mesh_control_plane_replicas,
        s.edge_replicas,
        s.airflow_api_server_replicas,
        s.airflow_scheduler_replicas,
        git_sync=bool(s.dags_git_repository),
    )
    small = min(specs, key=lambda spec: (spec.vcpu, spec.memory_gib))
    per_cpu, per_mem = sizing.allocatable(small.vcpu, small.memory_gib, small.max_pods)
    usable = nodes if s.environment == "dev" else nodes - 1
    cpu, mem = demand.total(nodes)
    room_cpu, room_mem = usable * per_cpu * (1 - sizing.HEADROOM), usable * per_mem * (1 - sizing.HEADROOM)
    if cpu > room_cpu or mem > room_mem:
        return (
            f"the platform requests {cpu}m CPU / {mem} MiB; {usable} node(s) offer {room_cpu:.0f}m / "
            f"{room_mem:.0f} MiB after {sizing.HEADROOM:.0%} headroom"
        )
    return ""


def task_capacity_rules(s: Settings, add) -> None:
    if not s.task_node_capacity_types or len(set(s.task_node_capacity_types)) != len(s.task_node_capacity_types):
        add("taskNodeCapacityTypes", "list spot and/or on-demand, each once")
    if not s.task_node_architectures or len(set(s.task_node_architectures)) != len(s.task_node_architectures):
        add("taskNodeArchitectures", "list amd64 and/or arm64, each once")
    if not 2 <= s.task_node_cpu_limit <= 10000:
        add("taskNodeCpuLimit", f"{s.task_node_cpu_limit} is outside 2-10000 vCPU")
    if s.expected_task_vcpu_hours < 0 or s.expected_task_vcpu_hours > s.task_node_cpu_limit * 744:
        add(
            "expectedTaskVcpuHours",
            f"{s.expected_task_vcpu_hours} is outside 0-{s.task_node_cpu_limit * 744} "
            "(taskNodeCpuLimit for a whole month)",
        )
    if s.working_hours:
        if s.is_prod:
            add("workingHours", "prod runs around the clock; a sleep schedule is for dev and staging")
        if not WORKING_HOURS.match(s.working_hours):
            add("workingHours", f"{s.working_hours!r} is not like 'MON-FRI 07:00-19:00'")
        elif s.working_hours[-11:-6] >= s.working_hours[-5:]:
            add("workingHours", f"{s.working_hours!r}: the day must start before it ends")
        elif 0 < int(s.working_hours[-2:]) < 10:
            # The task-node drain runs in the ten minutes before the end as one cron hour
            # (components/capacity/sleep.py), which :01-:09 would split across two.
            add("workingHours", f"{s.working_hours!r}: end on the hour or at :10 or later")
    if s.working_hours_timezone not in _time_zones():
        add("workingHoursTimezone", f"{s.working_hours_timezone!r} is not an IANA time zone")


@functools.cache
def _time_zones() -> frozenset[str]:
    """IANA names from the tz database (a lookup, never a file path built from user input)."""
    return frozenset(zoneinfo.available_timezones())


#: ``DAYS HH:MM-HH:MM`` with EventBridge Scheduler's cron day names (a range or a list).
_DAY = "(MON|TUE|WED|THU|FRI|SAT|SUN)"
_HHMM = r"([01]\d|2[0-3]):[0-5]\d"
WORKING_HOURS = re.compile(rf"^{_DAY}([-,]{_DAY})* {_HHMM}-{_HHMM}$")
