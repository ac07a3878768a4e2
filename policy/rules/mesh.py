"""Service mesh (Kuma or Istio ambient): strict mTLS outside dev, labelled namespaces, default deny."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .model import Resource, Rule, Stack, as_list, dig, known

KUMA_MESH_TLS = ("kubernetes:kuma.io/v1alpha1:MeshTLS",)
KUMA_MESH = ("kubernetes:kuma.io/v1alpha1:Mesh",)
KUMA_PERMISSION = ("kubernetes:kuma.io/v1alpha1:MeshTrafficPermission",)
ISTIO_PEER_AUTH = (
    "kubernetes:security.istio.io/v1:PeerAuthentication",
    "kubernetes:security.istio.io/v1beta1:PeerAuthentication",
)
ISTIO_AUTHZ = (
    "kubernetes:security.istio.io/v1:AuthorizationPolicy",
    "kubernetes:security.istio.io/v1beta1:AuthorizationPolicy",
)
NAMESPACE = "kubernetes:core/v1:Namespace"
#: Namespaces of the meshes themselves (policies there apply mesh-wide) and of Kubernetes.
SYSTEM_NAMESPACES = ("kuma-system", "istio-system", "kube-system")
ISTIO_ROOT = "istio-system"
#: The label that enrols a namespace, and the value that means "in the mesh", per mesh.
#: The load balancer's targets: a Gateway's data plane, on its listener ports, marked by the program.
#: Only these may accept plaintext and any source (the load balancer is outside the mesh).
ENTRY_POINT_LABEL = "airflow-mesh/entry-point"
GATEWAY_POD_LABEL = "gateway.networking.k8s.io/gateway-name"
LISTENER_PORTS = {"80", "443"}
ENROLMENT = {"kuma": ("kuma.io/sidecar-injection", "enabled"), "istio": ("istio.io/dataplane-mode", "ambient")}


def is_entry_point(r: Resource) -> bool:
    """A marked policy that selects a Gateway's data-plane pods."""
    labels = r.get("metadata.labels") or {}
    selector = r.get("spec.selector.matchLabels") or {}
    return (
        known(labels) and labels.get(ENTRY_POINT_LABEL) == "true" and known(selector) and GATEWAY_POD_LABEL in selector
    )


def check_mtls(r: Resource, stack: Stack) -> Iterator[str]:
    modes: list[tuple[str, Any]] = []
    if r.type in KUMA_MESH_TLS:
        modes += [("spec.from[].default.mode", dig(f, "default.mode")) for f in as_list(r.get("spec.from"))]
        modes += [("spec.rules[].default.mode", dig(f, "default.mode")) for f in as_list(r.get("spec.rules"))]
    elif r.type in KUMA_MESH:
        modes += [("spec.mtls.backends[].mode", b.get("mode")) for b in as_list(r.get("spec.mtls.backends"))]
    else:
        mode = r.get("spec.mtls.mode")
        mesh_wide = r.get("metadata.namespace") == ISTIO_ROOT and not r.get("spec.selector")
        modes.append(("spec.mtls.mode", "UNSET" if mode is None and mesh_wide else mode))
        for port, setting in (r.get("spec.portLevelMtls") or {}).items():
            if is_entry_point(r) and str(port) in LISTENER_PORTS and dig(setting, "mode") == "PERMISSIVE":
                continue  # the load balancer speaks plaintext to the gateway's listeners
            modes.append((f"spec.portLevelMtls.{port}.mode", dig(setting, "mode")))
    for where, mode in modes:
        if not known(mode) or mode is None:
            continue
        text = str(mode).upper()
        if text == "DISABLE":
            yield f"{where} is DISABLE: plain text between meshed workloads is never allowed"
        elif text in ("PERMISSIVE", "UNSET") and not stack.is_dev:
            yield f"{where} is {mode} in {stack.environment}; mTLS is strict outside dev"


def mesh_of(labels: dict[str, Any]) -> list[str]:
    return [mesh for mesh, (key, value) in ENROLMENT.items() if labels.get(key) == value]


def check_namespaces(resources: Sequence[Resource], _stack: Stack) -> Iterator[tuple[Resource | None, str]]:
    namespaces = {r.get("metadata.name"): r for r in resources if r.type == NAMESPACE and known(r.get("metadata.name"))}
    policy_types = KUMA_MESH_TLS + KUMA_PERMISSION + ISTIO_PEER_AUTH + ISTIO_AUTHZ
    referenced: dict[str, str] = {}
    for r in resources:
        ns = r.get("metadata.namespace")
        if r.type in policy_types and known(ns) and ns and ns not in SYSTEM_NAMESPACES:
            referenced.setdefault(ns, r.name)
        if r.type == "kubernetes:helm.sh/v3:Release" and r.get("chart") == "airflow" and known(r.get("namespace")):
            referenced.setdefault(r.get("namespace"), r.name)
    meshes: dict[str, list[str]] = {}
    for name, ns in namespaces.items():
        labels = ns.get("metadata.labels") or {}
        if not known(labels):
            continue
        enrolled = mesh_of(labels)
        for mesh in enrolled:
            meshes.setdefault(mesh, []).append(name)
        if len(enrolled) > 1:
            yield ns, f"namespace {name} is labelled for both Kuma and Istio"
        if name in referenced and not enrolled:
            yield (
                ns,
                (
                    f"namespace {name} holds meshed workloads ({referenced[name]}) but carries no mesh label "
                    f"({' or '.join(f'{k}={v}' for k, v in ENROLMENT.values())}): its pods would run outside the mesh"
                ),
            )
    if len(meshes) > 1:
        yield None, f"namespaces are enrolled in two meshes: {meshes}"


def _kuma_allow_all(r: Resource) -> Iterator[str]:
    for f in as_list(r.get("spec.from")):
        action = dig(f, "default.action")
        if dig(f, "targetRef.kind") == "Mesh" and action in ("Allow", "AllowWithShadowDeny"):
            yield f"allows every identity of the mesh (from: kind Mesh, action {action})"
    for rule in as_list(r.get("spec.rules")):
        for kind in ("allow", "allowWithShadowDeny"):
            for match in as_list(dig(rule, f"default.{kind}")):
                spiffe = dig(match, "spiffeID") or {}
                value = str(spiffe.get("value", ""))
                if (
                    spiffe.get("type") == "Prefix"
                    and value.startswith("spiffe://")
                    and value[9:].strip("/").count("/") == 0
                ):
                    yield f"allows every identity of trust domain {value} (spiffeID Prefix)"


def _istio_allow_all(r: Resource) -> Iterator[str]:
    action = r.get("spec.action") or "ALLOW"
    if action != "ALLOW":
        return
    for i, rule in enumerate(as_list(r.get("spec.rules"))):
        if not isinstance(rule, dict):
            continue
        sources = [dig(f, "source") for f in as_list(rule.get("from"))]
        ports = {str(p) for t in as_list(rule.get("to")) for p in as_list(dig(t, "operation.ports"))}
        if is_entry_point(r) and not sources and ports and ports <= LISTENER_PORTS:
            continue  # any source may reach the gateway's listeners: that is the load balancer
        if not rule.get("when") and (not sources or any(not s for s in sources)):
            yield f"spec.rules[{i}] allows any source; name the principals the access model lists"


def check_no_allow_all(r: Resource, _stack: Stack) -> Iterator[str]:
    yield from _kuma_allow_all(r) if r.type in KUMA_PERMISSION else _istio_allow_all(r)


RULES = [
    Rule(
        name="mesh-mtls-strict-outside-dev",
        description="Mesh mTLS (Kuma MeshTLS/Mesh, Istio PeerAuthentication) is Strict outside dev and never disabled.",
        check=check_mtls,
        types=KUMA_MESH_TLS + KUMA_MESH + ISTIO_PEER_AUTH,
        remediation="airflow-mesh:meshTlsMode=strict; permissive is accepted in dev only.",
    ),
    Rule(
        name="mesh-namespaces-labelled",
        description="Every namespace that holds meshed workloads (mesh policies, the Airflow release) is labelled for "
        "the stack's one mesh.",
        check=check_namespaces,
        scope="stack",
        remediation="Create it through components.identity.namespaces.Namespaces with mesh.namespace_labels(provider).",
    ),
    Rule(
        name="mesh-no-allow-all",
        description="No mesh traffic permission allows every identity: default deny, only what the access model lists.",
        check=check_no_allow_all,
        types=KUMA_PERMISSION + ISTIO_AUTHZ,
    ),
]
