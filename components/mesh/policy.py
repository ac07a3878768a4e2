"""What every mesh provider builds its policies from, so no two providers can disagree.

- :func:`permissions`: one allow per TCP edge of the access model (UDP edges such as statsd cannot be
  carried by either mesh: Kuma and ztunnel only capture TCP), everything else denied;
- :func:`entry_points`: edge workloads that serve ports but are nobody's destination inside the
  mesh, i.e. the gateway that receives plaintext from the load balancer;
- :func:`ca_certificate`: the mesh CA as a cert-manager Certificate below the platform's root issuer;
- :data:`POD_SECURITY_LABELS`, :data:`PART_OF` and :func:`k8s_name` for the objects themselves.

Providers (``components.mesh.kuma``, ``components.mesh.istio``) import this module; it imports no
provider and no dispatcher.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.access_model import AccessModel, Edge, Workload

#: Pod Security for every meshed namespace. Neither mesh needs privileged pods in the workload
#: namespaces: Kuma runs with its CNI (no NET_ADMIN ``kuma-init`` container) and Istio ambient has no
#: sidecar at all, so ``baseline`` can be enforced; ``restricted`` is reported (warn + audit) so the
#: gap to it stays visible without breaking charts that do not meet it yet.
POD_SECURITY_LABELS = {
    "pod-security.kubernetes.io/enforce": "baseline",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}
PART_OF = {"app.kubernetes.io/part-of": "airflow-mesh"}


@dataclass(frozen=True)
class Permission:
    """One allowed TCP connection: ``source`` may open ``edge.port`` on ``destination``."""

    edge: Edge
    source: Workload
    destination: Workload


def permissions(model: AccessModel) -> tuple[Permission, ...]:
    """One permission per TCP edge of the model, and nothing else."""
    out = []
    for edge in model.tcp_edges():
        source, destination = model.workload(edge.source), model.workload(edge.destination)
        for w in (source, destination):
            if not w.meshed:
                raise ValueError(f"access model edge {edge.source} -> {edge.destination}: {w.name} is not in the mesh")
        if not destination.selector:
            raise ValueError(f"access model edge {edge.source} -> {edge.destination}: destination has no selector")
        out.append(Permission(edge, source, destination))
    return tuple(out)


#: Marks the entry point's mesh policies (plaintext from the load balancer on its listener ports).
ENTRY_POINT_LABEL = "airflow-mesh/entry-point"


def entry_points(model: AccessModel) -> tuple[Workload, ...]:
    """Edge workloads that serve ports but receive no edge inside the mesh: the load balancer's
    targets, which must accept plaintext from outside the mesh on exactly those ports."""
    destinations = {e.destination for e in model.tcp_edges()}
    return tuple(
        w
        for w in model.workloads.values()
        if w.kind == "edge" and w.meshed and w.ports and w.name not in destinations and w.selector
    )


def k8s_name(*parts: object) -> str:
    """A DNS-1123 label from ``parts``; names over 63 characters keep a hash of the full name."""
    name = "-".join(str(p) for p in parts if p != "").lower()
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:54].rstrip('-')}-{digest}"


def ca_certificate(
    name: str,
    *,
    metadata_name: str,
    namespace: str,
    secret_name: str,
    common_name: str,
    issuer: str,
    rotate_key: bool,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """A cert-manager CA Certificate that renews itself (a year long, renewed a month ahead).

    ``rotate_key=False`` keeps the private key across renewals, so a renewed CA still verifies the
    workload certificates the old one signed: needed where the mesh trusts the CA certificate
    itself (Kuma). Where the trust anchor is the root above it (Istio), the key rotates too.
    """
    return k8s.apiextensions.CustomResource(
        name,
        api_version="cert-manager.io/v1",
        kind="Certificate",
        metadata={
            "name": metadata_name,
            "namespace": namespace,
            "labels": PART_OF,
            # The control plane mounts (Kuma) or reads (istiod) the Secret at start: wait until issued.
            "annotations": {"pulumi.com/waitFor": "condition=Ready"},
        },
        spec={
            "isCA": True,
            "commonName": common_name,
            "secretName": secret_name,
            "duration": "8760h",
            "renewBefore": "720h",
            "privateKey": {"algorithm": "RSA", "size": 2048, "rotationPolicy": "Always" if rotate_key else "Never"},
            "usages": ["cert sign", "crl sign", "digital signature"],
            "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer},
        },
        opts=opts,
    )
