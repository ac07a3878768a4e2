"""Edge: no route reaches Airflow without authentication; an internet-facing load balancer is fenced."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from .model import Resource, Rule, Stack, as_list, dig, known

HTTP_ROUTES = (
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
    "kubernetes:gateway.networking.k8s.io/v1beta1:HTTPRoute",
)
SERVICE = "kubernetes:core/v1:Service"
NGINX_PROXY = ("kubernetes:gateway.nginx.org/v1alpha2:NginxProxy",)
RELEASE = "kubernetes:helm.sh/v3:Release"
_OPEN = ("0.0.0.0/0", "::/0")
#: NGINX Gateway Fabric's own authentication filter (basic auth; OIDC with NGINX Plus).
_AUTH_EXTENSION_KINDS = ("AuthenticationFilter",)


def _is_airflow(backend: dict[str, Any], route_namespace: str | None) -> bool:
    name = str(backend.get("name", ""))
    namespace = backend.get("namespace") or route_namespace
    if "oauth2-proxy" in name:
        return False
    return "airflow" in name or namespace == "airflow"


def _authenticated(rule: dict[str, Any]) -> bool:
    for f in as_list(rule.get("filters")):
        if not isinstance(f, dict):
            continue
        if f.get("type") == "ExternalAuth":
            return True
        if f.get("type") == "ExtensionRef" and dig(f, "extensionRef.kind") in _AUTH_EXTENSION_KINDS:
            return True
    return False


def check_route(r: Resource, _stack: Stack) -> Iterator[str]:
    namespace = r.get("metadata.namespace")
    for i, rule in enumerate(as_list(r.get("spec.rules"))):
        if not isinstance(rule, dict):
            continue
        targets = [b for b in as_list(rule.get("backendRefs")) if isinstance(b, dict) and known(b.get("name"))]
        airflow = [b["name"] for b in targets if _is_airflow(b, namespace)]
        if airflow and not _authenticated(rule):
            yield (
                f"spec.rules[{i}] sends requests straight to {airflow} without authentication; route to oauth2-proxy "
                "or add an ExternalAuth filter"
            )


_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
_INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal"


def internet_facing(service: dict[str, Any], annotations: Any) -> bool:
    """Whether a LoadBalancer Service (spec and annotations) gets an internet-facing load balancer."""
    ann = annotations if isinstance(annotations, dict) else {}
    scheme = ann.get(_SCHEME)
    if scheme in ("internet-facing", "internal"):
        return scheme == "internet-facing"
    if str(ann.get(_INTERNAL, "")).lower() in ("true", "0.0.0.0/0"):
        return False
    # NGINX Gateway Fabric values and NginxProxy carry annotations inside patches
    text = json.dumps(service, default=str)
    if "internet-facing" in text:
        return True
    if re.search(r"aws-load-balancer-internal\W+true|aws-load-balancer-scheme\W+internal", text):
        return False
    # The AWS Load Balancer Controller makes internal NLBs unless told otherwise; Kubernetes' own
    # AWS cloud provider makes internet-facing ones.
    return service.get("loadBalancerClass") != "service.k8s.aws/nlb"


def _fenced(where: str, service: Any, annotations: Any) -> Iterator[str]:
    if not isinstance(service, dict) or service.get("type", "LoadBalancer") != "LoadBalancer":
        return
    if not internet_facing(service, annotations):
        return
    ranges = service.get("loadBalancerSourceRanges")
    if not known(ranges):
        return
    ranges = as_list(ranges)
    if not ranges or any(c in _OPEN for c in ranges):
        yield f"{where}: internet-facing load balancer open to {ranges or 'everyone'}; set loadBalancerSourceRanges"


def check_load_balancer(r: Resource, _stack: Stack) -> Iterator[str]:
    if r.type == SERVICE:
        if r.get("spec.type") == "LoadBalancer":
            yield from _fenced("spec", r.get("spec"), r.get("metadata.annotations"))
    elif r.type in NGINX_PROXY:
        service = r.get("spec.kubernetes.service")
        if isinstance(service, dict):
            yield from _fenced("spec.kubernetes.service", {"type": "LoadBalancer", **service}, None)
    elif r.type == RELEASE and "nginx-gateway-fabric" in str(r.get("chart", "")):
        service = r.get("values.nginx.service")
        if isinstance(service, dict):
            yield from _fenced("values.nginx.service", {"type": "LoadBalancer", **service}, None)


RULES = [
    Rule(
        name="httproute-to-airflow-authenticated",
        description="No HTTPRoute sends requests to Airflow without authentication (oauth2-proxy in front, or an "
        "ExternalAuth filter on the rule).",
        check=check_route,
        types=HTTP_ROUTES,
    ),
    Rule(
        name="edge-loadbalancer-restricted",
        description="An internet-facing load balancer (Service, NginxProxy or NGINX Gateway Fabric values) lists the "
        "source CIDRs allowed to reach it.",
        check=check_load_balancer,
        types=(SERVICE, RELEASE, *NGINX_PROXY),
        remediation="airflow-mesh:edgeSourceRanges, or airflow-mesh:edgeScheme=internal.",
    ),
]
