"""The system node group is sized by the pods the charts really render, for every mesh provider and
environment: components/sizing.py's list of long-running pods, their replicas and their requests
(sidecars, and the mesh's injected containers, included) equal the rendered Deployments, StatefulSets
and DaemonSets (proof/demand.py), and those fit the group as planned, with headroom, on one node fewer
outside dev. A chart bump that adds a pod or changes a request fails here (issue 16)."""

from __future__ import annotations

import functools

import pytest

from components import sizing
from components.settings import instance_types
from proof import demand, objects
from tests import stacks
from tests.components.capacity.test_sizing import demand as planned_demand
from tests.components.mesh import mesh_plans as mp

CASES = [(stack, provider) for stack in stacks.NAMES for provider in mp.PROVIDERS]

#: components/sizing.py's pod -> the rendered object running it.
RENDERED = {
    "karpenter": "Deployment karpenter/karpenter",
    "cert-manager": "Deployment cert-manager/cert-manager",
    "cert-manager-webhook": "Deployment cert-manager/cert-manager-webhook",
    "cert-manager-cainjector": "Deployment cert-manager/cert-manager-cainjector",
    "nginx-gateway-fabric": "Deployment edge/nginx-gateway-fabric",
    "oauth2-proxy": "Deployment edge/oauth2-proxy",
    "airflow-api-server": "Deployment airflow/airflow-api-server",
    "airflow-scheduler": "Deployment airflow/airflow-scheduler",
    "airflow-dag-processor": "Deployment airflow/airflow-dag-processor",
    "airflow-triggerer": "Deployment airflow/airflow-triggerer",
    "airflow-pgbouncer": "Deployment airflow/airflow-pgbouncer",
    "kuma-control-plane": "Deployment kuma-system/kuma-control-plane",
    "istiod": "Deployment istio-system/istiod",
    "linkerd-destination": "Deployment linkerd/linkerd-destination",
    "linkerd-identity": "Deployment linkerd/linkerd-identity",
    "linkerd-proxy-injector": "Deployment linkerd/linkerd-proxy-injector",
    "consul-server": "StatefulSet consul/consul-server",
    "consul-connect-injector": "Deployment consul/consul-connect-injector",
    "consul-webhook-cert-manager": "Deployment consul/consul-webhook-cert-manager",
    "consul-terminating-gateway": "Deployment consul/consul-terminating-gateway",
    # per node
    "otel-collector": "DaemonSet observability/otel-collector-agent",
    "kuma-cni": "DaemonSet kube-system/kuma-cni-node",
    "istio-cni": "DaemonSet istio-system/istio-cni-node",
    "ztunnel": "DaemonSet istio-system/ztunnel",
    "linkerd-cni": "DaemonSet linkerd-cni/linkerd-cni",
    "consul-cni": "DaemonSet consul/consul-cni",
    "consul-cni-untaint": "DaemonSet consul/consul-cni-untaint",
}
#: Counted by sizing but never rendered: EKS add-ons (EKS installs them from its own manifests), and
#: NGF's data plane, which its control plane creates at run time (its requests are checked in the
#: chart values, test_sizing.py).
NOT_RENDERED = {
    "coredns",
    "ebs-csi-controller",
    "aws-node",
    "kube-proxy",
    "eks-pod-identity-agent",
    "ebs-csi-node",
    "nginx-data-plane",
}


def _settings(stack: str, provider: str):
    return stacks.settings_for(stack, {"meshProvider": provider, **mp.PROVIDER_CONFIG.get(provider, {})})


@pytest.fixture(scope="module")
def rendered(proof):
    """(stack, provider) -> the long-running pods of its plan, rendered with the real charts."""

    @functools.cache
    def render(stack: str, provider: str) -> tuple[demand.Workload, ...]:
        plan = mp.plan_for(stack, provider)
        built = objects.build(f"{stack}-{provider}", plan.resources, proof.library, proof.upstream)
        return tuple(demand.system_workloads(built))

    return render


@pytest.mark.parametrize(("stack", "provider"), CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_sizing_counts_every_long_running_pod_the_charts_render(rendered, stack, provider):
    need = planned_demand(_settings(stack, provider))
    unknown = sorted({*need.pods, *need.per_node} - RENDERED.keys() - NOT_RENDERED)
    assert not unknown, f"sizing pods with no rendered object named in RENDERED: {unknown}"
    per_node = [(pod, None, size) for pod, size in need.per_node.items()]
    counted = [*((pod, n, size) for pod, (size, n) in need.pods.items()), *per_node]
    expected = {RENDERED[pod]: (n, size.cpu_m, size.memory_mi) for pod, n, size in counted if pod in RENDERED}
    actual = {w.ref: (w.replicas, w.cpu_m, w.memory_mi) for w in rendered(stack, provider)}
    # (replicas or None per node, millicores, MiB) per pod, both ways, so a difference names its pod
    assert {ref: actual.get(ref) for ref in expected} == expected
    assert sorted(actual.keys() - expected.keys()) == [], "rendered pods that sizing does not count"


@pytest.mark.parametrize(("stack", "provider"), CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_rendered_pods_fit_the_system_group_as_planned(rendered, stack, provider):
    """Summed from the renders (plus what EKS and NGF add, from sizing): the group's smallest type at its
    minimum size, less a node outside dev (drained or lost), keeps sizing's headroom."""
    settings = _settings(stack, provider)
    nodes = settings.system_node_min_size
    need = planned_demand(settings)
    cpu = sum(w.cpu_m * (w.replicas if w.replicas is not None else nodes) for w in rendered(stack, provider))
    mem = sum(w.memory_mi * (w.replicas if w.replicas is not None else nodes) for w in rendered(stack, provider))
    for pod in NOT_RENDERED:
        if pod in need.pods:
            size, n = need.pods[pod]
        else:
            size, n = need.per_node[pod], nodes
        cpu, mem = cpu + size.cpu_m * n, mem + size.memory_mi * n
    spec = min(
        (instance_types.INSTANCE_TYPES[t] for t in settings.system_node_instance_types),
        key=lambda s: (s.vcpu, s.memory_gib),
    )
    per_cpu, per_mem = sizing.allocatable(spec.vcpu, spec.memory_gib, spec.max_pods)
    usable = nodes if settings.environment == "dev" else nodes - 1
    room = 1 - sizing.HEADROOM
    share = (cpu / (usable * per_cpu), mem / (usable * per_mem))
    assert max(share) <= room, f"{stack}/{provider}: {cpu}m / {mem} MiB on {usable} node(s): {share}"


@pytest.mark.parametrize(("stack", "provider"), CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_pods_that_need_a_node_each_are_the_ones_sizing_counts(rendered, stack, provider):
    """Replicas with required pod anti-affinity by host (Karpenter's, Consul's servers, Linkerd's
    controllers in HA) need a system node each: sizing.nodes_needed, which the settings hold
    systemNodeMinSize to, is the largest such replica count in the renders."""
    settings = _settings(stack, provider)
    spread = max((w.replicas or 1 for w in rendered(stack, provider) if w.one_per_node), default=1)
    needed, _ = sizing.nodes_needed(settings.environment, provider, settings.mesh_control_plane_replicas)
    assert spread == needed
    assert needed <= settings.system_node_min_size
