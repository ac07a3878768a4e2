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


_KUMA_SYSTEM = "kuma-system"
_PATCHES_ENV = "KUMA_RUNTIME_KUBERNETES_INJECTOR_CONTAINER_PATCHES"


class InjectionError(Exception):
    """The injector would fail: a ContainerPatch it names is missing, or a patch does not apply."""


class Injector:
    """Applies the set's mesh injection to its pods (a no-op outside Kuma's meshed namespaces)."""

    def __init__(self, objects: ObjectSet):
        self.kuma = mesh.provider(objects) == "kuma"
        self.meshed = mesh.meshed_namespaces(objects) if self.kuma else set()
        self.sidecar_patch, self.init_patch = _container_patches(objects) if self.kuma else ([], [])

    def __call__(self, pod: PodView) -> PodView:
        if not self.kuma or pod.namespace not in self.meshed or mesh.opted_out(pod):
            return pod
        validation, sidecar = copy.deepcopy(KUMA_CONTAINERS)
        injected = [_patched(validation, self.init_patch), _patched(sidecar, self.sidecar_patch)]
        spec = copy.deepcopy(pod.spec)
        spec["initContainers"] = [*(spec.get("initContainers") or []), *injected]
        spec["volumes"] = [*(spec.get("volumes") or []), *copy.deepcopy(KUMA_VOLUMES)]
        return replace(pod, spec=spec)


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
