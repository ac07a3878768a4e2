"""Mesh: how namespaces join the service mesh (Kuma by default, Istio ambient as the alternative)."""

from __future__ import annotations


def namespace_labels(provider: str) -> dict[str, str]:
    """Labels that enrol a namespace in the chosen mesh (Kuma: the label, not the annotation)."""
    if provider == "kuma":
        return {"kuma.io/sidecar-injection": "enabled"}
    return {"istio.io/dataplane-mode": "ambient"}
