"""Shared by the mesh tests: recorded plans per (stack, provider, overrides), the stack's access
model, and readers that turn recorded policies back into (source, destination) pairs."""

from __future__ import annotations

import functools
import json
from typing import Any

from components import access_model
from components import settings as stack_settings
from plan import harness
from tests import stacks

PROVIDERS = ("kuma", "istio")
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
KUMA = "kubernetes:kuma.io/v1alpha1:"
MTP = KUMA + "MeshTrafficPermission"
PASSTHROUGH = KUMA + "MeshPassthrough"
IDENTITY = KUMA + "MeshIdentity"
MESH_TLS = KUMA + "MeshTLS"
MESH = KUMA + "Mesh"
AUTHZ = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
PEER_AUTH = "kubernetes:security.istio.io/v1:PeerAuthentication"


@functools.cache
def _run(stack: str, overrides: tuple[tuple[str, Any], ...]) -> harness.Plan:
    return stacks.run(stack, dict(overrides))


def plan_for(stack: str, provider: str = "kuma", **overrides: Any) -> harness.Plan:
    """The recorded plan of ``stack`` with ``meshProvider`` and other config overrides (cached)."""
    return _run(stack, tuple(sorted({"meshProvider": provider, **overrides}.items())))


def settings_for(stack: str, **overrides: Any) -> stack_settings.Settings:
    return stacks.settings_for(stack, overrides)


def model_for(stack: str) -> access_model.AccessModel:
    return access_model.build(settings_for(stack))


def mesh_resources(plan: harness.Plan) -> list[dict[str, Any]]:
    """Every resource below the stack's Mesh component."""
    root = f"{settings_for(plan.stack).cluster_name}-mesh"
    parents = {r["name"]: r["parent"] for r in plan.resources}

    def below(name: str | None) -> bool:
        while name is not None:
            if name == root:
                return True
            name = parents.get(name)
        return False

    return [r for r in plan.resources if r["custom"] and below(r["parent"])]


def mesh_of_type(plan: harness.Plan, typ: str) -> list[dict[str, Any]]:
    return [r for r in mesh_resources(plan) if r["type"] == typ]


def releases(plan: harness.Plan) -> dict[str, dict[str, Any]]:
    """The mesh's Helm releases by chart, values decoded."""
    out = {}
    for r in mesh_of_type(plan, RELEASE):
        inputs = dict(r["inputs"])
        if isinstance(inputs.get("values"), str):
            inputs["values"] = json.loads(inputs["values"])
        out[inputs["chart"]] = {**r, "inputs": inputs}
    return out


def as_object(record: dict[str, Any]) -> dict[str, Any]:
    """A recorded custom resource as the object the API server receives."""
    return {k: v for k, v in record["inputs"].items() if k in ("apiVersion", "kind", "metadata", "spec")}


def workload_by_identity(model: access_model.AccessModel) -> dict[tuple[str, str], str]:
    return {(w.namespace, w.service_account): w.name for w in model.workloads.values()}


def workload_by_selector(model: access_model.AccessModel) -> dict[tuple[str, tuple], str]:
    return {(w.namespace, tuple(sorted(w.selector.items()))): w.name for w in model.workloads.values()}


def kuma_allowed(plan: harness.Plan, model: access_model.AccessModel) -> list[tuple[str, str]]:
    """(source, destination) of every allow in the recorded MeshTrafficPermissions."""
    by_identity, by_selector = workload_by_identity(model), workload_by_selector(model)
    pairs = []
    for r in mesh_of_type(plan, MTP):
        spec, namespace = r["inputs"]["spec"], r["inputs"]["metadata"]["namespace"]
        assert spec["targetRef"]["kind"] == "Dataplane", r["name"]
        destination = by_selector[(namespace, tuple(sorted(spec["targetRef"]["labels"].items())))]
        for rule in spec["rules"]:
            assert set(rule["default"]) == {"allow"}, r["name"]
            for match in rule["default"]["allow"]:
                assert match["spiffeID"]["type"] == "Exact", r["name"]
                path = match["spiffeID"]["value"].split("/", 3)[3]  # spiffe://<td>/ns/<ns>/sa/<sa>
                _, ns, _, sa = path.split("/")
                pairs.append((by_identity[(ns, sa)], destination))
    return pairs


def istio_allowed(plan: harness.Plan, model: access_model.AccessModel) -> list[tuple[str, str, int]]:
    """(source, destination, port) of every principal-based allow in the AuthorizationPolicies."""
    by_identity, by_selector = workload_by_identity(model), workload_by_selector(model)
    triples = []
    for r in mesh_of_type(plan, AUTHZ):
        spec, namespace = r["inputs"].get("spec") or {}, r["inputs"]["metadata"]["namespace"]
        for rule in spec.get("rules", []):
            principals = [p for f in rule.get("from", []) for p in f["source"].get("principals", [])]
            if not principals:
                continue
            destination = by_selector[(namespace, tuple(sorted(spec["selector"]["matchLabels"].items())))]
            ports = [int(p) for t in rule["to"] for p in t["operation"]["ports"]]
            for principal in principals:
                trust_domain, _, ns, _, sa = principal.split("/")
                assert trust_domain == "cluster.local"
                for port in ports:
                    triples.append((by_identity[(ns, sa)], destination, port))
    return triples
