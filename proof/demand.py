"""What the rendered objects ask of the nodes: every long-running pod with the requests the scheduler
counts for it, the mesh's injected containers included.

Long-running pods are those of Deployments, StatefulSets and DaemonSets; Jobs, CronJobs and Helm hooks
run once (components/sizing.py leaves them to its headroom), pod templates held in ConfigMaps are task
pods (Karpenter's nodes), and a bare ``Pod`` object is a run-time stand-in without a spec of its own.

A pod's requests (Kubernetes docs "Resource Management for Pods and Containers" and "Sidecar
Containers": KEP-753) are the larger of its regular containers plus its sidecars (init containers with
``restartPolicy: Always``), and, for each other init container in turn, that one plus the sidecars
started before it.

The injected containers (:mod:`proof.injection`) get the requests their injector gives them, read from
the rendered control plane, since the injector takes them from its own configuration:

- Kuma 2.14.3: kuma-cp's ``KUMA_INJECTOR_SIDECAR_CONTAINER_RESOURCES_REQUESTS_*`` and
  ``KUMA_INJECTOR_VALIDATION_CONTAINER_RESOURCES_REQUESTS_*`` (chart templates/_helpers.tpl);
- Consul (consul-k8s 1.9.11): the connect-injector's ``-default-sidecar-proxy-{cpu,memory}-request``
  and ``-init-container-{cpu,memory}-request`` flags (templates/connect-inject-deployment.yaml); a flag
  the chart leaves out (a null value) means no request;
- Linkerd: the containers are copied from the rendered ``linkerd-destination`` pod, requests and all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from proof.injection import Injector
from proof.objects import KubeObject, ObjectSet
from proof.pods import PodView, pods, selects

LONG_RUNNING = ("Deployment", "StatefulSet", "DaemonSet")
_KUMA_ENV = {
    "kuma-sidecar": "KUMA_INJECTOR_SIDECAR_CONTAINER_RESOURCES_REQUESTS_",
    "kuma-validation": "KUMA_INJECTOR_VALIDATION_CONTAINER_RESOURCES_REQUESTS_",
}
_CONSUL_FLAGS = {"consul-dataplane": "default-sidecar-proxy", "consul-connect-inject-init": "init-container"}
_CONSUL_INJECTOR = ("Deployment", "consul", "consul-connect-injector")
_BINARY = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}
_DECIMAL = {"k": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}


@dataclass(frozen=True)
class Workload:
    """One long-running pod: ``ref`` (``Kind namespace/name``), ``replicas`` (None for a DaemonSet:
    one per node it runs on), the requests of one pod in millicores and MiB (rounded), and
    ``one_per_node``: its replicas refuse to share a node (:func:`one_per_node`)."""

    ref: str
    replicas: int | None
    cpu_m: int
    memory_mi: int
    one_per_node: bool = False


def cpu_millicores(quantity: Any) -> float:
    """``250m``, ``0.5``, ``1`` -> millicores; raises ValueError on anything else."""
    text = str(quantity)
    return float(text[:-1]) if text.endswith("m") else float(text) * 1000


def memory_mib(quantity: Any) -> float:
    """``64Mi``, ``20M``, ``1Gi``, ``134217728`` -> MiB; raises ValueError on anything else."""
    text = str(quantity)
    for suffix, factor in (*_BINARY.items(), *_DECIMAL.items()):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor / 1024**2
    return float(text) / 1024**2


def pod_requests(spec: dict[str, Any]) -> tuple[float, float]:
    """(millicores, MiB) the scheduler reserves for one pod of ``spec`` (no pod overhead: EKS sets no
    RuntimeClass)."""

    def requests(container: dict[str, Any]) -> tuple[float, float]:
        asked = (container.get("resources") or {}).get("requests") or {}
        return cpu_millicores(asked.get("cpu", "0")), memory_mib(asked.get("memory", "0"))

    sidecars, peak = (0.0, 0.0), (0.0, 0.0)
    for container in spec.get("initContainers") or []:
        cpu, mem = requests(container)
        if container.get("restartPolicy") == "Always":
            sidecars = (sidecars[0] + cpu, sidecars[1] + mem)
            running = sidecars
        else:
            running = (sidecars[0] + cpu, sidecars[1] + mem)
        peak = (max(peak[0], running[0]), max(peak[1], running[1]))
    regular = [requests(c) for c in spec.get("containers") or []]
    steady = (sidecars[0] + sum(c for c, _ in regular), sidecars[1] + sum(m for _, m in regular))
    return max(peak[0], steady[0]), max(peak[1], steady[1])


def injected_requests(objects: ObjectSet) -> dict[str, dict[str, str]]:
    """Injected container name -> the ``requests`` its injector gives it, from the rendered control
    plane (Kuma and Consul; Linkerd's injected containers carry theirs already)."""
    found: dict[str, dict[str, str]] = {}
    for obj in objects.of_kind("Deployment"):
        for container in _containers(obj):
            env = {e.get("name"): e.get("value") for e in container.get("env") or []}
            for name, prefix in _KUMA_ENV.items():
                if f"{prefix}CPU" in env:
                    found[name] = {"cpu": env[f"{prefix}CPU"], "memory": env[f"{prefix}MEMORY"]}
    injector = objects.find(*_CONSUL_INJECTOR)
    if injector is not None:
        words = [part for c in _containers(injector) for part in (*c.get("command", []), *c.get("args", []))]
        command = " ".join(str(word) for word in words)
        for name, flag in _CONSUL_FLAGS.items():
            asked = {}
            for resource in ("cpu", "memory"):
                match = re.search(rf"-{flag}-{resource}-request=(\S+)", command)
                if match:
                    asked[resource] = match.group(1).strip("\"'")
            found[name] = asked
    return found


def autoscaled(objects: ObjectSet) -> dict[tuple[str, str | None, str], int]:
    """(kind, namespace, name) of each HorizontalPodAutoscaler's target -> its ``minReplicas`` (default
    1): the HPA owns the replica count (istiod's chart leaves ``replicas`` out when it autoscales)."""
    out = {}
    for hpa in objects.of_kind("HorizontalPodAutoscaler"):
        spec = hpa.body.get("spec") or {}
        target = spec.get("scaleTargetRef") or {}
        out[(str(target.get("kind")), hpa.namespace, str(target.get("name")))] = int(spec.get("minReplicas", 1))
    return out


def system_workloads(objects: ObjectSet) -> list[Workload]:
    """Every long-running pod of the set, meshed as its mesh's injector would, sorted by ref."""
    inject = Injector(objects)
    extra = injected_requests(objects)
    scaled = autoscaled(objects)
    out = []
    for view in pods(objects):
        if view.owner.kind not in LONG_RUNNING or view.owner.is_hook:
            continue
        view = inject(view)
        spec = _with_injected_requests(view, extra)
        cpu, mem = pod_requests(spec)
        owner = view.owner
        replicas = int((owner.body.get("spec") or {}).get("replicas", 1))
        replicas = scaled.get((owner.kind, owner.namespace, owner.name), replicas)
        count = None if owner.kind == "DaemonSet" else replicas
        out.append(Workload(owner.ref(), count, round(cpu), round(mem), one_per_node(view)))
    return sorted(out, key=lambda w: w.ref)


def one_per_node(view: PodView) -> bool:
    """Whether the pod's own replicas must run on different nodes: a ``requiredDuringScheduling``
    podAntiAffinity term on ``kubernetes.io/hostname`` whose selector matches the pod's labels (the
    scheduler leaves a replica Pending when every node already runs one)."""
    anti = ((view.spec.get("affinity") or {}).get("podAntiAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or []
    return any(
        term.get("topologyKey") == "kubernetes.io/hostname"
        and not term.get("namespaces")
        and selects(term.get("labelSelector") or {"matchLabels": {"-": "-"}}, view.labels)
        for term in anti
    )


def _with_injected_requests(view: PodView, extra: dict[str, dict[str, str]]) -> dict[str, Any]:
    spec = dict(view.spec)
    spec["initContainers"] = [
        {**c, "resources": {"requests": extra[c["name"]]}} if c["name"] in extra and not c.get("resources") else c
        for c in spec.get("initContainers") or []
    ]
    return spec


def _containers(obj: KubeObject) -> list[dict[str, Any]]:
    spec = ((obj.body.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
