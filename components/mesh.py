"""Mesh: the service mesh, Kuma (default) or Istio ambient, generated from the access model.

Both implementations are built from the same three things the model says, so they cannot disagree:

- :func:`permissions`: one allow per TCP edge of the model (UDP edges such as statsd cannot be
  carried by either mesh: Kuma and ztunnel only capture TCP), everything else denied;
- :func:`entry_points`: edge workloads that serve ports but are nobody's destination inside the
  mesh, i.e. the gateway that receives plaintext from the load balancer;
- the model's egress entries: deliberate exits (RDS, AWS APIs, the IdP, a domain's partners).

This module holds what both meshes share (namespace labels, the args, the dispatch); the
implementations live in :mod:`components.mesh_kuma` and :mod:`components.mesh_istio`. The design,
the reasons and the CA rotation steps are in ``docs/mesh.md``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.access_model import AccessModel, Edge, Workload

Provider = Literal["kuma", "istio"]

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


def namespace_labels(provider: str) -> dict[str, str]:
    """Labels that enrol a namespace in the chosen mesh (Kuma: the label, not the annotation),
    plus its Pod Security level."""
    if provider == "kuma":
        return {"kuma.io/sidecar-injection": "enabled", **POD_SECURITY_LABELS}
    return {"istio.io/dataplane-mode": "ambient", **POD_SECURITY_LABELS}


def job_pod_annotations(provider: str) -> dict[str, str]:
    """Annotations for a chart's one-shot hook Jobs in a meshed namespace that only talk to the
    Kubernetes API (e.g. NGF's cert-generator): with Kuma's egress closed and no identity of its own
    in the access model, such a pod would hang; it runs outside the mesh instead. Istio ambient does
    not restrict egress, so nothing is needed there."""
    return {"kuma.io/sidecar-injection": "disabled"} if provider == "kuma" else {}


def entry_point_pod_annotations(provider: str) -> dict[str, str]:
    """Annotations the pods of an entry point (the NGINX data plane) need.

    Kuma: a *delegated gateway* keeps its sidecar for outbound mTLS (its identity is what the
    permissions allow) but does not intercept inbound traffic, which arrives in plaintext from the
    load balancer. Istio ambient needs nothing on the pod: the mesh admits the entry point's ports
    with a port-level PERMISSIVE PeerAuthentication and an ALLOW policy (see mesh_istio).
    """
    return {"kuma.io/gateway": "enabled"} if provider == "kuma" else {}


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


@dataclass(frozen=True)
class MeshArgs:
    """Inputs of :class:`Mesh`."""

    #: ``kuma`` (default) or ``istio`` (ambient mode).
    provider: Provider
    #: Who may talk to whom; the only source of allow rules and exits.
    model: AccessModel
    #: The meshed namespaces (already labelled by :func:`namespace_labels`); namespaced policies wait for them.
    namespaces: Mapping[str, k8s.core.v1.Namespace]
    #: ``strict`` everywhere; ``permissive`` (dev only, enforced by the settings) accepts plaintext inbound.
    tls_mode: Literal["strict", "permissive"]
    #: Lifetime of workload certificates, in hours; the mesh renews them before they expire.
    certificate_ttl_hours: int
    #: ``cert-manager``: the mesh CA is a cert-manager CA Certificate issued by ``root_issuer_name``;
    #: ``builtin``: the mesh generates its own CA.
    ca_source: Literal["cert-manager", "builtin"]
    #: Name of the current CA; changing it rotates the CA (docs/mesh.md).
    ca_name: str
    #: CA being rotated out; Kuma keeps trusting it until this is cleared. Empty: none.
    previous_ca_name: str
    #: cert-manager ClusterIssuer that signs the mesh CA (used when ``ca_source`` is ``cert-manager``).
    root_issuer_name: str
    #: Control-plane replicas (Kuma CP or istiod); 2+ also gets a PodDisruptionBudget.
    control_plane_replicas: int
    #: SPIFFE trust domain of Kuma workload identities; unique per stack so stacks never trust each other.
    #: (Istio keeps its own ``cluster.local``.)
    trust_domain: str
    #: VPC CIDR: the database exit (Postgres carries no SNI, so it is matched by address and port).
    vpc_cidr: str
    #: ``irsa`` or ``pod-identity``: with Pod Identity, AWS SDKs also reach the node-local agent.
    identity_mode: str
    #: OpenTelemetry collector ``host:port`` (OTLP gRPC) for mesh metrics and traces; empty: off.
    otel_endpoint: str = ""
    #: What must exist before the control plane (cert-manager and its issuers, Gateway API CRDs).
    depends_on: Sequence[pulumi.Resource] = ()


class Mesh(pulumi.ComponentResource):
    """The service mesh chosen by ``args.provider``.

    Outputs: ``ready``, what every meshed workload must depend on (control plane, permissions,
    exits, identity and TLS policy), so workloads start after the mesh can carry them and are
    destroyed before it; ``system_namespace``.
    """

    def __init__(self, name: str, args: MeshArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:mesh:Mesh", name, None, opts)
        # Imported here: both implementations import this module's helpers.
        from components.mesh_istio import IstioAmbient
        from components.mesh_kuma import KumaMesh

        child = pulumi.ResourceOptions(parent=self)
        if args.provider == "kuma":
            impl: KumaMesh | IstioAmbient = KumaMesh(f"{name}-kuma", args, opts=child)
        elif args.provider == "istio":
            impl = IstioAmbient(f"{name}-istio", args, opts=child)
        else:
            raise ValueError(f"mesh provider {args.provider!r} is not one of kuma, istio")
        self.ready: list[pulumi.Resource] = impl.ready
        self.system_namespace: str = impl.system_namespace
        self.register_outputs({})


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
