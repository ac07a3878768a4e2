"""Pods as admission sees them: after the mesh's mutating webhook added its containers.

The PodSecurity admission plugin runs after the mutating webhooks (Kubernetes docs "Admission
control": mutating, then validating admission), so a meshed namespace can enforce ``restricted``
only if the containers the injector adds meet it too, beside the pod-level fields they inherit.

Kuma 2.14.3, CNI mode with native sidecars (the program's settings,
components/mesh/kuma/component.py), adds two init containers:

- ``kuma-validation`` (``pkg/plugins/runtime/k8s/webhooks/injector/injector.go``
  ``NewValidationContainer``): the sidecar's uid/gid, ``capabilities.drop: [ALL]``,
  ``readOnlyRootFilesystem``, ``allowPrivilegeEscalation: false``;
- ``kuma-sidecar`` with ``restartPolicy: Always`` (``pkg/plugins/runtime/k8s/containers/factory.go``
  ``NewContainer``: uid/gid 5678, ``capabilities.drop: [ALL]``; ``injector.go``
  ``NewSidecarContainer`` adds ``readOnlyRootFilesystem`` and ``allowPrivilegeEscalation: false``).

Neither sets ``runAsNonRoot`` or a seccomp profile: they would come from the pod's security context.
Then kuma-cp applies the ContainerPatches its ``KUMA_RUNTIME_KUBERNETES_INJECTOR_CONTAINER_PATCHES``
names (``injector.go`` ``loadContainerPatches``/``applyCustomPatches``: ``sidecarPatch`` to the
sidecar, ``initPatch`` to the validation container, JSON patch with missing parents created); a named
patch that does not exist in the system namespace fails the injection, so the pod is rejected.
(Without the CNI, Kuma's ``kuma-init`` runs as root with NET_ADMIN/NET_RAW: ``injector.go``
``NewInitContainer``; the program never runs without it.) Istio ambient injects nothing: ztunnel and
the CNI agent do the capture.

Linkerd edge-26.8.3: the proxy injector renders the ``charts/patch`` chart of linkerd2
(``charts/patch/templates/patch.json``) with the installed ``linkerd-config`` values; it includes the
same partials (``partials.network-validator`` with the CNI, ``partials.proxy`` as a native sidecar)
that the control-plane chart renders into its own pods. So the containers injected into a workload
are the ``linkerd-network-validator`` and ``linkerd-proxy`` containers of the rendered
``linkerd/linkerd-destination`` Deployment (with the volumes they mount), as the chart set them.

Consul (consul-k8s v1.9.11, transparent proxy with the CNI): ``connect-inject-init``
(``control-plane/connect-inject/webhook/container_init.go``: uid/gid 5996, runAsNonRoot,
``privileged: false``, ``capabilities.drop: [ALL]``, readOnlyRootFilesystem, no privilege
escalation, seccomp RuntimeDefault) and ``consul-dataplane`` (``consul_dataplane_sidecar.go``:
uid/gid 5995, the same hardening), a native sidecar with ``dataplaneAsSidecarInitContainer``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

from proof import mesh
from proof.objects import ObjectSet
from proof.pods import PodView

#: Kuma's default sidecar user and group (kuma-cp config ``runtime.kubernetes.injector.sidecarContainer.uid/gid``).
KUMA_SIDECAR_UID = 5678
_KUMA_CONTEXT: dict[str, Any] = {
    "runAsUser": KUMA_SIDECAR_UID,
    "runAsGroup": KUMA_SIDECAR_UID,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
}
KUMA_CONTAINERS: tuple[dict[str, Any], ...] = (
    {"name": "kuma-validation", "image": "kuma-init", "securityContext": _KUMA_CONTEXT},
    {"name": "kuma-sidecar", "image": "kuma-dp", "restartPolicy": "Always", "securityContext": _KUMA_CONTEXT},
)
#: The injector's scratch volume (``injector.go`` ``kuma-sidecar-tmp``, an emptyDir).
KUMA_VOLUMES: tuple[dict[str, Any], ...] = ({"name": "kuma-sidecar-tmp", "emptyDir": {}},)


#: consul-k8s ``initContainersUserAndGroupID`` / ``sidecarUserAndGroupID`` (control-plane/connect-inject/webhook).
CONSUL_INIT_UID, CONSUL_SIDECAR_UID = 5996, 5995


def _consul_context(uid: int) -> dict[str, Any]:
    return {
        "runAsUser": uid,
        "runAsGroup": uid,
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


CONSUL_CONTAINERS: tuple[dict[str, Any], ...] = (
    {
        "name": "consul-connect-inject-init",
        "image": "consul-k8s-control-plane",
        "securityContext": _consul_context(CONSUL_INIT_UID),
    },
    {
        "name": "consul-dataplane",
        "image": "consul-dataplane",
        "restartPolicy": "Always",
        "securityContext": _consul_context(CONSUL_SIDECAR_UID),
    },
)
#: The injector's shared volume (consul-k8s webhook ``volumeName`` ``consul-connect-inject-data``, an emptyDir).
CONSUL_VOLUMES: tuple[dict[str, Any], ...] = ({"name": "consul-connect-inject-data", "emptyDir": {"medium": "Memory"}},)
_LINKERD_TEMPLATE = ("Deployment", "linkerd", "linkerd-destination")
_LINKERD_INJECTED = ("linkerd-network-validator", "linkerd-proxy")

_KUMA_SYSTEM = "kuma-system"
_PATCHES_ENV = "KUMA_RUNTIME_KUBERNETES_INJECTOR_CONTAINER_PATCHES"


class InjectionError(Exception):
    """The injector would fail: a ContainerPatch it names is missing, or a patch does not apply."""


class Injector:
    """Applies the set's mesh injection to its pods (a no-op outside Kuma's meshed namespaces)."""

    def __init__(self, objects: ObjectSet):
        self.provider = mesh.provider(objects)
        self.kuma = self.provider == "kuma"
        self.meshed = mesh.meshed_namespaces(objects) if self.provider in ("kuma", "linkerd", "consul") else set()
        self.sidecar_patch, self.init_patch = _container_patches(objects) if self.kuma else ([], [])
        self.containers: tuple[dict[str, Any], ...] = ()
        self.volumes: tuple[dict[str, Any], ...] = ()
        if self.kuma:
            validation, sidecar = copy.deepcopy(KUMA_CONTAINERS)
            self.containers = (_patched(validation, self.init_patch), _patched(sidecar, self.sidecar_patch))
            self.volumes = KUMA_VOLUMES
        elif self.provider == "consul":
            self.containers, self.volumes = CONSUL_CONTAINERS, CONSUL_VOLUMES
        elif self.provider == "linkerd":
            self.containers, self.volumes = _linkerd_injected(objects)

    def __call__(self, pod: PodView) -> PodView:
        if not self.containers or pod.namespace not in self.meshed or mesh.opted_out(pod):
            return pod
        spec = copy.deepcopy(pod.spec)
        spec["initContainers"] = [*(spec.get("initContainers") or []), *copy.deepcopy(self.containers)]
        spec["volumes"] = [*(spec.get("volumes") or []), *copy.deepcopy(self.volumes)]
        return replace(pod, spec=spec)


def _linkerd_injected(objects: ObjectSet) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    """(containers, volumes) the proxy injector adds, taken from the rendered control plane's own pod;
    raises InjectionError when the set has no such pod to learn them from."""
    source = objects.find(*_LINKERD_TEMPLATE)
    if source is None:
        raise InjectionError(f"no rendered {' '.join(_LINKERD_TEMPLATE)} to learn Linkerd's injected containers from")
    spec = source.body["spec"]["template"]["spec"]
    every = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    containers = [c for name in _LINKERD_INJECTED for c in every if c["name"] == name]
    if [c["name"] for c in containers] != list(_LINKERD_INJECTED):
        raise InjectionError(f"{source.ref()} lacks {_LINKERD_INJECTED}: the chart's injection changed")
    mounted = {m["name"] for c in containers for m in c.get("volumeMounts") or []}
    volumes = [v for v in spec.get("volumes") or [] if v["name"] in mounted]
    return tuple(copy.deepcopy(containers)), tuple(copy.deepcopy(volumes))


def _container_patches(objects: ObjectSet) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(sidecar ops, init ops) of the patches kuma-cp's environment names, in order."""
    names: list[str] = []
    for cp in objects.of_kind("Deployment"):
        if cp.namespace != _KUMA_SYSTEM:
            continue
        for container in cp.body["spec"]["template"]["spec"].get("containers") or []:
            for env in container.get("env") or []:
                if env.get("name") == _PATCHES_ENV:
                    names += [n.strip() for n in str(env.get("value", "")).split(",") if n.strip()]
    patches = {o.name: o for o in objects.of_kind("ContainerPatch") if o.namespace == _KUMA_SYSTEM}
    sidecar: list[dict[str, Any]] = []
    init: list[dict[str, Any]] = []
    for name in names:
        if name not in patches:
            raise InjectionError(f"kuma-cp names ContainerPatch {name!r}, which the set does not create")
        spec = patches[name].body.get("spec") or {}
        sidecar += spec.get("sidecarPatch") or []
        init += spec.get("initPatch") or []
    return sidecar, init


def _patched(container: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """``add``/``replace`` on object paths, creating missing parents (jsonpatch ``EnsurePathExistsOnAdd``,
    as kuma-cp applies them); other operations are not modelled and raise."""
    for op in ops:
        if op["op"] not in ("add", "replace"):
            raise InjectionError(f"ContainerPatch op {op['op']!r} is not modelled by the proof")
        *parents, leaf = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].strip("/").split("/")]
        node = container
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = json.loads(op["value"])
    return container
