"""Consul config entries from the access model: intentions, external destinations, the gateway, the mesh.

Consul names a workload by its *service name*, which consul-k8s requires to equal the pod's
ServiceAccount name when ACLs are on (the auth method's binding rule), so every intention here is
written in ServiceAccount names. Consul OSS has one flat service namespace: the names must be unique
across Kubernetes namespaces (:func:`service_names` checks).

- ``ServiceIntentions`` per destination service (Consul holds one config entry per destination, so
  every edge to it is one source there), plus ``*`` -> ``*`` deny;
- per distinct exit: a ``ServiceDefaults`` with a ``destination`` (host or address, port), allowed
  by a ``ServiceIntentions`` naming the workloads that have that exit, routed through the
  ``TerminatingGateway`` (protocol ``tcp`` on 443, matched by SNI; ``http`` on 80 only where the settings
  allow it, which they do not for Consul: Envoy's 15 s route timeout, components/timeouts.py);
- :func:`enforcement_manifests`: ``Mesh`` ``transparentProxy.meshDestinationsOnly: true`` (nothing
  leaves except through a destination) and ``ProxyDefaults`` ``mutualTLSMode``, after every allow.

Not covered by config entries (docs/mesh.md): exits inside the VPC or the Service CIDR (RDS, the
Kubernetes API) are addresses Consul cannot name as a TCP destination by hostname: they become pod
annotations (:func:`exit_pod_annotations`). Destinations take no wildcards, so S3's virtual-hosted
bucket names are listed one by one from the sources' IAM grants (:func:`exit_manifests`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from components.access_model import AccessModel, Egress
from components.mesh.consul import observability
from components.mesh.policy import (
    DATABASE_HOST,
    POD_IDENTITY_AGENT,
    Manifest,
    egress_by_source,
    inside,
    is_network,
    is_s3_endpoint,
    k8s_name,
    permissions,
    s3_bucket_hosts,
)
from components.mesh.provider import MeshTelemetry

API_VERSION = "consul.hashicorp.com/v1alpha1"


def service_names(model: AccessModel) -> dict[str, str]:
    """Workload -> Consul service name (its ServiceAccount); ``ValueError`` if two workloads share one."""
    names: dict[str, str] = {}
    for w in model.workloads.values():
        if not w.meshed:
            continue
        if w.service_account in names.values():
            raise ValueError(f"consul: service name {w.service_account!r} is used twice (Consul OSS has no namespaces)")
        names[w.name] = w.service_account
    return names


def intention_manifests(model: AccessModel, namespace: str) -> Iterator[Manifest]:
    """One ServiceIntentions per destination service, sources in model order, then deny-all."""
    names = service_names(model)
    by_destination: dict[str, list[str]] = {}
    for p in permissions(model):
        sources = by_destination.setdefault(p.destination.name, [])
        if p.source.name not in sources:
            sources.append(p.source.name)  # ports are not part of a Consul intention (L4: service names)
    for destination, sources in by_destination.items():
        yield Manifest(
            f"intentions-{destination}",
            API_VERSION,
            "ServiceIntentions",
            namespace,
            k8s_name("allow-to", names[destination]),
            {
                "destination": {"name": names[destination]},
                "sources": [{"name": names[s], "action": "allow"} for s in sources],
            },
        )
    yield Manifest(
        "intentions-deny-all",
        API_VERSION,
        "ServiceIntentions",
        namespace,
        "deny-all",
        {"destination": {"name": "*"}, "sources": [{"name": "*", "action": "deny"}]},
    )


def destination_name(host: str, port: int) -> str:
    return k8s_name("ext", host.replace(".", "-"), port)


def exits(model: AccessModel, *, in_cluster: list[str], identity_mode: str) -> dict[tuple[str, int], list[str]]:
    """(host, port) -> workloads that may use it, for every exit Consul can name."""
    out: dict[tuple[str, int], list[str]] = {}
    for source, egress in egress_by_source(model).items():
        targets = [(e.host, e.port) for e in egress if _nameable(e, in_cluster)]
        if identity_mode == "pod-identity" and any(e.host.startswith("sts.") for e in egress):
            targets.append(POD_IDENTITY_AGENT)
        for target in targets:
            holders = out.setdefault(target, [])
            if source not in holders:
                holders.append(source)
    return out


def _nameable(e: Egress, in_cluster: list[str]) -> bool:
    if e.host == DATABASE_HOST:
        return False
    if not is_network(e.host):
        if "{" in e.host:
            raise ValueError(f"egress of {e.source}: no mesh exit for placeholder host {e.host!r}") from None
        if e.port not in (80, 443):
            raise ValueError(
                f"egress of {e.source} to {e.host}:{e.port}: Consul matches external names by TLS SNI or "
                "HTTP Host only; use 443, 80 or an address"
            ) from None
        return True
    return not inside(e.host, in_cluster)


def exit_manifests(
    model: AccessModel,
    namespace: str,
    *,
    in_cluster: list[str],
    identity_mode: str,
    grant_values: Mapping[str, str] | None = None,
) -> Iterator[Manifest]:
    """Per exit: ServiceDefaults destination + its ServiceIntentions; then the gateway and the Mesh.

    A destination takes no wildcard, so an S3 endpoint's destination also lists, by name, the
    virtual-hosted host of every bucket its sources' IAM grants name (``grant_values`` fills the
    ``logs_bucket`` slot): what the SDKs call is let out, and no other bucket's host."""
    names = service_names(model)
    found = exits(model, in_cluster=in_cluster, identity_mode=identity_mode)
    for (host, port), sources in found.items():
        service = destination_name(host, port)
        addresses = [host]
        if port == 443 and is_s3_endpoint(host):
            addresses += s3_bucket_hosts(model, sources, host, grant_values or {})
        yield Manifest(
            f"destination-{service}",
            API_VERSION,
            "ServiceDefaults",
            namespace,
            service,
            {"protocol": "http" if port == 80 else "tcp", "destination": {"addresses": addresses, "port": port}},
        )
        yield Manifest(
            f"intentions-{service}",
            API_VERSION,
            "ServiceIntentions",
            namespace,
            k8s_name("allow-to", service),
            {"destination": {"name": service}, "sources": [{"name": names[s], "action": "allow"} for s in sources]},
        )
    yield Manifest(
        "terminating-gateway",
        API_VERSION,
        "TerminatingGateway",
        namespace,
        "terminating-gateway",
        {"services": [{"name": destination_name(h, p)} for h, p in found]},
    )


def enforcement_manifests(namespace: str, tls_mode: str, telemetry: MeshTelemetry | None = None) -> Iterator[Manifest]:
    """What closes the mesh, created after every allow and destination exists: ``Mesh`` (nothing
    leaves but through a destination) and ``ProxyDefaults`` ``global`` (mTLS on every inbound
    connection; dev's ``permissive`` also accepts plaintext on the service port, without intentions),
    which also carries the proxies' access logs and tracing when ``telemetry`` is set (observability.py)."""
    permissive = tls_mode == "permissive"
    mesh: dict[str, object] = {"transparentProxy": {"meshDestinationsOnly": True}}
    if permissive:
        mesh["allowEnablingPermissiveMutualTLS"] = True
    yield Manifest("mesh", API_VERSION, "Mesh", namespace, "mesh", mesh)
    yield Manifest(
        "proxy-defaults",
        API_VERSION,
        "ProxyDefaults",
        namespace,
        "global",
        {
            "mutualTLSMode": "permissive" if permissive else "strict",
            **(observability.proxy_defaults(telemetry) if telemetry else {}),
        },
    )


def exit_pod_annotations(model: AccessModel, *, vpc_cidr: str, service_cidr: str) -> dict[str, dict[str, str]]:
    """Workload -> the pod annotations its exits inside the cluster networks need (the part of the
    model Consul cannot express as destinations): the database by port (its addresses change), other
    in-cluster addresses (the Kubernetes API) by exact CIDR. The layers that own those pods apply them."""
    out: dict[str, dict[str, str]] = {}
    for source, egress in egress_by_source(model).items():
        ports = sorted({e.port for e in egress if e.host == DATABASE_HOST})
        cidrs = sorted(
            {
                e.host if "/" in e.host else f"{e.host}/32"
                for e in egress
                if e.host != DATABASE_HOST and not _nameable(e, [vpc_cidr, service_cidr])
            }
        )
        annotations = {}
        if ports:
            annotations["consul.hashicorp.com/transparent-proxy-exclude-outbound-ports"] = ",".join(map(str, ports))
        if cidrs:
            annotations["consul.hashicorp.com/transparent-proxy-exclude-outbound-cidrs"] = ",".join(cidrs)
        if annotations:
            out[source] = annotations
    return out
