"""What every platform pod asks of the system nodes, per sizing tier, and whether a node group holds it.

Requests are set deliberately (the charts' defaults are mostly empty, which lets a scheduler pack a
node until it runs out of memory). ``small`` is dev: one replica where the settings allow it, requests
near the measured idle use. ``standard`` is staging and prod. Memory limits equal or exceed requests;
no CPU limits (throttling a control plane hurts more than sharing idle CPU).

The numbers of EKS add-ons are their published manifests' (aws/amazon-vpc-cni-k8s
``config/master/aws-k8s-cni.yaml``: aws-node 25m; kube-proxy 100m; CoreDNS 100m/70Mi;
kubernetes-sigs/aws-ebs-csi-driver chart: 10m/40Mi per container). Kuma's sidecar and CNI are its
chart defaults (kuma 2.14.3 values.yaml ``kumactl``/``cni.resources``, ``dataPlane`` resources).

Bottom of the stack (plain data): the settings check a node group against :func:`system_demand`, the
layers read their chart resources from :func:`helm_resources`, tests sum them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Tier = Literal["small", "standard"]


@dataclass(frozen=True)
class Size:
    """Requests (millicores, MiB) and the memory limit (MiB) of one pod, sidecars excluded."""

    cpu_m: int
    memory_mi: int
    memory_limit_mi: int

    def helm(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": f"{self.cpu_m}m", "memory": f"{self.memory_mi}Mi"},
            "limits": {"memory": f"{self.memory_limit_mi}Mi"},
        }


def _s(cpu_m: int, memory_mi: int, limit_mi: int | None = None) -> Size:
    return Size(cpu_m, memory_mi, limit_mi or memory_mi * 2)


#: Per tier: pod name -> size. Replicas come from the settings where they have a key, else REPLICAS.
SIZES: dict[str, dict[Tier, Size]] = {
    # capacity
    "karpenter": {"small": _s(100, 256, 512), "standard": _s(250, 512, 1024)},
    # certificates
    "cert-manager": {"small": _s(20, 96), "standard": _s(50, 128)},
    "cert-manager-webhook": {"small": _s(10, 32), "standard": _s(20, 64)},
    "cert-manager-cainjector": {"small": _s(10, 96), "standard": _s(20, 128)},
    # mesh control plane
    "kuma-control-plane": {"small": _s(150, 256, 1024), "standard": _s(250, 512, 2048)},
    "istiod": {"small": _s(150, 256, 1024), "standard": _s(250, 1024, 2048)},
    # edge
    "nginx-gateway-fabric": {"small": _s(25, 96), "standard": _s(50, 128)},
    "nginx-data-plane": {"small": _s(25, 64), "standard": _s(50, 128)},
    # oauth2-proxy's own (components/edge/oauth2_proxy.py), the same in both tiers
    "oauth2-proxy": {"small": _s(50, 64, 256), "standard": _s(50, 64, 256)},
    # airflow (3.1: the api-server runs uvicorn workers; the scheduler forks per executor event loop)
    "airflow-api-server": {"small": _s(200, 768, 1536), "standard": _s(300, 1536, 3072)},
    "airflow-scheduler": {"small": _s(200, 512, 1024), "standard": _s(300, 1024, 2048)},
    "airflow-dag-processor": {"small": _s(100, 512, 1024), "standard": _s(200, 1024, 2048)},
    "airflow-triggerer": {"small": _s(50, 384, 768), "standard": _s(100, 768, 1536)},
    "airflow-pgbouncer": {"small": _s(25, 32, 128), "standard": _s(25, 64, 256)},
    # Airflow's sidecars (chart 1.19.0 gives them no resources): git-sync (dag-processor, triggerer,
    # Celery workers, and the task pods' init container), the log groomers, PgBouncer's exporter.
    "airflow-git-sync": {"small": _s(10, 64, 256), "standard": _s(20, 96, 256)},
    "airflow-log-groomer": {"small": _s(10, 32, 128), "standard": _s(10, 32, 128)},
    "airflow-pgbouncer-exporter": {"small": _s(10, 16, 64), "standard": _s(10, 32, 64)},
    # Run-once and optional Airflow pods: `airflow db migrate` (imports all of Airflow), Celery's
    # worker (16 task processes at the chart's concurrency) and its Redis broker.
    "airflow-migrations": {"small": _s(100, 512, 1024), "standard": _s(200, 768, 1536)},
    "airflow-worker": {"small": _s(500, 1536, 3072), "standard": _s(1000, 3072, 6144)},
    "airflow-redis": {"small": _s(25, 64, 256), "standard": _s(50, 128, 512)},
    # cert-manager's post-install check (one API call, then exits).
    "cert-manager-startupapicheck": {"small": _s(10, 32, 64), "standard": _s(10, 32, 64)},
    # observability
    "otel-collector": {"small": _s(50, 192, 512), "standard": _s(100, 512, 1024)},
    # EKS add-ons (their own manifests; not set by this program)
    "coredns": {"small": _s(100, 70, 170), "standard": _s(100, 70, 170)},
    "ebs-csi-controller": {"small": _s(60, 240), "standard": _s(60, 240)},
}
#: Per node (DaemonSets): EKS add-ons and, by mesh, its node agent.
DAEMONSETS: dict[str, Size] = {
    "aws-node": _s(25, 64),
    "kube-proxy": _s(100, 64),
    "eks-pod-identity-agent": _s(25, 32),
    "ebs-csi-node": _s(30, 120),
}
MESH_DAEMONSETS: dict[str, dict[str, Size]] = {
    "kuma": {"kuma-cni": _s(100, 100)},
    "istio": {"istio-cni": _s(100, 100), "ztunnel": _s(200, 512, 1024)},
    # The untaint agent beside consul-cni (components/mesh/consul/untaint.py): a bash loop and, a few
    # times per node's life, one kubectl call (a Go binary: its limit leaves room for that).
    "consul": {"consul-cni-untaint": _s(5, 32, 128)},
}
#: Per meshed pod: Kuma's sidecar (kuma-dp + Envoy); Istio ambient has none.
MESH_SIDECAR: dict[str, Size] = {"kuma": _s(50, 64, 512), "istio": _s(0, 0, 0)}
#: Replicas of pods whose count no setting gives: (small, standard). The Airflow components below the
#: api-server and scheduler have two replicas in prod only (components/airflow/values.py ``_ha``).
REPLICAS: dict[str, tuple[int, int]] = {
    "karpenter": (1, 2),
    "cert-manager": (1, 2),
    "cert-manager-webhook": (1, 2),
    "cert-manager-cainjector": (1, 2),
    "otel-collector": (1, 2),
    "coredns": (2, 2),
    "ebs-csi-controller": (2, 2),
}
#: Sidecars each pod carries on the system nodes, counted with it in :func:`system_demand` (git-sync
#: only when DAGs come from git; counted always, the few MiB are headroom otherwise).
SIDECARS: dict[str, tuple[str, ...]] = {
    "airflow-scheduler": ("airflow-log-groomer",),
    "airflow-dag-processor": ("airflow-log-groomer", "airflow-git-sync"),
    "airflow-triggerer": ("airflow-log-groomer", "airflow-git-sync"),
    "airflow-pgbouncer": ("airflow-pgbouncer-exporter",),
}
MESHED = {
    "nginx-data-plane",
    "oauth2-proxy",
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-pgbouncer",
}
#: A task pod's default requests (the pod template's ``base`` container); the cost report prices task
#: load in vCPU-hours of these.
TASK_POD = _s(500, 1024, 2048)
#: Share of a node group's allocatable capacity the platform may plan for: the rest is room for a
#: rolling update's surge pod, a Job (database migration) and growth before anyone re-sizes.
HEADROOM = 0.2


def tier(environment: str) -> Tier:
    return "small" if environment == "dev" else "standard"


def replicas(pod: str, t: Tier) -> int:
    small, standard = REPLICAS[pod]
    return small if t == "small" else standard


def helm_resources(pod: str, t: Tier) -> dict[str, dict[str, str]]:
    """``resources`` for a chart value: requests and the memory limit of ``pod`` in tier ``t``."""
    return SIZES[pod][t].helm()


@dataclass(frozen=True)
class Demand:
    """What the platform asks of the system node group: per pod (name -> (size, replicas)), and per node."""

    pods: dict[str, tuple[Size, int]]
    per_node: dict[str, Size]

    def total(self, nodes: int) -> tuple[int, int]:
        """(millicores, MiB) requested on ``nodes`` nodes."""
        cpu = sum(s.cpu_m * n for s, n in self.pods.values()) + nodes * sum(s.cpu_m for s in self.per_node.values())
        mem = sum(s.memory_mi * n for s, n in self.pods.values()) + nodes * sum(
            s.memory_mi for s in self.per_node.values()
        )
        return cpu, mem


def system_demand(
    environment: str,
    mesh_provider: str,
    mesh_replicas: int,
    edge_replicas: int,
    api_server_replicas: int,
    scheduler_replicas: int,
    with_collector: bool = True,
) -> Demand:
    """Every platform pod on the system nodes, with its sidecar, for one stack's settings."""
    t = tier(environment)
    sidecar = MESH_SIDECAR.get(mesh_provider, _s(0, 0, 0))
    counts = {pod: replicas(pod, t) for pod in REPLICAS}
    airflow_ha = 2 if environment == "prod" else 1
    counts |= {
        "airflow-dag-processor": airflow_ha,
        "airflow-triggerer": airflow_ha,
        "airflow-pgbouncer": airflow_ha,
        # NGF's control plane is leader-elected: a second replica whenever the data plane has one.
        "nginx-gateway-fabric": 2 if edge_replicas > 1 else 1,
        "kuma-control-plane" if mesh_provider == "kuma" else "istiod": mesh_replicas,
        "nginx-data-plane": edge_replicas,
        "oauth2-proxy": edge_replicas,
        "airflow-api-server": api_server_replicas,
        "airflow-scheduler": scheduler_replicas,
    }
    if not with_collector:
        counts.pop("otel-collector")
    pods: dict[str, tuple[Size, int]] = {}
    for pod, n in counts.items():
        if pod not in SIZES:
            continue
        size = SIZES[pod][t]
        for extra in (SIZES[name][t] for name in SIDECARS.get(pod, ())):
            size = Size(size.cpu_m + extra.cpu_m, size.memory_mi + extra.memory_mi, size.memory_limit_mi)
        if pod in MESHED:
            size = Size(size.cpu_m + sidecar.cpu_m, size.memory_mi + sidecar.memory_mi, size.memory_limit_mi)
        pods[pod] = (size, n)
    return Demand(pods, {**DAEMONSETS, **MESH_DAEMONSETS.get(mesh_provider, {})})


def allocatable(vcpu: int, memory_gib: int, max_pods: int) -> tuple[int, int]:
    """(millicores, MiB) a node offers pods, after what the EKS AL2023 AMI reserves for the kubelet.

    The AMI's formulas (awslabs/amazon-eks-ami ``nodeadm/internal/kubelet/config.go``): memory
    255 MiB + 11 MiB per pod it may run, plus a 100 MiB hard eviction threshold; CPU 6 % of the first
    core, 1 % of the second, 0.5 % of the next two and 0.25 % of the rest.
    """
    reserved_cpu = 0.0
    for core in range(vcpu):
        reserved_cpu += 60 if core == 0 else 10 if core == 1 else 5 if core < 4 else 2.5
    memory = memory_gib * 1024 - (255 + 11 * max_pods) - 100
    return vcpu * 1000 - round(reserved_cpu), memory
