"""The reviewed lists in ``proof/reviewed/``: every entry carries a written reason or source.

- ``runtime_objects.yaml``: objects controllers or hook Jobs create at run time.
- ``mesh_exclusions.yaml``: pods in a meshed namespace deliberately left out of the mesh.
- ``pod_security.yaml``: pods that may not meet Pod Security ``restricted``, and why.
- ``cel_unevaluable.yaml``: CRD CEL rules cel-python cannot run, and why that is acceptable.
- ``checkov.yaml``: checkov suppressions (check id, object globs, reason).

A reviewed entry that matches nothing in any planned stack is itself a failure (tests), so the
lists cannot rot.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
from pathlib import Path
from typing import Any

import yaml

from proof.objects import KubeObject, ObjectSet

FOLDER = Path(__file__).resolve().parent / "reviewed"


class ReviewError(Exception):
    """A reviewed file is malformed (an entry without its reason, an unknown key)."""


@functools.cache
def load(name: str, reason_key: str = "reason") -> tuple[dict[str, Any], ...]:
    """Entries of ``reviewed/<name>.yaml``; each must have a non-empty ``reason_key``."""
    entries = yaml.safe_load((FOLDER / f"{name}.yaml").read_text()) or []
    for i, entry in enumerate(entries):
        if not str(entry.get(reason_key) or "").strip():
            raise ReviewError(f"reviewed/{name}.yaml entry {i}: no {reason_key}")
    return tuple(entries)


def matches(pattern: str, ref: str) -> bool:
    """``Kind namespace/name`` glob match (``*`` spans ``/``)."""
    return fnmatch.fnmatchcase(ref, pattern)


def runtime_objects(objects: ObjectSet, entries: tuple[dict[str, Any], ...] | None = None) -> list[KubeObject]:
    """The run-time objects the set's creators will make (source ``runtime``)."""
    entries = load("runtime_objects", "source") if entries is None else entries
    namespaces = sorted({o.name for o in objects.of_kind("Namespace")} | objects.helm_namespaces)
    out = []
    for entry in entries:
        for creator in [o for o in objects.objects if o.source != "runtime" and matches(entry["created_by"], o.ref())]:
            spec = creator.body.get("spec") or {}
            names = {"name": creator.name, "namespace": creator.namespace or "", **_gateway_vars(spec)}
            template = entry["object"]
            targets = namespaces if template.get("namespace") == "*" else [template["namespace"].format(**names)]
            for namespace in targets:
                out.append(
                    KubeObject(body=_build(template, names, namespace, spec), origin=creator.ref(), source="runtime")
                )
    return out


def _gateway_vars(spec: dict[str, Any]) -> dict[str, str]:
    return {"gatewayClassName": str(spec.get("gatewayClassName", ""))}


def _build(template: dict[str, Any], names: dict[str, str], namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    fill = functools.partial(_format, names=names)
    meta = {"name": fill(template["name"]), "namespace": namespace, "labels": fill(template.get("labels") or {})}
    kind = template["kind"]
    if kind in ("Secret", "ConfigMap"):
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": meta,
            "data": dict.fromkeys(template.get("keys") or [], ""),
        }
    if kind == "ServiceAccount":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta}
    if kind == "Service":  # stands in for name and selection only (Consul registers services by name)
        ports = [{"port": listener["port"]} for listener in spec.get("listeners") or []]
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": meta,
            "spec": {"selector": fill(template["selector"]), "ports": ports},
        }
    if kind == "Pod":
        ports = [{"containerPort": listener["port"]} for listener in spec.get("listeners") or []]
        container = {"name": "runtime", "ports": ports if template.get("ports_from_listeners") else []}
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {**meta, "labels": meta["labels"]},
            "spec": {
                "serviceAccountName": fill(template.get("serviceAccountName", "default")),
                "containers": [container],
            },
        }
    raise ReviewError(f"runtime_objects: cannot stand in for a {kind}")


def _format(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {_format(k, names): _format(v, names) for k, v in value.items()}
    return copy.deepcopy(value)


def with_runtime_objects(objects: ObjectSet) -> ObjectSet:
    """The set plus its run-time objects (idempotent)."""
    if not any(o.source == "runtime" for o in objects.objects):
        objects.objects.extend(runtime_objects(objects))
    return objects
