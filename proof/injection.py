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

Neither sets ``runAsNonRoot`` or a seccomp profile: they come from the pod's security context, which
is why every pod we configure in a Kuma namespace sets both at pod level. (Without the CNI, Kuma's
``kuma-init`` runs as root with NET_ADMIN/NET_RAW: ``injector.go`` ``NewInitContainer``; the program
never runs without it.) Istio ambient injects nothing: ztunnel and the CNI agent do the capture.
"""

from __future__ import annotations

import copy
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


class Injector:
    """Applies the set's mesh injection to its pods (a no-op outside Kuma's meshed namespaces)."""

    def __init__(self, objects: ObjectSet):
        self.kuma = mesh.provider(objects) == "kuma"
        self.meshed = mesh.meshed_namespaces(objects) if self.kuma else set()

    def __call__(self, pod: PodView) -> PodView:
        if not self.kuma or pod.namespace not in self.meshed or mesh.opted_out(pod):
            return pod
        spec = copy.deepcopy(pod.spec)
        spec["initContainers"] = [*(spec.get("initContainers") or []), *copy.deepcopy(KUMA_CONTAINERS)]
        spec["volumes"] = [*(spec.get("volumes") or []), *copy.deepcopy(KUMA_VOLUMES)]
        return replace(pod, spec=spec)
