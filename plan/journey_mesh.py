"""The mesh's decision on one connection, read back from the recorded policies of each provider.

One reader per ``meshProvider`` (:data:`READERS`): it finds the recorded object that admits a source
identity to a destination's pods on a port, or says what denies (every provider runs default deny).
A provider without a reader answers "denied: no reader", so a new provider shows up in the journey
tests until its reader exists.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from components.access_model import AccessModel, Workload
from components.platform import OAUTH2_PROXY_RELEASE
from plan import harness
from plan.hops import Hop

Reader = Callable[[harness.Plan, AccessModel, Workload, Workload, int], tuple[bool, str]]

RELEASE = "kubernetes:helm.sh/v3:Release"
#: Providers whose data plane still carries (and authorizes) a connection addressed to a pod IP: Istio
#: ambient's ztunnel captures by destination pod, Linkerd's proxy resolves pod IPs to identities.
POD_IP_CARRIED = {"istio": "ztunnel captures pod-IP traffic too", "linkerd": "the proxy resolves pod IPs"}
UPSTREAM_SETTINGS = "kubernetes:gateway.nginx.org/v1alpha1:UpstreamSettingsPolicy"


def _objects(plan: harness.Plan, kind: str, namespace: str) -> list[dict[str, Any]]:
    return [
        r["inputs"]
        for r in plan.resources
        if r["type"].endswith(f":{kind}") and r["inputs"].get("metadata", {}).get("namespace") == namespace
    ]


def _kuma(plan: harness.Plan, model: AccessModel, source: Workload, dest: Workload, port: int) -> tuple[bool, str]:
    """MeshTrafficPermission on the destination's Dataplanes (by labels) with the source's SPIFFE id.
    Kuma permissions carry no port: one admits the source to every port of the destination."""
    suffix = f"/ns/{source.namespace}/sa/{source.service_account}"
    for mtp in _objects(plan, "MeshTrafficPermission", dest.namespace):
        target = mtp["spec"]["targetRef"]
        if target.get("kind") != "Dataplane" or target.get("labels") != dict(dest.selector):
            continue
        for rule in mtp["spec"]["rules"]:
            for match in rule["default"].get("allow", []):
                if match["spiffeID"]["value"].endswith(suffix):
                    return True, f"MeshTrafficPermission {dest.namespace}/{mtp['metadata']['name']}"
    return False, "no MeshTrafficPermission admits it (MeshTLS Strict, initial allow-all skipped: default deny)"


def _istio(plan: harness.Plan, model: AccessModel, source: Workload, dest: Workload, port: int) -> tuple[bool, str]:
    """ALLOW AuthorizationPolicy selecting the destination with the source's principal and the port."""
    principal = f"cluster.local/ns/{source.namespace}/sa/{source.service_account}"
    for policy in _objects(plan, "AuthorizationPolicy", dest.namespace):
        spec = policy.get("spec") or {}
        if spec.get("action", "ALLOW") != "ALLOW" or spec.get("selector", {}).get("matchLabels") != dict(dest.selector):
            continue
        for rule in spec.get("rules", []):
            principals = [p for f in rule.get("from", []) for p in f["source"].get("principals", [])]
            ports = [int(p) for t in rule.get("to", []) for p in t["operation"].get("ports", [])]
            if principal in principals and port in ports:
                return True, f"AuthorizationPolicy {dest.namespace}/{policy['metadata']['name']}"
    return False, "no AuthorizationPolicy admits it (a workload with any ALLOW policy denies the rest)"


def _linkerd(plan: harness.Plan, model: AccessModel, source: Workload, dest: Workload, port: int) -> tuple[bool, str]:
    """AuthorizationPolicy -> Server (the destination's pods, one port) requiring a MeshTLSAuthentication
    that names the source's ServiceAccount. Linkerd's default policy here is deny."""
    servers = {o["metadata"]["name"]: o["spec"] for o in _objects(plan, "Server", dest.namespace)}
    authns = {o["metadata"]["name"]: o["spec"] for o in _objects(plan, "MeshTLSAuthentication", dest.namespace)}
    wanted = ("ServiceAccount", source.namespace, source.service_account)
    for policy in _objects(plan, "AuthorizationPolicy", dest.namespace):
        spec = policy.get("spec") or {}
        target = spec.get("targetRef", {})
        server = servers.get(target.get("name", "")) if target.get("kind") == "Server" else None
        if not server or server.get("podSelector", {}).get("matchLabels") != dict(dest.selector):
            continue
        if server.get("port") != port:
            continue
        for ref in spec.get("requiredAuthenticationRefs", []):
            if ref.get("kind") != "MeshTLSAuthentication" or ref.get("name") not in authns:
                continue
            for identity in authns[ref["name"]].get("identityRefs", []):
                if (identity.get("kind"), identity.get("namespace"), identity.get("name")) == wanted:
                    name = f"{dest.namespace}/{policy['metadata']['name']}"
                    return True, f"AuthorizationPolicy {name} (Server {target['name']})"
    return False, "no AuthorizationPolicy on a Server of that port admits it (default deny)"


def _consul(plan: harness.Plan, model: AccessModel, source: Workload, dest: Workload, port: int) -> tuple[bool, str]:
    """ServiceIntentions to the destination's service (Consul service name = ServiceAccount name) with
    the source allowed; intentions carry no port. ACLs default deny."""
    for r in plan.resources:
        if not r["type"].endswith(":ServiceIntentions"):
            continue
        spec = r["inputs"]["spec"]
        if spec["destination"]["name"] != dest.service_account:
            continue
        for src in spec.get("sources", []):
            if src.get("name") == source.service_account and src.get("action") == "allow":
                return True, f"ServiceIntentions {r['inputs']['metadata']['name']}"
    return False, "no ServiceIntentions allows it (ACL default deny)"


READERS: dict[str, Reader] = {"kuma": _kuma, "istio": _istio, "linkerd": _linkerd, "consul": _consul}


def decide(plan: harness.Plan, model: AccessModel, provider: str, source: str, dest: str, port: int) -> Hop:
    """The mesh :class:`~plan.hops.Hop` for ``source`` -> ``dest``:``port``."""
    src, dst = model.workload(source), model.workload(dest)
    step = f"{source} -> {dest}:{port}"
    if not src.meshed or not dst.meshed:
        return Hop("mesh", step, False, "outside the mesh", "an unmeshed side has no mesh identity")
    if port not in dst.ports:
        return Hop("mesh", step, False, f"{dest} serves no port {port} in the access model")
    udp = [e for e in model.edges if (e.source, e.destination, e.port, e.protocol) == (source, dest, port, "udp")]
    if udp:
        return Hop("mesh", step, True, "UDP edge of the access model", "outside mTLS: no mesh carries UDP")
    reader = READERS.get(provider)
    if reader is None:
        return Hop("mesh", step, False, f"no reader for mesh provider {provider!r} in plan/journey_mesh.py")
    allowed, decided_by = reader(plan, model, src, dst, port)
    return Hop("mesh", step, allowed, decided_by, provider)


def ngf_values(plan: harness.Plan) -> dict[str, Any]:
    """The recorded Helm values of the NGINX Gateway Fabric release."""
    (release,) = [r for r in plan.of_type(RELEASE) if "nginx-gateway-fabric" in str(r["inputs"].get("chart"))]
    values = release["inputs"]["values"]
    return json.loads(values) if isinstance(values, str) else values


def gateway_addressing(plan: harness.Plan, provider: str) -> Hop:
    """Whether NGINX sends to oauth2-proxy's Service address (the mesh sees a Service hop) or to its pod
    IPs, NGF's default (nginx/nginx-gateway-fabric#5243). Kuma's delegated gateways must send to the
    Service: with passthrough off, an exit-less gateway and MeshTLS Strict, a pod-IP connection is not
    mesh traffic and is dropped. The Service address is required on every provider (one behaviour)."""
    step = "edge-gateway -> oauth2-proxy address"
    for policy in _objects(plan, "UpstreamSettingsPolicy", "edge"):
        names = [t["name"] for t in policy["spec"].get("targetRefs", []) if t.get("kind") == "Service"]
        if OAUTH2_PROXY_RELEASE in names and policy["spec"].get("useClusterIP") is True:
            return Hop("gateway", step, True, f"UpstreamSettingsPolicy {policy['metadata']['name']} useClusterIP")
    if ngf_values(plan).get("nginx", {}).get("config", {}).get("useClusterIP") is True:
        return Hop("gateway", step, True, "NginxProxy (chart nginx.config.useClusterIP)")
    carried = POD_IP_CARRIED.get(provider)
    return Hop(
        "gateway",
        step,
        carried is not None,
        "NGF default: upstream = oauth2-proxy's pod IPs (nginx/nginx-gateway-fabric#5243)",
        f"{provider}: {carried}" if carried else f"{provider}: not a Service hop, the mesh drops it",
    )
