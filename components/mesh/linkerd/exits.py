"""Deliberate exits from the Linkerd mesh: EgressNetworks (deny by default) and routes per exit.

An ``EgressNetwork`` applies to the clients *in its namespace* (upstream docs/2-edge/reference/
egress-network.md), so every meshed namespace gets one that denies every address outside
``clusterNetworks`` and, attached to it, one route per distinct exit of that namespace's workloads:

- a host on 443: a ``TLSRoute`` matching the SNI (S3 also under ``*.s3.<region>.amazonaws.com``,
  the virtual-hosted bucket names the SDKs use);
- a host on 80: an ``HTTPRoute`` matching the Host header;
- an address or CIDR outside the cluster networks (the EKS Pod Identity agent): an ``EgressNetwork``
  of just that network with ``trafficPolicy: Allow`` (any port: Linkerd has no L4 port match here).

What this does **not** do (docs/mesh.md, plan/access_matrix.py): the granularity is the namespace,
not the workload; destinations inside ``clusterNetworks`` (the VPC, hence RDS and VPC endpoints, and
the Kubernetes API's Service address) are never egress to Linkerd and are not restricted; a process
that bypasses the proxy is not stopped. Linkerd says so itself: "No service mesh can provide a strong
security guarantee about egress traffic by itself" (docs/2-edge/features/egress.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from components.access_model import AccessModel, Egress
from components.mesh.linkerd.policies import API_VERSION, GROUP
from components.mesh.policy import (
    DATABASE_HOST,
    POD_IDENTITY_AGENT,
    Manifest,
    egress_by_namespace,
    inside,
    is_network,
    is_s3_endpoint,
    k8s_name,
)

#: Catches every destination outside clusterNetworks in its namespace.
DENY_NAME = "egress-deny"
#: The storage version of TLSRoute in Gateway API v1.5.1; Linkerd reads the same objects as v1alpha2, which
#: the experimental channel a Linkerd stack installs also serves (components/edge/gateway_api.py).
TLS_ROUTE_API_VERSION = "gateway.networking.k8s.io/v1"
#: The one TLSRoute version edge-26.8.3's policy controller reads (linkerd2
#: policy-controller/k8s/api/src/lib.rs ``gateway::TLSRoute``); where the cluster does not serve it, the
#: controller skips the watch and every TLS exit is denied by the namespace's EgressNetwork.
TLS_ROUTE_READ_VERSION = "v1alpha2"
HTTP_ROUTE_API_VERSION = "gateway.networking.k8s.io/v1"


def cluster_networks(vpc_cidr: str, service_cidr: str) -> str:
    """Linkerd's in-cluster networks: pods take VPC addresses on EKS (VPC CNI), Services the service CIDR."""
    return f"{vpc_cidr},{service_cidr}"


def _parent(port: int | None = None) -> dict[str, object]:
    ref: dict[str, object] = {"group": GROUP, "kind": "EgressNetwork", "name": DENY_NAME}
    if port is not None:
        ref["port"] = port
    return ref


def exit_manifests(model: AccessModel, *, vpc_cidr: str, service_cidr: str, identity_mode: str) -> Iterator[Manifest]:
    """Per meshed namespace: the deny-all EgressNetwork, then one allow per distinct exit."""
    networks = cluster_networks(vpc_cidr, service_cidr).split(",")
    for namespace, egress in egress_by_namespace(model).items():
        yield Manifest(
            f"egress-deny-{namespace}",
            API_VERSION,
            "EgressNetwork",
            namespace,
            DENY_NAME,
            {"trafficPolicy": "Deny"},
        )
        yield from _allows(namespace, egress, networks, identity_mode)


def _allows(namespace: str, egress: tuple[Egress, ...], networks: list[str], identity_mode: str) -> Iterator[Manifest]:
    seen: set[tuple[str, int]] = set()
    targets: list[tuple[str, int]] = []
    for e in egress:
        if e.host == DATABASE_HOST or inside(e.host, networks):
            continue  # inside clusterNetworks: not egress to Linkerd (see module docstring)
        if "{" in e.host:
            raise ValueError(f"egress of {e.source}: no mesh exit for placeholder host {e.host!r}")
        if is_network(e.host):
            targets.append((e.host, e.port))
        elif e.port in (80, 443):
            targets.append((e.host, e.port))
            if e.port == 443 and is_s3_endpoint(e.host):
                targets.append((f"*.{e.host}", 443))
        else:
            raise ValueError(
                f"egress of {e.source} to {e.host}:{e.port}: Linkerd matches external names by TLS SNI (443) "
                "or HTTP Host (80) only; use one of those or an IP/CIDR"
            )
    if identity_mode == "pod-identity" and any(e.host.startswith("sts.") for e in egress):
        # Link-local, so outside clusterNetworks.
        targets.append((f"{POD_IDENTITY_AGENT[0]}/32", POD_IDENTITY_AGENT[1]))
    for host, port in targets:
        if (host, port) in seen:
            continue
        seen.add((host, port))
        if is_network(host):
            cidr = host if "/" in host else f"{host}/32"
            yield Manifest(
                f"egress-allow-{namespace}-{host}",
                API_VERSION,
                "EgressNetwork",
                namespace,
                k8s_name("egress-allow", cidr.replace("/", "-").replace(".", "-")),
                {"trafficPolicy": "Allow", "networks": [{"cidr": cidr}]},
            )
        elif port == 443:
            yield Manifest(
                f"egress-tls-{namespace}-{host}",
                TLS_ROUTE_API_VERSION,
                "TLSRoute",
                namespace,
                k8s_name("egress", host.replace("*", "wildcard"), port),
                {
                    "hostnames": [host],
                    "parentRefs": [_parent(port)],
                    "rules": [{"backendRefs": [_parent()]}],
                },
            )
        else:
            yield Manifest(
                f"egress-http-{namespace}-{host}",
                HTTP_ROUTE_API_VERSION,
                "HTTPRoute",
                namespace,
                k8s_name("egress", host, port),
                {
                    "hostnames": [host],
                    "parentRefs": [_parent(port)],
                    "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}],
                },
            )
