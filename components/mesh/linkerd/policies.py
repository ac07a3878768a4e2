"""Linkerd authorization from the access model: Server + MeshTLSAuthentication + AuthorizationPolicy.

Every meshed pod starts with the default inbound policy ``deny`` (``proxy.defaultInboundPolicy``),
so only what these objects authorize reaches it:

- one ``Server`` per (destination, port) of the model: two Servers that select the same pod port
  conflict (upstream/linkerd/docs/2-edge/reference/authorization-policy.md), so edges to the same
  listener share it;
- per edge, one ``MeshTLSAuthentication`` naming the source's ServiceAccount (``identityRefs``, never a
  wildcard identity) and one ``AuthorizationPolicy`` tying it to the destination's Server;
- the entry point (the gateway) gets a Server per listener port authorized for every network
  (``NetworkAuthentication`` 0.0.0.0/0 and ::/0), because the load balancer is outside the mesh.

Probes keep working: Linkerd authorizes kubelet probes itself as long as no HTTPRoute is attached to
the Server (upstream docs/2-edge/features/server-policy.md, "Default authorizations"); none is.
``strict`` denies what no policy allows (``accessPolicy: deny``); dev's ``permissive`` uses Linkerd's
``audit`` (allowed, but logged and counted with ``authz_name=audit``).
"""

from __future__ import annotations

from collections.abc import Iterator

from components.access_model import AccessModel, Workload
from components.mesh.policy import Manifest, Permission, entry_points, k8s_name, servers

API_VERSION = "policy.linkerd.io/v1alpha1"
SERVER_API_VERSION = "policy.linkerd.io/v1beta3"
GROUP = "policy.linkerd.io"
#: Every address: the load balancer's source addresses are not known to the mesh.
ALL_NETWORKS = [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]


def access_policy(tls_mode: str) -> str:
    return "deny" if tls_mode == "strict" else "audit"


def server_name(destination: Workload, port: int) -> str:
    return k8s_name(destination.name, port)


def server_spec(destination: Workload, port: int, tls_mode: str) -> dict[str, object]:
    return {
        "podSelector": {"matchLabels": dict(destination.selector)},
        "port": port,
        "accessPolicy": access_policy(tls_mode),
    }


def authentication_spec(p: Permission) -> dict[str, object]:
    """The source's identity: its ServiceAccount (Linkerd derives the mTLS identity from it)."""
    return {
        "identityRefs": [{"kind": "ServiceAccount", "name": p.source.service_account, "namespace": p.source.namespace}]
    }


def authorization_spec(server: str, authentication: str, kind: str = "MeshTLSAuthentication") -> dict[str, object]:
    return {
        "targetRef": {"group": GROUP, "kind": "Server", "name": server},
        "requiredAuthenticationRefs": [{"group": GROUP, "kind": kind, "name": authentication}],
    }


def permission_manifests(model: AccessModel, tls_mode: str) -> Iterator[Manifest]:
    """Servers first, then per edge its authentication and authorization."""
    for (_, port), perms in servers(model).items():
        destination = perms[0].destination
        server = server_name(destination, port)
        yield Manifest(
            f"server-{destination.name}-{port}",
            SERVER_API_VERSION,
            "Server",
            destination.namespace,
            server,
            server_spec(destination, port, tls_mode),
        )
        for p in perms:
            allow = k8s_name("allow", p.source.name, "to", p.destination.name, port)
            yield Manifest(
                f"authn-{p.source.name}-{p.destination.name}-{port}",
                API_VERSION,
                "MeshTLSAuthentication",
                destination.namespace,
                allow,
                authentication_spec(p),
            )
            yield Manifest(
                f"allow-{p.source.name}-{p.destination.name}-{port}",
                API_VERSION,
                "AuthorizationPolicy",
                destination.namespace,
                allow,
                authorization_spec(server, allow),
            )


def entry_point_manifests(model: AccessModel, tls_mode: str) -> Iterator[Manifest]:
    """The gateway's listeners, open to every network (and nothing else on the gateway is)."""
    for w in entry_points(model):
        networks = k8s_name("ingress", w.name)
        yield Manifest(
            f"ingress-networks-{w.name}",
            API_VERSION,
            "NetworkAuthentication",
            w.namespace,
            networks,
            {"networks": ALL_NETWORKS},
            entry_point=True,
        )
        for port in w.ports:
            server = server_name(w, port)
            yield Manifest(
                f"ingress-server-{w.name}-{port}",
                SERVER_API_VERSION,
                "Server",
                w.namespace,
                server,
                server_spec(w, port, tls_mode),
                entry_point=True,
            )
            yield Manifest(
                f"ingress-allow-{w.name}-{port}",
                API_VERSION,
                "AuthorizationPolicy",
                w.namespace,
                k8s_name("ingress", w.name, port),
                authorization_spec(server, networks, "NetworkAuthentication"),
                entry_point=True,
            )
