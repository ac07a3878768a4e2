"""The mesh's decision on one exit (a connection to something outside the cluster), per provider.

The other half of :mod:`plan.journey_mesh`: a workload calling RDS, an AWS API, the IdP or a partner
leaves the mesh, and each provider lets it out (or not) with different objects, read back here from
the recorded plan. ``host`` is a name (matched as the client's TLS SNI or HTTP Host would be), an IP
address, or the model's ``{database_address}`` (RDS: an address inside the VPC).

- Kuma: the source's ``MeshPassthrough`` lists a match (Domain by SNI/Host, with ``*.`` wildcards;
  CIDR/IP and port); anything else is dropped (``passthrough: false``).
- Istio ambient: nothing is checked; ztunnel lets every destination outside the mesh through.
- Linkerd: an address inside ``clusterNetworks`` is not egress at all (allowed, unrestricted); a name
  must match a ``TLSRoute`` (443) or ``HTTPRoute`` (80) attached to the namespace's EgressNetwork (and
  Linkerd must be able to read that TLSRoute version), an address an ``EgressNetwork`` with
  ``trafficPolicy: Allow``; else the namespace's deny EgressNetwork. An exit the model gives only to
  another workload of the namespace is allowed and said to be namespace-wide.
- Consul: a ``ServiceDefaults`` destination lists the host (or address) and port and its
  ``ServiceIntentions`` allows the source's service; exits Consul cannot name (RDS, the Kubernetes API)
  leave through the source pods' outbound exclusions (``mesh.workload_pod_annotations``, put on the
  rendered pods, tests/proof/test_mesh_pod_annotations.py); else ``meshDestinationsOnly`` drops it.
"""

from __future__ import annotations

import ipaddress
import json
from fnmatch import fnmatch
from typing import Any

from components import versions
from components.access_model import AccessModel, Workload
from components.mesh.policy import DATABASE_HOST, egress_by_source, inside, is_network, is_s3_endpoint
from plan import harness
from plan.hops import Hop


def _records(plan: harness.Plan, kind: str) -> list[dict[str, Any]]:
    return [r["inputs"] for r in plan.resources if r["type"].endswith(f":{kind}")]


def _address_in(host: str, network: str) -> bool:
    return is_network(host) and inside(host, [network if "/" in network else f"{network}/32"])


def _kuma(plan: harness.Plan, model: AccessModel, source: Workload, host: str, port: int) -> tuple[bool, str]:
    for exit_ in _records(plan, "MeshPassthrough"):
        labels = exit_["spec"]["targetRef"].get("labels", {})
        if not dict(source.selector).items() <= labels.items():
            continue
        if labels.get("k8s.kuma.io/namespace") != source.namespace:
            continue
        for m in exit_["spec"]["default"].get("appendMatch", []):
            if m["port"] != port:
                continue
            hit = fnmatch(host, m["value"]) if m["type"] == "Domain" else _address_in(host, m["value"])
            if hit:
                return True, f"MeshPassthrough {exit_['metadata']['name']} ({m['type']} {m['value']}:{port})"
    return False, "no MeshPassthrough match (Mesh outbound passthrough off)"


def _istio(plan: harness.Plan, model: AccessModel, source: Workload, host: str, port: int) -> tuple[bool, str]:
    return True, "nothing: ztunnel passes destinations outside the mesh through (egress not enforced)"


def _linkerd(plan: harness.Plan, model: AccessModel, source: Workload, host: str, port: int) -> tuple[bool, str]:
    (values,) = [
        r["inputs"]["values"]
        for r in plan.resources
        if r["type"].endswith(":Release") and r["inputs"].get("chart") == "linkerd-control-plane"
    ]
    values = json.loads(values) if isinstance(values, str) else values
    networks = values["clusterNetworks"].split(",")
    if is_network(host) and inside(host, networks):
        return True, f"inside clusterNetworks {values['clusterNetworks']}: not egress to Linkerd (unrestricted)"
    kinds = {443: "TLSRoute", 80: "HTTPRoute"}
    if not is_network(host) and port in kinds:
        for route in _records(plan, kinds[port]):
            if route["metadata"]["namespace"] != source.namespace:
                continue
            if any(fnmatch(host, h) for h in route["spec"]["hostnames"]):
                parents = [p for p in route["spec"]["parentRefs"] if p.get("kind") == "EgressNetwork"]
                if any(p.get("port") == port for p in parents):
                    name = f"{kinds[port]} {source.namespace}/{route['metadata']['name']}"
                    unseen = _unseen_tls_routes(plan) if kinds[port] == "TLSRoute" else ""
                    if unseen:
                        return False, f"{name} unseen: {unseen}"
                    if not _own_exit(model, source, host, port):
                        return True, f"{name} (namespace-wide: not an exit of {source.name} in the model)"
                    return True, name
    for network in _records(plan, "EgressNetwork"):
        spec = network["spec"]
        if network["metadata"]["namespace"] != source.namespace or spec.get("trafficPolicy") != "Allow":
            continue
        if any(_address_in(host, n["cidr"]) for n in spec.get("networks", [])):
            return True, f"EgressNetwork {source.namespace}/{network['metadata']['name']}"
    return False, f"EgressNetwork {source.namespace}/egress-deny (trafficPolicy Deny)"


def _own_exit(model: AccessModel, source: Workload, host: str, port: int) -> bool:
    """Whether the model lists ``host:port`` among ``source``'s own exits (an S3 endpoint covers its
    virtual-hosted bucket names), rather than only among its namespace's."""
    return any(
        e.port == port and (fnmatch(host, e.host) or (is_s3_endpoint(e.host) and host.endswith(f".{e.host}")))
        for e in egress_by_source(model).get(source.name, ())
    )


def _unseen_tls_routes(plan: harness.Plan) -> str:
    """Why Linkerd cannot see the stack's TLSRoutes (empty when it can): it reads only
    ``TLS_ROUTE_READ_VERSION``, which the recorded Gateway API channel must serve."""
    from components.mesh.linkerd.exits import TLS_ROUTE_READ_VERSION

    urls = [str(r["inputs"].get("file", "")) for r in plan.resources if r["type"] == "kubernetes:yaml/v2:ConfigFile"]
    channels = [c for url in urls for c in versions.GATEWAY_API_SERVED if url.endswith(f"/{c}-install.yaml")]
    served = versions.GATEWAY_API_SERVED[channels[0]]["TLSRoute"] if channels else frozenset()
    if TLS_ROUTE_READ_VERSION in served:
        return ""
    where = f"the Gateway API {channels[0]} channel serves {sorted(served)}" if channels else "no Gateway API CRDs"
    return f"Linkerd reads TLSRoute {TLS_ROUTE_READ_VERSION}; {where}"


def _consul(plan: harness.Plan, model: AccessModel, source: Workload, host: str, port: int) -> tuple[bool, str]:
    from components import mesh

    intentions = {i["spec"]["destination"]["name"]: i["spec"]["sources"] for i in _records(plan, "ServiceIntentions")}
    for defaults in _records(plan, "ServiceDefaults"):
        destination = defaults["spec"].get("destination")
        if not destination or destination["port"] != port or host not in destination["addresses"]:
            continue
        name = defaults["metadata"]["name"]
        if {"name": source.service_account, "action": "allow"} in intentions.get(name, []):
            return True, f"ServiceDefaults {name} + ServiceIntentions (terminating gateway)"
    excluded = mesh.workload_pod_annotations("consul", model, _vpc(plan)).get(source.name, {})
    prefix = "consul.hashicorp.com/transparent-proxy-exclude-outbound-"
    if str(port) in excluded.get(prefix + "ports", "").split(","):
        return True, f"pod annotation {prefix}ports: {port} (outside the proxy, unfiltered)"
    for network in filter(None, excluded.get(prefix + "cidrs", "").split(",")):
        if _address_in(host, network):
            return True, f"pod annotation {prefix}cidrs: {network} (outside the proxy, unfiltered)"
    closed = any(m["spec"].get("transparentProxy", {}).get("meshDestinationsOnly") for m in _consul_mesh(plan))
    return (not closed), "no destination admits it (Mesh meshDestinationsOnly)" if closed else "the mesh is open"


def _consul_mesh(plan: harness.Plan) -> list[dict[str, Any]]:
    return [r["inputs"] for r in plan.resources if r["type"] == "kubernetes:consul.hashicorp.com/v1alpha1:Mesh"]


def _vpc(plan: harness.Plan) -> str:
    (vpc,) = [r["inputs"]["cidrBlock"] for r in plan.resources if r["type"] == "aws:ec2/vpc:Vpc"]
    return vpc


READERS = {"kuma": _kuma, "istio": _istio, "linkerd": _linkerd, "consul": _consul}


def decide_exit(plan: harness.Plan, model: AccessModel, provider: str, source: str, host: str, port: int) -> Hop:
    """The mesh :class:`~plan.hops.Hop` for ``source`` leaving to ``host:port`` (``{database_address}``
    stands for RDS: the first address of the VPC's second /24, where the private subnets start)."""
    src = model.workload(source)
    step = f"{source} -> {host}:{port}"
    if not src.meshed:
        return Hop("mesh-exit", step, True, "outside the mesh", "no sidecar: nothing filters its egress")
    target = host
    if host == DATABASE_HOST:
        target = str(next(ipaddress.ip_network(_vpc(plan)).subnets(new_prefix=24)).network_address + 10)
    allowed, decided_by = READERS[provider](plan, model, src, target, port)
    return Hop("mesh-exit", step, allowed, decided_by, provider)
