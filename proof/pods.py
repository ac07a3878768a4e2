"""Pods as the cluster will run them, from every workload kind in an object set."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from proof.objects import KubeObject, ObjectSet


@dataclass
class PodView:
    """One pod template: the owning object, its namespace, labels and pod spec."""

    owner: KubeObject
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]
    spec: dict[str, Any]

    def ref(self) -> str:
        return self.owner.ref() + (f" [{self.owner.source}]" if self.owner.is_pod_template else "")

    def containers(self) -> list[dict[str, Any]]:
        """Init, regular and ephemeral containers, in that order."""
        spec = self.spec
        return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]

    @property
    def service_account(self) -> str:
        return self.spec.get("serviceAccountName") or self.spec.get("serviceAccount") or "default"


def pod_template(obj: KubeObject) -> dict[str, Any] | None:
    """The pod template (``metadata`` + ``spec``) of a workload object, or None."""
    body = obj.body
    if obj.kind == "Pod":
        return body
    if obj.kind == "CronJob":
        return ((body.get("spec") or {}).get("jobTemplate") or {}).get("spec", {}).get("template")
    if obj.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
        return (body.get("spec") or {}).get("template")
    return None


def pods(objects: ObjectSet) -> Iterator[PodView]:
    """Every pod template in the set (workloads, hooks, and pod templates held in ConfigMaps)."""
    for obj in objects.objects:
        template = pod_template(obj)
        if not template:
            continue
        meta = template.get("metadata") or {}
        yield PodView(
            owner=obj,
            namespace=meta.get("namespace") or obj.namespace or "default",
            labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
            annotations={str(k): str(v) for k, v in (meta.get("annotations") or {}).items()},
            spec=template.get("spec") or {},
        )


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether a label selector (``matchLabels``/``matchExpressions``, or a plain map as Services
    use) matches ``labels``. An empty selector matches everything."""
    if not selector:
        return True
    match_labels = (
        selector.get("matchLabels") if "matchLabels" in selector or "matchExpressions" in selector else selector
    )
    if any(labels.get(k) != str(v) for k, v in (match_labels or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], [str(v) for v in expr.get("values") or []]
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
