"""The platform's requests, summed from what each stack really installs, fit its system node group with
headroom; and the smallest group that does is computed here, not guessed (issue 18)."""

from __future__ import annotations

import pytest

from components import sizing, versions
from components.settings import instance_types
from components.settings.capacity_rules import system_capacity_problem
from tests import stacks
from tests.schemas import releases

#: chart -> [(pod in components/sizing.py, path to its replicas, path to its resources)] in the values.
RECORDED = {
    versions.KARPENTER_CHART: [("karpenter", "replicas", "controller.resources")],
    "cert-manager": [
        ("cert-manager", "replicaCount", "resources"),
        ("cert-manager-webhook", "webhook.replicaCount", "webhook.resources"),
        ("cert-manager-cainjector", "cainjector.replicaCount", "cainjector.resources"),
    ],
    "kuma": [("kuma-control-plane", "controlPlane.replicas", "controlPlane.resources")],
    versions.NGINX_GATEWAY_FABRIC_CHART: [
        ("nginx-gateway-fabric", "nginxGateway.replicas", "nginxGateway.resources"),
        ("nginx-data-plane", "nginx.replicas", "nginx.container.resources"),
    ],
    "oauth2-proxy": [("oauth2-proxy", "replicaCount", "resources")],
    "airflow": [
        ("airflow-api-server", "apiServer.replicas", "apiServer.resources"),
        ("airflow-scheduler", "scheduler.replicas", "scheduler.resources"),
        ("airflow-dag-processor", "dagProcessor.replicas", "dagProcessor.resources"),
        ("airflow-triggerer", "triggerer.replicas", "triggerer.resources"),
        ("airflow-pgbouncer", "pgbouncer.replicas", "pgbouncer.resources"),
    ],
}


def _at(values: dict, path: str):
    for part in path.split("."):
        values = values[part]
    return values


def _quantity(value: str) -> int:
    """Millicores or MiB of a request the program sets (``250m``, ``512Mi``)."""
    return int(value.removesuffix("m").removesuffix("Mi"))


def recorded_pods(plan) -> dict[str, tuple[int, int, int]]:
    """pod -> (replicas, millicores, MiB) as the stack's Helm values request them."""
    out = {}
    for chart, pods in RECORDED.items():
        values = releases(plan)[chart]["inputs"]["values"]
        for pod, replicas, resources in pods:
            requests = _at(values, resources)["requests"]
            count = _at(values, replicas) if replicas else 1
            out[pod] = (count, _quantity(requests["cpu"]), _quantity(requests["memory"]))
    return out


def demand(settings) -> sizing.Demand:
    return sizing.system_demand(
        settings.environment,
        settings.mesh_provider,
        settings.mesh_control_plane_replicas,
        settings.edge_replicas,
        settings.airflow_api_server_replicas,
        settings.airflow_scheduler_replicas,
        git_sync=bool(settings.dags_git_repository),
    )


def test_every_platform_chart_requests_what_the_sizing_table_says(plan):
    """The table the settings check the node group against is what the charts really get."""
    settings = stacks.settings_for(plan.stack)
    expected = demand(settings).pods
    tier = sizing.tier(settings.environment)
    sidecar = sizing.mesh_sidecar(settings.mesh_provider, tier)
    for pod, (replicas, cpu, memory) in recorded_pods(plan).items():
        size, count = expected[pod]
        if pod in sizing.MESHED:  # the table adds the sidecar the mesh injects
            cpu, memory = cpu + sidecar.cpu_m, memory + sidecar.memory_mi
        for extra in sizing.SIDECARS.get(pod, ()):  # and the chart's own sidecars
            if extra != "airflow-git-sync" or settings.dags_git_repository:
                cpu, memory = cpu + sizing.SIZES[extra][tier].cpu_m, memory + sizing.SIZES[extra][tier].memory_mi
        assert (replicas, cpu, memory) == (count, size.cpu_m, size.memory_mi), (plan.stack, pod)


def smallest_group(settings, types: list[str]) -> int:
    specs = [instance_types.INSTANCE_TYPES[t] for t in types]
    for nodes in range(2, 20):
        if not system_capacity_problem(settings, specs, nodes):
            return nodes
    raise AssertionError(f"no group of {types} holds the platform")


@pytest.mark.parametrize(
    ("stack", "types", "smallest"),
    [
        ("dev", ["t4g.large"], 2),  # all of it on 2 nodes (dev does not drain)
        ("dev", ["t3.large"], 2),
        ("staging", ["m7i.large"], 6),  # on one node fewer than the group; each node adds a collector
        ("staging", ["m7i.xlarge"], 3),
        ("prod", ["m7i.xlarge"], 3),
        ("prod", ["m7i.large"], 6),
    ],
)
def test_smallest_system_group_is_computed_from_the_requests(stack, types, smallest):
    assert smallest_group(stacks.settings_for(stack), types) == smallest


def test_each_stack_runs_its_computed_smallest_group_with_headroom(plans):
    rows = []
    for stack in plans:
        settings = stacks.settings_for(stack)
        types = settings.system_node_instance_types
        need = smallest_group(settings, types)
        floor = max(need, len(settings.availability_zones) if settings.is_prod else 2)
        assert settings.system_node_min_size == floor, (stack, need, settings.system_node_min_size)
        small = min((instance_types.INSTANCE_TYPES[t] for t in types), key=lambda s: (s.vcpu, s.memory_gib))
        cpu, mem = demand(settings).total(floor)
        per_cpu, per_mem = sizing.allocatable(small.vcpu, small.memory_gib, small.max_pods)
        usable = floor if stack == "dev" else floor - 1
        rows.append((stack, cpu / (usable * per_cpu), mem / (usable * per_mem)))
    for stack, cpu_share, mem_share in rows:
        assert cpu_share <= 1 - sizing.HEADROOM and mem_share <= 1 - sizing.HEADROOM, (stack, cpu_share, mem_share)


def test_allocatable_follows_the_eks_ami_reservations():
    # m7i.large: 2 vCPU, 8 GiB, 29 pods: 70m CPU; 255 + 11 x 29 MiB reserved + 100 MiB eviction threshold
    assert sizing.allocatable(2, 8, 29) == (1930, 8192 - 674)
    assert sizing.allocatable(4, 16, 58) == (3920, 16384 - 993)
