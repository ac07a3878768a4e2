"""Small hand-made object sets for the tests that show each check fails on a broken input."""

from __future__ import annotations

import copy
from typing import Any

from proof.objects import KubeObject, ObjectSet


def object_set(*bodies: dict[str, Any], version: str = "1.34") -> ObjectSet:
    return ObjectSet(
        stack="broken",
        kube_version=version,
        objects=[KubeObject(body=copy.deepcopy(b), origin="test", source="emitted") for b in bodies],
    )


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


RESTRICTED_CONTAINER = {
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
        "capabilities": {"drop": ["ALL"]},
    }
}


def deployment(
    name: str,
    ns: str = "apps",
    labels: dict[str, str] | None = None,
    containers: list[dict[str, Any]] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    labels = labels or {"app": name}
    containers = containers or [{"name": "main", "image": "example/app:1.0", **RESTRICTED_CONTAINER}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": containers, "volumes": volumes or [], **spec},
            },
        },
    }
