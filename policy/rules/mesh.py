"""Service mesh (Kuma, Istio ambient, Linkerd, Consul): strict mTLS outside dev, enrolled namespaces, default deny."""

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
LINKERD_SERVER = ("kubernetes:policy.linkerd.io/v1beta3:Server",)
LINKERD_AUTHZ = ("kubernetes:policy.linkerd.io/v1alpha1:AuthorizationPolicy",)
LINKERD_MTLS_AUTHN = ("kubernetes:policy.linkerd.io/v1alpha1:MeshTLSAuthentication",)
LINKERD_NET_AUTHN = ("kubernetes:policy.linkerd.io/v1alpha1:NetworkAuthentication",)
LINKERD_POLICIES = LINKERD_SERVER + LINKERD_AUTHZ + LINKERD_MTLS_AUTHN + LINKERD_NET_AUTHN
CONSUL_INTENTIONS = ("kubernetes:consul.hashicorp.com/v1alpha1:ServiceIntentions",)
CONSUL_PROXY_DEFAULTS = ("kubernetes:consul.hashicorp.com/v1alpha1:ProxyDefaults",)
NAMESPACE = "kubernetes:core/v1:Namespace"
#: Namespaces of the meshes themselves (policies there apply mesh-wide) and of Kubernetes.
SYSTEM_NAMESPACES = ("kuma-system", "istio-system", "linkerd", "consul", "kube-system")
ISTIO_ROOT = "istio-system"
#: The load balancer's targets: a Gateway's data plane, on its listener ports, marked by the program.
#: Only these may accept plaintext and any source (the load balancer is outside the mesh).
ENTRY_POINT_LABEL = "airflow-mesh/entry-point"
GATEWAY_POD_LABEL = "gateway.networking.k8s.io/gateway-name"
LISTENER_PORTS = {"80", "443"}
#: Where a namespace says it is in a mesh, per mesh: (metadata field, key, value meaning "in the mesh").
#: Linkerd's injector reads an annotation, not a label.
ENROLMENT = {
    "kuma": ("labels", "kuma.io/sidecar-injection", "enabled"),
    "istio": ("labels", "istio.io/dataplane-mode", "ambient"),
    "linkerd": ("annotations", "linkerd.io/inject", "enabled"),
    "consul": ("labels", "consul.hashicorp.com/connect-inject", "enabled"),
}


def is_entry_point(r: Resource) -> bool:
    """A marked policy that selects a Gateway's data-plane pods."""
    labels = r.get("metadata.labels") or {}
    selector = r.get("spec.selector.matchLabels") or r.get("spec.podSelector.matchLabels") or {}
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
    elif r.type in CONSUL_PROXY_DEFAULTS:
        mode = r.get("spec.mutualTLSMode")
        modes.append(("spec.mutualTLSMode", "UNSET" if mode in (None, "") else mode))
    elif r.type in LINKERD_SERVER:
        # Linkerd always uses mTLS between proxies; what a Server lets through unauthorized is the gap:
        # "audit" is Linkerd's permissive (dev only), anything but deny/audit opens the port.
        policy = r.get("spec.accessPolicy")
        if known(policy) and policy not in (None, "deny", "audit"):
            yield f"spec.accessPolicy is {policy}: only what an AuthorizationPolicy allows may reach a Server"
        modes.append(("spec.accessPolicy", "PERMISSIVE" if policy == "audit" else None))
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


def mesh_of(metadata: dict[str, Any]) -> list[str]:
    found = []
    for mesh, (where, key, value) in ENROLMENT.items():
        values = metadata.get(where) or {}
        if known(values) and values.get(key) == value:
            found.append(mesh)
    return found


def check_namespaces(resources: Sequence[Resource], _stack: Stack) -> Iterator[tuple[Resource | None, str]]:
    namespaces = {r.get("metadata.name"): r for r in resources if r.type == NAMESPACE and known(r.get("metadata.name"))}
    policy_types = KUMA_MESH_TLS + KUMA_PERMISSION + ISTIO_PEER_AUTH + ISTIO_AUTHZ + LINKERD_POLICIES
    referenced: dict[str, str] = {}
    for r in resources:
        ns = r.get("metadata.namespace")
        if r.type in policy_types and known(ns) and ns and ns not in SYSTEM_NAMESPACES:
            referenced.setdefault(ns, r.name)
        if r.type == "kubernetes:helm.sh/v3:Release" and r.get("chart") == "airflow" and known(r.get("namespace")):
            referenced.setdefault(r.get("namespace"), r.name)
    meshes: dict[str, list[str]] = {}
    for name, ns in namespaces.items():
        metadata = ns.get("metadata") or {}
        if not known(metadata) or not known(metadata.get("labels") or {}):
            continue
        enrolled = mesh_of(metadata)
        for mesh in enrolled:
            meshes.setdefault(mesh, []).append(name)
        if len(enrolled) > 1:
            yield ns, f"namespace {name} is enrolled in {' and '.join(enrolled)}"
        if name in referenced and not enrolled:
            marks = " or ".join(f"{where[:-1]} {k}={v}" for where, k, v in ENROLMENT.values())
            yield (
                ns,
                f"namespace {name} holds meshed workloads ({referenced[name]}) but carries no mesh enrolment "
                f"({marks}): its pods would run outside the mesh",
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


def _linkerd_allow_all(r: Resource) -> Iterator[str]:
    entry_point = (r.get("metadata.labels") or {}).get(ENTRY_POINT_LABEL) == "true"
    if r.type in LINKERD_MTLS_AUTHN:
        for identity in as_list(r.get("spec.identities")):
            if str(identity).startswith("*"):
                yield f"spec.identities allows {identity!r}: name the ServiceAccounts the access model lists"
        for ref in as_list(r.get("spec.identityRefs")):
            if isinstance(ref, dict) and not ref.get("name"):
                yield f"spec.identityRefs allows every {ref.get('kind')} of a namespace; name one"
    elif r.type in LINKERD_NET_AUTHN and not entry_point:
        yield "a NetworkAuthentication admits by address, not identity; only the entry point may use one"
    elif r.type in LINKERD_AUTHZ and not entry_point:
        for ref in as_list(r.get("spec.requiredAuthenticationRefs")):
            if isinstance(ref, dict) and ref.get("kind") in ("NetworkAuthentication", "ServiceAccount"):
                yield f"requires a {ref['kind']} only; name the MeshTLSAuthentication of the access model's source"
        if r.get("spec.targetRef.kind") == "Namespace":
            yield "targets a whole namespace; target the Server of one access-model edge"


def _consul_allow_all(r: Resource) -> Iterator[str]:
    destination = r.get("spec.destination.name")
    for i, source in enumerate(as_list(r.get("spec.sources"))):
        if not isinstance(source, dict):
            continue
        action = source.get("action") or ("allow" if not source.get("permissions") else None)
        if action == "allow" and source.get("name") == "*":
            yield f"spec.sources[{i}] allows every service to {destination}; name the access model's sources"
    if destination == "*" and any(
        isinstance(x, dict) and x.get("action") == "allow" for x in as_list(r.get("spec.sources"))
    ):
        yield "allows into every service (destination *); only deny may target *"


def check_no_allow_all(r: Resource, _stack: Stack) -> Iterator[str]:
    if r.type in KUMA_PERMISSION:
        yield from _kuma_allow_all(r)
    elif r.type in CONSUL_INTENTIONS:
        yield from _consul_allow_all(r)
    elif r.type in LINKERD_POLICIES:
        yield from _linkerd_allow_all(r)
    else:
        yield from _istio_allow_all(r)


RULES = [
    Rule(
        name="mesh-mtls-strict-outside-dev",
        description="Mesh mTLS (Kuma MeshTLS/Mesh, Istio PeerAuthentication, Linkerd Server, Consul ProxyDefaults) is "
        "Strict outside dev "
        "and never disabled.",
        check=check_mtls,
        types=KUMA_MESH_TLS + KUMA_MESH + ISTIO_PEER_AUTH + LINKERD_SERVER + CONSUL_PROXY_DEFAULTS,
        remediation="airflow-mesh:meshTlsMode=strict; permissive (Linkerd: audit) is accepted in dev only.",
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
        types=KUMA_PERMISSION + ISTIO_AUTHZ + LINKERD_POLICIES + CONSUL_INTENTIONS,
    ),
]
