"""What each mesh provider really enforces of the access model, said plainly for the access matrix.

The mesh rows of the matrix (who may call whom, which exits) are the same for every provider because
they come from one access model; *how strongly* they hold differs. Each entry answers, for one
``meshProvider``: identity and ports at L4, anything at L7, egress, the UDP edges and metrics
scraping, and what the provider does not stop. tests/plan/test_access_matrix.py checks the claims
that the recorded plan can show (e.g. "egress: not enforced" means no exit objects exist).
"""

from __future__ import annotations

from typing import TypedDict


class Enforcement(TypedDict):
    """One provider's guarantees. Every value is a sentence a reviewer can check against docs/mesh.md."""

    l4: str
    l7: str
    egress: str
    #: ``enforced``, ``per-namespace`` or ``not-enforced``: the strength of the egress column in one word.
    egressLevel: str
    udp: str
    metrics: str
    limits: str


ENFORCEMENT: dict[str, Enforcement] = {
    "kuma": {
        "l4": "mTLS with SPIFFE identities; each MeshTrafficPermission admits one source identity to the "
        "destination's proxies (every port the destination serves, not one port).",
        "l7": "none: no HTTP route or method rules; any request on an allowed connection passes.",
        "egress": "enforced per workload: outbound passthrough is off and each workload's MeshPassthrough lists "
        "its exits (TLS SNI, HTTP Host, CIDR for the database).",
        "egressLevel": "enforced",
        "udp": "not carried: UDP would bypass the sidecar; the platform sends none.",
        "metrics": "proxy metrics are only exported where observability configures MeshMetric. Emitted: MeshMetric, "
        "MeshTrace, MeshAccessLog over OTLP (both identities, denials).",
        "limits": "a container that bypasses the sidecar's redirection (host network, NET_ADMIN) is not stopped.",
    },
    "istio": {
        "l4": "mTLS by ztunnel; each AuthorizationPolicy admits one principal to the destination's pods on one port.",
        "l7": "none: ambient without waypoints cannot evaluate L7 rules (a rule with them would deny everything).",
        "egress": "NOT enforced: ztunnel passes traffic to destinations outside the mesh straight through; the "
        "model's exits are documentation only.",
        "egressLevel": "not-enforced",
        "udp": "not carried: ztunnel captures TCP only; the platform sends no UDP.",
        "metrics": "ztunnel's own metrics port is not under the workloads' AuthorizationPolicies and is not scraped. "
        "Emitted: ztunnel's L4 access lines (both identities, denials) from the node; waypoints only: traces.",
        "limits": "any egress, to any host, from any meshed pod.",
    },
    "linkerd": {
        "l4": "mTLS between proxies; each AuthorizationPolicy admits one ServiceAccount (MeshTLSAuthentication) "
        "to one Server (destination pods and one port); every other inbound connection is denied by default.",
        "l7": "none: no HTTPRoute authorization (attaching one would also drop Linkerd's default probe "
        "authorizations).",
        "egress": "per client NAMESPACE, not per workload: an EgressNetwork denies every address outside "
        "clusterNetworks and TLSRoutes/HTTPRoutes let the namespace's exits out by SNI/Host. Destinations "
        "inside clusterNetworks (the VPC: RDS, VPC endpoints; the Kubernetes API) are not restricted at all. "
        "Linkerd itself says its egress control is not a strong security guarantee.",
        "egressLevel": "per-namespace",
        "udp": "not carried: the proxy handles TCP only; the platform sends no UDP.",
        "metrics": "scraping a proxy's admin port (4191) needs its own authorization; none is generated, and the "
        "collector scrapes none. Emitted: traces (OTLP, mTLS to the collector) and HTTP access logs (client identity "
        "only; no policy decision, no TCP).",
        "limits": "a process that bypasses the proxy is not stopped; workloads sharing a namespace share its exits.",
    },
    "consul": {
        "l4": "mTLS between Envoy sidecars (built-in CA); ServiceIntentions admit source services (= ServiceAccount "
        "names) to a destination service on every port it serves; ACLs default deny plus an explicit * -> * deny.",
        "l7": "none: intentions are L4 (no permissions blocks).",
        "egress": "enforced per workload for named exits: meshDestinationsOnly lets traffic leave only through the "
        "terminating gateway to ServiceDefaults destinations (SNI/Host/address), each allowed by an intention; S3 "
        "buckets by their virtual-hosted names, one by one from the IAM grants. Exits inside the VPC or the Service "
        "CIDR (RDS, the Kubernetes API) cannot be destinations: the client pods exclude them from the proxy by "
        "annotation (PgBouncer: any address on 5432; API clients: the API server's address), unfiltered by Consul.",
        "egressLevel": "enforced",
        "udp": "not carried: transparent proxy redirects TCP (and DNS) only; the platform sends no UDP.",
        "metrics": "Envoy and merged app metrics are not collected. Emitted: every Envoy's access log (both "
        "identities, RBAC denials) from the node and traces over OTLP in plaintext to the collector's excluded port.",
        "limits": "a container that bypasses the redirection (host network, NET_ADMIN) is not stopped; the Consul "
        "server is BUSL-1.1.",
    },
}


def enforcement(provider: str) -> Enforcement:
    """The entry of ``provider``; ``KeyError`` names the providers that have one."""
    try:
        return ENFORCEMENT[provider]
    except KeyError:
        raise KeyError(
            f"no enforcement statement for mesh provider {provider!r} (have: {sorted(ENFORCEMENT)})"
        ) from None
