"""Mesh wiring: which pods the mesh enrolls, and whether every mesh policy selects something.

Enrollment is learned from the recorded objects, as the mesh's injector/CNI decides it:

- Kuma 2.14 (docs "Data plane on Kubernetes"): a namespace labelled
  ``kuma.io/sidecar-injection: enabled`` gets a sidecar in every pod, unless the pod is labelled
  ``kuma.io/sidecar-injection: disabled`` or uses the host network (the injector skips those).
- Istio 1.30 ambient (docs "ambient/usage/add-workloads"): namespace label
  ``istio.io/dataplane-mode: ambient``; a pod opts out with ``istio.io/dataplane-mode: none``;
  host-network pods are never captured. Sidecar mode: ``istio-injection: enabled`` and pod label
  ``sidecar.istio.io/inject: "false"`` to opt out.
- Linkerd edge-26.8.3 (docs/2-edge/features/proxy-injection): namespace *annotation*
  ``linkerd.io/inject: enabled``; a pod opts out with the annotation ``linkerd.io/inject: disabled``.
- Consul (consul-k8s 1.9.11 charts ``connectInject.namespaceSelector``, the program's
  components/mesh/consul/values.py): namespace label ``consul.hashicorp.com/connect-inject: enabled``;
  a pod opts out with the annotation ``consul.hashicorp.com/connect-inject: "false"``.

Linkerd policies select by ``Server`` (``podSelector`` and ``port``) and are bound by an
``AuthorizationPolicy`` whose ``targetRef`` names a Server (or the namespace); Consul intentions name
*Consul services*, which consul-k8s' endpoints controller registers per Kubernetes Service selecting
the pod (control-plane/connect-inject/controllers/endpoints), or ``ServiceDefaults`` destinations
that a terminating gateway serves.

A policy whose selector matches no enrolled pod (or whose port no selected container has, or
whose source identity no enrolled pod holds) does nothing: the traffic it was written for is denied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from components import versions
from components.mesh.linkerd.exits import TLS_ROUTE_READ_VERSION
from proof.objects import ObjectSet
from proof.pods import PodView, pods, selects
from proof.reviewed import load, matches
from proof.wiring import Finding

_KUMA_SYSTEM = "kuma-system"
_ISTIO_ROOT = "istio-system"
_LINKERD_INJECT = "linkerd.io/inject"
_CONSUL_INJECT = "consul.hashicorp.com/connect-inject"
_IDENTITY = re.compile(r"(?:^|/)ns/([^/]+)/sa/([^/]+)$")


def provider(objects: ObjectSet) -> str | None:
    """``kuma``, ``istio``, ``linkerd``, ``consul`` or None, from the policies and control planes in the set."""
    groups = {
        o.api_version.split("/")[0]
        for o in objects.objects
        if o.source != "crds/" and o.kind != "CustomResourceDefinition"
    }
    if "kuma.io" in groups:
        return "kuma"
    if "security.istio.io" in groups or objects.find("Deployment", "istio-system", "istiod"):
        return "istio"
    if "policy.linkerd.io" in groups:
        return "linkerd"
    if "consul.hashicorp.com" in groups:
        return "consul"
    return None


def meshed_namespaces(objects: ObjectSet) -> set[str]:
    """Namespaces whose pods the mesh captures by default."""
    out = set()
    for ns in objects.of_kind("Namespace"):
        labels = (ns.body.get("metadata") or {}).get("labels") or {}
        if labels.get("kuma.io/sidecar-injection") == "enabled" or labels.get("istio.io/dataplane-mode") == "ambient":
            out.add(ns.name)
        if labels.get("istio-injection") == "enabled" or labels.get(_CONSUL_INJECT) == "enabled":
            out.add(ns.name)
        if ((ns.body.get("metadata") or {}).get("annotations") or {}).get(_LINKERD_INJECT) == "enabled":
            out.add(ns.name)
    return out


def opted_out(pod: PodView) -> str | None:
    """Why the mesh leaves this pod out, or None if it is enrolled (in a meshed namespace)."""
    if pod.spec.get("hostNetwork"):
        return "hostNetwork"
    for key, value in (
        ("kuma.io/sidecar-injection", "disabled"),
        ("istio.io/dataplane-mode", "none"),
        ("sidecar.istio.io/inject", "false"),
        (_LINKERD_INJECT, "disabled"),
        (_CONSUL_INJECT, "false"),
    ):
        if pod.labels.get(key) == value or pod.annotations.get(key) == value:
            return f"{key}={value}"
    return None


def enrolled(objects: ObjectSet) -> list[PodView]:
    meshed = meshed_namespaces(objects)
    return [p for p in pods(objects) if p.namespace in meshed and not opted_out(p)]


def enrollment(objects: ObjectSet, exclusions: tuple[dict[str, Any], ...] | None = None) -> list[Finding]:
    """Pods in a meshed namespace that the mesh leaves out without a reviewed reason."""
    exclusions = load("mesh_exclusions") if exclusions is None else exclusions
    meshed = meshed_namespaces(objects)
    out = []
    for pod in pods(objects):
        why = opted_out(pod) if pod.namespace in meshed else None
        if why and not any(matches(e["pod"], pod.owner.ref()) for e in exclusions):
            out.append(
                Finding("mesh", pod.ref(), f"in meshed namespace {pod.namespace} but left out ({why}), unreviewed")
            )
    return out


def policy_targets(objects: ObjectSet) -> list[Finding]:
    """Every Kuma/Istio policy selects at least one enrolled pod (and port), and every source
    identity it admits is held by an enrolled pod."""
    members = enrolled(objects)
    out: list[Finding] = []
    for policy in objects.objects:
        group = policy.api_version.split("/")[0]
        if policy.source == "crds/" or group not in ("kuma.io", "security.istio.io"):
            continue
        spec = policy.body.get("spec") or {}
        ns = policy.namespace
        if group == "kuma.io" and isinstance(spec.get("targetRef"), dict):
            scope = [p for p in members if ns in (None, _KUMA_SYSTEM) or p.namespace == ns]
            out.extend(_kuma_target(policy.ref(), spec["targetRef"], scope, objects))
            for rule in spec.get("rules") or []:
                for verdict in ("allow", "deny", "allowWithShadowDeny"):
                    for match in (rule.get("default") or {}).get(verdict) or []:
                        spiffe = (match.get("spiffeID") or {}).get("value")
                        if spiffe and not _identity_held(spiffe, members):
                            out.append(Finding("mesh-policy", policy.ref(), f"no enrolled pod holds {spiffe}"))
        elif group == "security.istio.io" and policy.kind in ("AuthorizationPolicy", "PeerAuthentication"):
            out.extend(_istio(policy.ref(), ns, spec, members))
    out.extend(linkerd_targets(objects, members))
    out.extend(consul_targets(objects, members))
    return out


def linkerd_targets(objects: ObjectSet, members: list[PodView]) -> list[Finding]:
    """Every Server selects an enrolled pod with its port; every AuthorizationPolicy targets a
    Server (or Namespace) that exists and requires authentications that exist; every
    MeshTLSAuthentication names service accounts that enrolled pods run as."""
    out: list[Finding] = []
    linkerd = [o for o in objects.objects if o.api_version.startswith("policy.linkerd.io/") and o.source != "crds/"]
    for server in (o for o in linkerd if o.kind == "Server"):
        spec = server.body.get("spec") or {}
        chosen = [p for p in members if p.namespace == server.namespace and selects(spec.get("podSelector"), p.labels)]
        if not chosen:
            out.append(
                Finding("mesh-policy", server.ref(), f"podSelector {spec.get('podSelector')} matches no enrolled pod")
            )
            continue
        port = spec.get("port")
        ports = {str(x) for p in chosen for c in p.containers() for x in _container_ports(c)} | {
            n for p in chosen for n in _port_names(p)
        }
        if str(port) not in ports:
            out.append(Finding("mesh-policy", server.ref(), f"port {port} is no container port of {_names(chosen)}"))
    for policy in (o for o in linkerd if o.kind == "AuthorizationPolicy"):
        spec = policy.body.get("spec") or {}
        for ref in [spec.get("targetRef") or {}, *(spec.get("requiredAuthenticationRefs") or [])]:
            kind, name = ref.get("kind"), ref.get("name")
            if kind == "Namespace" or (kind == "ServiceAccount" and ref is not spec.get("targetRef")):
                continue
            if objects.find(str(kind), ref.get("namespace") or policy.namespace, str(name)) is None:
                out.append(Finding("mesh-policy", policy.ref(), f"{kind} {name} does not exist"))
    for authn in (o for o in linkerd if o.kind == "MeshTLSAuthentication"):
        for ref in (authn.body.get("spec") or {}).get("identityRefs") or []:
            ns = ref.get("namespace") or authn.namespace
            if ref.get("kind") == "ServiceAccount" and not _identity_held(f"ns/{ns}/sa/{ref.get('name')}", members):
                out.append(Finding("mesh-policy", authn.ref(), f"no enrolled pod runs as {ns}/{ref.get('name')}"))
    return out


def consul_services(objects: ObjectSet, members: list[PodView]) -> set[str]:
    """Consul service names the set registers: each Kubernetes Service (in a meshed namespace) that
    selects an enrolled pod, a pod's ``consul.hashicorp.com/connect-service`` annotation, the
    ServiceDefaults destinations, and the terminating gateway."""
    names = {
        p.annotations["consul.hashicorp.com/connect-service"]
        for p in members
        if "consul.hashicorp.com/connect-service" in p.annotations
    }
    for svc in objects.of_kind("Service"):
        selector = (svc.body.get("spec") or {}).get("selector")
        if selector and any(p.namespace == svc.namespace and selects(selector, p.labels) for p in members):
            names.add(svc.name)
    for defaults in objects.of_kind("ServiceDefaults"):
        if (defaults.body.get("spec") or {}).get("destination"):
            names.add(defaults.name)
    names |= {o.name for o in objects.of_kind("TerminatingGateway")}
    return names


def consul_targets(objects: ObjectSet, members: list[PodView]) -> list[Finding]:
    """Every ServiceIntentions destination and source, and every service a TerminatingGateway
    serves, is a Consul service the set registers (``*`` is every service)."""
    intentions = [o for o in objects.of_kind("ServiceIntentions") if o.api_version.startswith("consul.hashicorp.com/")]
    gateways = objects.of_kind("TerminatingGateway")
    if not intentions and not gateways:
        return []
    known = consul_services(objects, members) | {"*"}
    out = []
    for o in intentions:
        spec = o.body.get("spec") or {}
        named = [("destination", (spec.get("destination") or {}).get("name"))]
        named += [("source", s.get("name")) for s in spec.get("sources") or []]
        out.extend(
            Finding("mesh-policy", o.ref(), f"{role} {n} is no Consul service") for role, n in named if n not in known
        )
    for gw in gateways:
        for svc in (gw.body.get("spec") or {}).get("services") or []:
            if svc.get("name") not in known:
                out.append(Finding("mesh-policy", gw.ref(), f"service {svc.get('name')} is no Consul service"))
    return out


def _kuma_target(ref: str, target: dict[str, Any], scope: list[PodView], objects: ObjectSet) -> list[Finding]:
    kind = target.get("kind")
    if kind == "Mesh":
        return [] if scope else [Finding("mesh-policy", ref, "targets the Mesh but no pod is enrolled")]
    if kind in ("Dataplane", "MeshSubset"):
        labels = target.get("labels") or target.get("tags") or {}
        chosen = [p for p in scope if selects(labels, {**p.labels, "k8s.kuma.io/namespace": p.namespace})]
        if not chosen:
            return [Finding("mesh-policy", ref, f"targetRef {kind} {labels} matches no enrolled pod")]
        section = target.get("sectionName")
        if section and not any(section in _port_names(p) for p in chosen):
            return [Finding("mesh-policy", ref, f"sectionName {section} is no port of the selected pods")]
        return []
    if kind == "MeshService":
        ns = target.get("namespace") or (scope[0].namespace if scope else None)
        if not any(
            s.name == target.get("name") and (ns is None or s.namespace == ns) for s in objects.of_kind("Service")
        ):
            return [Finding("mesh-policy", ref, f"targetRef MeshService {target.get('name')} does not exist")]
    return []


def _istio(ref: str, ns: str | None, spec: dict[str, Any], members: list[PodView]) -> list[Finding]:
    out = []
    selector = spec.get("selector")
    if selector is None and ns == _ISTIO_ROOT:
        return out  # a root-namespace policy without selector applies mesh-wide
    chosen = [p for p in members if p.namespace == ns and selects(selector, p.labels)]
    if not chosen:
        return [Finding("mesh-policy", ref, f"selector {selector} matches no enrolled pod in {ns}")]
    ports = {str(port) for p in chosen for c in p.containers() for port in _container_ports(c)}
    for rule in spec.get("rules") or []:
        for to in rule.get("to") or []:
            for port in (to.get("operation") or {}).get("ports") or []:
                if str(port) not in ports:
                    out.append(Finding("mesh-policy", ref, f"port {port} is no container port of {_names(chosen)}"))
        for source in rule.get("from") or []:
            for principal in (source.get("source") or {}).get("principals") or []:
                if not _identity_held(principal, members):
                    out.append(Finding("mesh-policy", ref, f"no enrolled pod holds principal {principal}"))
    for port in spec.get("portLevelMtls") or {}:
        if str(port) not in ports:
            out.append(Finding("mesh-policy", ref, f"portLevelMtls {port} is no container port of {_names(chosen)}"))
    return out


def _identity_held(identity: str, members: list[PodView]) -> bool:
    match = _IDENTITY.search(identity)
    if not match:
        return True  # not a namespace/service-account identity (a trust-domain wildcard): nothing to check
    ns, sa = match.groups()
    return any(p.namespace == ns and p.service_account == sa for p in members)


def _container_ports(container: dict[str, Any]) -> list[int]:
    return [p["containerPort"] for p in container.get("ports") or [] if "containerPort" in p]


def _port_names(pod: PodView) -> set[str]:
    return {str(p.get("name")) for c in pod.containers() for p in c.get("ports") or []}


def _names(chosen: list[PodView]) -> str:
    return ", ".join(sorted({p.owner.ref() for p in chosen}))


@dataclass(frozen=True)
class Watch:
    """A kind a mesh controller reads at one version. ``required``: the controller does not start
    without it (controller-runtime's informers never sync, so the process exits); otherwise only
    objects of that kind are invisible to it."""

    group: str
    kind: str
    version: str
    required: bool
    source: str


_GW = "gateway.networking.k8s.io"
_CONSUL_GATEWAY_CONTROLLER = "consul-k8s v1.9.11 control-plane/api-gateway/controllers/gateway_controller.go"

#: What each mesh's controllers read of the Gateway API, from their source:
#: - Linkerd edge-26.8.3's policy controller pins TLSRoute to v1alpha2 (linkerd2
#:   policy-controller/k8s/api/src/lib.rs ``gateway::TLSRoute``) and skips the watch when that version
#:   is not served (policy-controller/runtime/src/args.rs ``api_resource_exists``).
#: - Consul's API-gateway controllers are always registered by connect-inject
#:   (control-plane/subcommand/inject-connect/v1controllers.go) and watch these kinds unconditionally.
WATCHED: dict[str, tuple[Watch, ...]] = {
    "linkerd": (
        Watch(_GW, "TLSRoute", TLS_ROUTE_READ_VERSION, False, "linkerd2 policy-controller/k8s/api/src/lib.rs"),
    ),
    "consul": tuple(
        Watch(_GW, kind, version, True, _CONSUL_GATEWAY_CONTROLLER)
        for kind, version in (
            ("Gateway", "v1beta1"),
            ("GatewayClass", "v1beta1"),
            ("HTTPRoute", "v1beta1"),
            ("ReferenceGrant", "v1beta1"),
            ("TCPRoute", "v1alpha2"),
        )
    ),
}


def served_versions(objects: ObjectSet, group: str, kind: str) -> tuple[set[str], str]:
    """The versions the set's CRD of ``kind`` serves, and where that was read: the set's CRD, or, for a
    Gateway API kind the offline copies lack (offline data gap G2: they hold 5 of the release's CRD files,
    their kustomization.yaml lists the rest), :data:`components.versions.GATEWAY_API_SERVED`, read from
    kubernetes-sigs/gateway-api at the pinned tag."""
    crds = [c for c in objects.crds() if c["spec"]["group"] == group and c["spec"]["names"]["kind"] == kind]
    if crds:
        return {v["name"] for c in crds for v in c["spec"].get("versions") or [] if v.get("served")}, "its CRD"
    version, channel = objects.gateway_api or ("", "")
    pinned = group == _GW and version == versions.GATEWAY_API_VERSION
    gap = versions.GATEWAY_API_SERVED.get(channel, {}) if pinned else {}
    if kind in gap:
        return set(gap[kind]), f"Gateway API {version} {channel} (offline gap G2)"
    return set(), "no CRD in the set"


def watched_versions(objects: ObjectSet) -> list[Finding]:
    """Kinds a mesh controller reads at a version the cluster does not serve: a required watch stops the
    controller; otherwise the objects of that kind (Linkerd's TLS exits) never take effect."""
    out = []
    for watch in WATCHED.get(provider(objects) or "", ()):
        users = [o for o in objects.of_kind(watch.kind) if o.api_version.startswith(f"{watch.group}/")]
        if not users and not watch.required:
            continue
        served, where = served_versions(objects, watch.group, watch.kind)
        if watch.version in served:
            continue
        what = "the controller cannot start" if watch.required else f"{len(users)} objects unseen"
        out.append(
            Finding(
                "mesh-watch",
                users[0].ref() if users else f"{watch.kind} ({watch.source})",
                f"the mesh reads {watch.group}/{watch.version} {watch.kind}; {where} serves {sorted(served)}: {what}",
            )
        )
    return out
