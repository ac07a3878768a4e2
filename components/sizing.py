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
layers read their chart resources from :func:`helm_resources` (or :data:`SIZES` in a chart's own
shape), and tests/components/capacity/test_rendered_demand.py checks that :func:`system_demand` lists
exactly the long-running pods the real charts render, with their replicas and requests.
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
    return Size(cpu_m, memory_mi, limit_mi if limit_mi is not None else memory_mi * 2)


def _sum(*sizes: Size) -> Size:
    """One pod of several containers: their requests and memory limits added."""
    return Size(sum(s.cpu_m for s in sizes), sum(s.memory_mi for s in sizes), sum(s.memory_limit_mi for s in sizes))


#: Per tier: pod name -> size. Replicas come from the settings where they have a key, else REPLICAS.
SIZES: dict[str, dict[Tier, Size]] = {
    # capacity
    "karpenter": {"small": _s(100, 256, 512), "standard": _s(250, 512, 1024)},
    # certificates
    "cert-manager": {"small": _s(20, 96), "standard": _s(50, 128)},
    "cert-manager-webhook": {"small": _s(10, 32), "standard": _s(20, 64)},
    "cert-manager-cainjector": {"small": _s(10, 96), "standard": _s(20, 128)},
    # mesh control plane: Kuma's and Istio's one pod
    "kuma-control-plane": {"small": _s(150, 256, 1024), "standard": _s(250, 512, 2048)},
    "istiod": {"small": _s(150, 256, 1024), "standard": _s(250, 1024, 2048)},
    # Linkerd edge-26.8.3, per container (MESH_PODS composes its pods). Its values-ha.yaml asks 100m of
    # every controller and proxy: prod's platform would request 8.4 vCPU where 3 x m7i.xlarge less one
    # node offer 6.3 after headroom, a fourth node for Linkerd alone. Requests are a reservation, not a cap
    # (no CPU limits): the proxy runs one worker thread (linkerd.io/2/tasks/configuring-proxy-concurrency)
    # and gets what Kuma's Envoy sidecar gets; the controllers that serve every proxy (destination,
    # policy) get the most, the admission webhooks (sp-validator, proxy-injector) and identity (one
    # certificate per proxy a day) little. values-ha.yaml's memory requests and 250Mi limits are kept.
    "linkerd-destination": {"small": _s(25, 50, 250), "standard": _s(50, 50, 250)},
    "linkerd-policy": {"small": _s(25, 50, 250), "standard": _s(50, 50, 250)},
    "linkerd-sp-validator": {"small": _s(10, 50, 250), "standard": _s(10, 50, 250)},
    "linkerd-proxy-injector": {"small": _s(10, 50, 250), "standard": _s(25, 50, 250)},
    "linkerd-identity": {"small": _s(10, 10, 250), "standard": _s(25, 10, 250)},
    "linkerd-proxy": {"small": _s(20, 20, 250), "standard": _s(50, 20, 250)},
    # consul-k8s 1.9.11: the chart's default requests (values.yaml ``server``, ``connectInject``,
    # ``webhookCertManager``, ``terminatingGateways.defaults`` ``.resources``; its CPU limits are raised
    # to a core, components/mesh/consul/values.py) and memory limits with room (the chart's equal the
    # requests: a Raft server at 200Mi is OOM-killed before it is slow). The dataplane sidecar (Envoy +
    # consul-dataplane) has no chart default: it gets what Kuma's Envoy sidecar gets, and a little more
    # memory for the dataplane process.
    "consul-server": {"small": _s(100, 200, 512), "standard": _s(100, 200, 512)},
    "consul-connect-injector": {"small": _s(50, 200, 400), "standard": _s(50, 200, 400)},
    "consul-webhook-cert-manager": {"small": _s(100, 50, 100), "standard": _s(100, 50, 100)},
    "consul-terminating-gateway": {"small": _s(100, 100, 256), "standard": _s(100, 100, 256)},
    "consul-dataplane": {"small": _s(50, 96, 512), "standard": _s(50, 96, 512)},
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
    # EKS add-ons (their own manifests; not set by this program)
    "coredns": {"small": _s(100, 70, 170), "standard": _s(100, 70, 170)},
    "ebs-csi-controller": {"small": _s(60, 240), "standard": _s(60, 240)},
}
#: Per node (DaemonSets): EKS add-ons and, by mesh, its node agents.
DAEMONSETS: dict[str, Size] = {
    "aws-node": _s(25, 64),
    "kube-proxy": _s(100, 64),
    "eks-pod-identity-agent": _s(25, 32),
    "ebs-csi-node": _s(30, 120),
}
#: The OpenTelemetry collector, one per node (components/observability/collector.py runs the chart as
#: a DaemonSet) and meshed: :func:`system_demand` adds the mesh's sidecar.
COLLECTOR = _s(100, 128, 512)
#: linkerd2-cni's installer and its repair controller, each (the chart's values.yaml leaves both empty).
LINKERD_CNI_CONTAINER = _s(10, 32, 64)
MESH_DAEMONSETS: dict[str, dict[str, Size]] = {
    "kuma": {"kuma-cni": _s(100, 100)},
    "istio": {"istio-cni": _s(100, 100), "ztunnel": _s(200, 512, 1024)},
    "linkerd": {"linkerd-cni": _sum(LINKERD_CNI_CONTAINER, LINKERD_CNI_CONTAINER)},
    # consul-cni's chart default requests (values.yaml connectInject.cni.resources), and the untaint
    # agent beside it (components/mesh/consul/untaint.py): a bash loop and, a few times per node's life,
    # one kubectl call (a Go binary: its limit leaves room for that).
    "consul": {"consul-cni": _s(75, 75, 100), "consul-cni-untaint": _s(5, 32, 128)},
}
#: Kuma's sidecar (kuma-dp + Envoy): the chart's ``dataPlane.sidecarContainer.resources``, which kuma-cp
#: gives every container it injects (kuma 2.14.3 templates/_helpers.tpl
#: ``KUMA_INJECTOR_SIDECAR_CONTAINER_RESOURCES_*``). Linkerd's and Consul's are tiered in SIZES.
KUMA_SIDECAR = _s(50, 64, 512)
#: The mesh's own control-plane pods: pod -> its containers (SIZES keys), the proxy Linkerd's chart puts
#: in front of each of its controllers included. Replicas: :func:`mesh_replicas`.
MESH_PODS: dict[str, dict[str, tuple[str, ...]]] = {
    "kuma": {"kuma-control-plane": ("kuma-control-plane",)},
    "istio": {"istiod": ("istiod",)},
    "linkerd": {
        # linkerd-control-plane templates/destination.yaml: destination, sp-validator and policy.
        "linkerd-destination": ("linkerd-destination", "linkerd-sp-validator", "linkerd-policy", "linkerd-proxy"),
        "linkerd-identity": ("linkerd-identity", "linkerd-proxy"),
        "linkerd-proxy-injector": ("linkerd-proxy-injector", "linkerd-proxy"),
    },
    "consul": {
        "consul-server": ("consul-server",),
        "consul-connect-injector": ("consul-connect-injector",),
        "consul-webhook-cert-manager": ("consul-webhook-cert-manager",),
        "consul-terminating-gateway": ("consul-terminating-gateway",),
    },
}
#: Replicas of pods whose count no setting gives: (small, standard). The Airflow components below the
#: api-server and scheduler have two replicas in prod only (components/airflow/values.py ``_ha``).
REPLICAS: dict[str, tuple[int, int]] = {
    "karpenter": (1, 2),
    "cert-manager": (1, 2),
    "cert-manager-webhook": (1, 2),
    "cert-manager-cainjector": (1, 2),
    "coredns": (2, 2),
    "ebs-csi-controller": (2, 2),
}
#: Sidecars each pod carries on the system nodes, counted with it in :func:`system_demand` (git-sync
#: only when DAGs come from git).
SIDECARS: dict[str, tuple[str, ...]] = {
    "airflow-scheduler": ("airflow-log-groomer",),
    "airflow-dag-processor": ("airflow-log-groomer", "airflow-git-sync"),
    "airflow-triggerer": ("airflow-log-groomer", "airflow-git-sync"),
    "airflow-pgbouncer": ("airflow-pgbouncer-exporter",),
}
MESHED = {
    "nginx-gateway-fabric",  # in the edge namespace, which is meshed like the rest
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


def mesh_sidecar(mesh_provider: str, t: Tier) -> Size:
    """What the mesh adds to each meshed pod: Kuma's sidecar, Linkerd's proxy, Consul's dataplane;
    nothing for Istio ambient (ztunnel, per node, does the work)."""
    if mesh_provider == "kuma":
        return KUMA_SIDECAR
    sidecar = {"linkerd": "linkerd-proxy", "consul": "consul-dataplane"}.get(mesh_provider)
    return SIZES[sidecar][t] if sidecar else _s(0, 0, 0)


def mesh_replicas(mesh_provider: str, control_plane_replicas: int) -> dict[str, int]:
    """Replicas of each of the mesh's control-plane pods (:data:`MESH_PODS`) for
    ``meshControlPlaneReplicas``; raises KeyError for an unknown provider.

    Linkerd runs each controller ``controllerReplicas`` times. Consul's servers form a Raft quorum, so
    an odd number: 3 in HA (also for 2 replicas), else 1; its injector and terminating gateway run twice
    in HA; the webhook-cert-manager is a single Deployment in the chart (consul-k8s 1.9.11
    templates/webhook-cert-manager-deployment.yaml ``replicas: 1``)."""
    pods = MESH_PODS[mesh_provider]
    if mesh_provider != "consul":
        return {pod: control_plane_replicas for pod in pods}
    ha = control_plane_replicas >= 2
    return {
        "consul-server": max(3, control_plane_replicas | 1) if ha else 1,
        "consul-connect-injector": 2 if ha else 1,
        "consul-webhook-cert-manager": 1,
        "consul-terminating-gateway": 2 if ha else 1,
    }


def nodes_needed(environment: str, mesh_provider: str, control_plane_replicas: int) -> tuple[int, str]:
    """(fewest system nodes, the pods that need them): pods whose chart requires one node per replica
    (``requiredDuringScheduling`` podAntiAffinity on ``kubernetes.io/hostname``) leave a replica
    Pending on fewer nodes, whatever their requests. tests/components/capacity/test_rendered_demand.py
    finds them in the renders.

    - Karpenter's controller (karpenter 1.14.1 values.yaml ``affinity``).
    - Consul's servers, always (consul-k8s 1.9.11 values.yaml ``server.affinity``). A server that
      cannot start keeps Raft below ``bootstrapExpect``: no leader, the release never becomes ready.
    - Linkerd's controllers in HA (``enablePodAntiAffinity``, partials/templates/_affinity.tpl). A
      Pending replica uses up its PodDisruptionBudget (maxUnavailable 1), so no system node drains.
    - Kuma's and Istio's control planes: preferred anti-affinity only."""
    found = [(replicas("karpenter", tier(environment)), "Karpenter's replicas")]
    mesh = mesh_replicas(mesh_provider, control_plane_replicas)
    if mesh_provider == "consul":
        found.append((mesh["consul-server"], f"the {mesh['consul-server']} Consul servers"))
    if mesh_provider == "linkerd" and control_plane_replicas >= 2:
        found.append((control_plane_replicas, f"the {control_plane_replicas} replicas of every Linkerd controller"))
    return max(found, key=lambda item: item[0])


def pod_size(pod: str, t: Tier, git_sync: bool = True) -> Size:
    """Requests of one ``pod`` (a SIZES or MESH_PODS name) with the chart's own sidecars (git-sync only
    with ``git_sync``), the mesh's sidecar excluded."""
    mesh_containers = next((pods[pod] for pods in MESH_PODS.values() if pod in pods), (pod,))
    sidecars = [name for name in SIDECARS.get(pod, ()) if git_sync or name != "airflow-git-sync"]
    sizes = [SIZES[name][t] for name in (*mesh_containers, *sidecars)]
    total = _sum(*sizes)
    return Size(total.cpu_m, total.memory_mi, sizes[0].memory_limit_mi)


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
    mesh_control_plane_replicas: int,
    edge_replicas: int,
    api_server_replicas: int,
    scheduler_replicas: int,
    with_collector: bool = True,
    git_sync: bool = True,
) -> Demand:
    """Every platform pod on the system nodes, with its sidecars, for one stack's settings: Deployments
    and StatefulSets in ``pods``, DaemonSets in ``per_node`` (tests/components/capacity compares both
    with the rendered charts). Run-once pods (Jobs, CronJobs, Helm hooks) fit in :data:`HEADROOM`."""
    t = tier(environment)
    sidecar = mesh_sidecar(mesh_provider, t)
    counts = {pod: replicas(pod, t) for pod in REPLICAS}
    airflow_ha = 2 if environment == "prod" else 1
    counts |= {
        "airflow-dag-processor": airflow_ha,
        "airflow-triggerer": airflow_ha,
        "airflow-pgbouncer": airflow_ha,
        # NGF's control plane is leader-elected: a second replica whenever the data plane has one.
        "nginx-gateway-fabric": 2 if edge_replicas > 1 else 1,
        **mesh_replicas(mesh_provider, mesh_control_plane_replicas),
        "nginx-data-plane": edge_replicas,
        "oauth2-proxy": edge_replicas,
        "airflow-api-server": api_server_replicas,
        "airflow-scheduler": scheduler_replicas,
    }
    pods: dict[str, tuple[Size, int]] = {}
    for pod, n in counts.items():
        size = pod_size(pod, t, git_sync)
        pods[pod] = (_sum(size, sidecar) if pod in MESHED else size, n)
    per_node = {**DAEMONSETS, **MESH_DAEMONSETS[mesh_provider]}
    if with_collector:
        per_node["otel-collector"] = _sum(COLLECTOR, sidecar)
    return Demand(pods, per_node)


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
