"""Deliberate exits from the Kuma mesh: the model's egress entries as MeshPassthrough matches.

The mesh denies egress by default (``Mesh.networking.outbound.passthrough: false``); each workload
with egress in the access model gets one MeshPassthrough (``passthroughMode: Matched``) listing
exactly its exits. Without them IRSA (STS), S3 logs, Secrets Manager, the IdP and RDS would fail
as soon as the sidecar is injected.
"""

from __future__ import annotations

from collections.abc import Iterable

from components.access_model import Egress
from components.mesh.policy import DATABASE_HOST, POD_IDENTITY_AGENT, egress_by_source, is_network, is_s3_endpoint

__all__ = ["DATABASE_HOST", "egress_by_source", "exit_matches"]


def exit_matches(egress: Iterable[Egress], vpc_cidr: str, identity_mode: str) -> list[dict[str, object]]:
    """MeshPassthrough matches for one workload's exits from the mesh.

    TLS destinations are matched by SNI (the client originates TLS, the sidecar only passes it on);
    S3 is also matched on its virtual-hosted names (``<bucket>.s3.<region>.amazonaws.com``), which is
    what the SDKs use. Postgres has no SNI, so the database is matched by VPC address and port.
    """
    egress = list(egress)
    matches: list[dict[str, object]] = []
    for e in egress:
        if e.host == DATABASE_HOST:
            matches.append({"type": "CIDR", "value": vpc_cidr, "port": e.port, "protocol": "tcp"})
        elif is_network(e.host):
            kind = "CIDR" if "/" in e.host else "IP"
            matches.append({"type": kind, "value": e.host, "port": e.port, "protocol": "tcp"})
        elif "{" in e.host:
            raise ValueError(f"egress of {e.source}: no mesh exit for placeholder host {e.host!r}")
        elif e.port == 80:
            matches.append({"type": "Domain", "value": e.host, "port": e.port, "protocol": "http"})
        elif e.port == 443:
            matches.append({"type": "Domain", "value": e.host, "port": e.port, "protocol": "tls"})
            if is_s3_endpoint(e.host):
                matches.append({"type": "Domain", "value": f"*.{e.host}", "port": e.port, "protocol": "tls"})
        else:
            # Kuma can only tell domains apart by SNI (TLS) or Host (HTTP): a bare TCP domain match
            # would capture every connection on that port.
            raise ValueError(
                f"egress of {e.source} to {e.host}:{e.port}: Kuma cannot match a domain on a non-TLS port; "
                "use HTTPS (443) or an IP/CIDR"
            )
    if identity_mode == "pod-identity" and any(e.host.startswith("sts.") for e in egress):
        ip, port = POD_IDENTITY_AGENT
        matches.append({"type": "IP", "value": ip, "port": port, "protocol": "tcp"})
    unique = {tuple(sorted(m.items())): m for m in matches}
    return [unique[k] for k in sorted(unique, key=str)]
