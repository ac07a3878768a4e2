"""What every mesh provider builds its policies from, so no two providers can disagree.

- :func:`permissions`: one allow per TCP edge of the access model (a UDP edge could not be carried by
  either mesh: Kuma and ztunnel only capture TCP; the model has none), everything else denied;
- :func:`entry_points`: edge workloads that serve ports but are nobody's destination inside the
  mesh, i.e. the gateway that receives plaintext from the load balancer;
- :func:`ca_certificate`: the mesh CA as a cert-manager Certificate below the platform's root issuer;
- :func:`servers`: the permissions grouped by destination port (Linkerd's ``Server`` is per port,
  and two Servers selecting the same pod port conflict);
- :func:`egress_by_namespace` / :func:`egress_by_source`: the model's exits per client namespace
  (Linkerd's ``EgressNetwork`` scope) or per workload;
- :func:`is_network`, :func:`inside`, :data:`POD_IDENTITY_AGENT`: how exits are told apart (an address
  or CIDR, one inside the cluster networks, the EKS Pod Identity agent);
- :func:`is_s3_endpoint` / :func:`s3_bucket_hosts`: S3's virtual-hosted names (``<bucket>.s3.<region>.
  amazonaws.com``, what the SDKs call), as a wildcard where the provider matches one (Kuma, Linkerd) or
  as the bucket names the workload's IAM grants name where it cannot (Consul);
- :data:`POD_SECURITY_LABELS`, :data:`PART_OF` and :func:`k8s_name` for the objects themselves.

Providers (``components.mesh.kuma``, ``.istio``, ``.linkerd``, ``.consul``) import this module; it
imports no provider and no dispatcher.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.access_model import AccessModel, Edge, Egress, Workload
from components.access_model.model import Ref, fill
from components.settings.regions import partitions

#: The baseline level, ``restricted`` reported (warn + audit): for a mesh whose injected containers the
#: proof cannot check. No provider uses it today; it is the base of :data:`RESTRICTED_POD_SECURITY_LABELS`.
POD_SECURITY_LABELS = {
    "pod-security.kubernetes.io/enforce": "baseline",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}
#: ``restricted`` enforced on every meshed namespace of all four providers: the proof checks each
#: configured pod with the containers the mesh injects (proof/injection.py; tests/proof/test_wiring.py).
RESTRICTED_POD_SECURITY_LABELS = {**POD_SECURITY_LABELS, "pod-security.kubernetes.io/enforce": "restricted"}
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


#: Model placeholder for the RDS endpoint (access_model: ``{database_address}``): Postgres carries no
#: SNI, so providers match it by the VPC CIDR and port.
DATABASE_HOST = "{database_address}"


#: EKS Pod Identity agent (link-local): AWS SDKs fetch credentials there with identityMode pod-identity.
POD_IDENTITY_AGENT = ("169.254.170.23", 80)
#: An S3 ARN in any partition (``arn:aws:s3:::``, ``arn:aws-cn:s3:::``...): the bucket follows.
S3_ARN = re.compile(r"^arn:[a-z-]+:s3:::")


def is_network(host: str) -> bool:
    """Whether an exit's host is an IP address or CIDR rather than a name."""
    try:
        ipaddress.ip_network(host, strict=False)
    except ValueError:
        return False
    return True


def inside(host: str, networks: Iterable[str]) -> bool:
    """Whether an address/CIDR exit lies inside one of ``networks`` (IPv4 CIDRs); names never do."""
    if not is_network(host):
        return False
    address = ipaddress.ip_network(host, strict=False)
    return any(address.subnet_of(ipaddress.ip_network(n)) for n in networks if ":" not in n)


def is_s3_endpoint(host: str) -> bool:
    """``s3.<region>.<dns suffix>`` in any partition (``s3.cn-north-1.amazonaws.com.cn``) or the global
    ``s3.amazonaws.com``: buckets are reached below it."""
    return host.startswith("s3.") and any(host.endswith(f".{p.dns_suffix}") for p in partitions())


def s3_bucket_hosts(model: AccessModel, sources: Iterable[str], host: str, values: Mapping[str, str]) -> list[str]:
    """The virtual-hosted names ``<bucket>.<host>`` of every bucket the ``sources``' IAM grants name (the
    SDKs' default addressing), sorted. ``values`` fills the bucket slots known before anything exists
    (``logs_bucket``); ``ValueError`` names a slot it lacks."""
    buckets = set()
    for source in sources:
        for grant in model.workload(source).grants:
            for resource in grant.resources:
                parts = (resource,) if isinstance(resource, (str, Ref)) else resource
                if not (isinstance(parts[0], str) and S3_ARN.match(parts[0])):
                    continue
                try:
                    arn = fill(resource, values)
                except KeyError as missing:
                    raise ValueError(f"S3 exit of {source}: bucket slot {missing} has no value") from None
                buckets.add(S3_ARN.sub("", arn).split("/", 1)[0])
    return sorted(f"{b}.{host}" for b in buckets)


def servers(model: AccessModel) -> dict[tuple[str, int], tuple[Permission, ...]]:
    """The permissions by (destination workload, port), in model order: one listener each."""
    out: dict[tuple[str, int], list[Permission]] = {}
    for p in permissions(model):
        out.setdefault((p.destination.name, p.edge.port), []).append(p)
    return {k: tuple(v) for k, v in out.items()}


def egress_by_source(model: AccessModel) -> dict[str, tuple[Egress, ...]]:
    """The model's exits per meshed workload."""
    out: dict[str, list[Egress]] = {}
    for e in model.egress:
        if model.workload(e.source).meshed:
            out.setdefault(e.source, []).append(e)
    return {k: tuple(v) for k, v in out.items()}


def egress_by_namespace(model: AccessModel) -> dict[str, tuple[Egress, ...]]:
    """The model's exits per meshed namespace (every meshed namespace, possibly with none)."""
    out: dict[str, list[Egress]] = {ns: [] for ns in model.namespaces}
    for e in model.egress:
        w = model.workload(e.source)
        if w.meshed:
            out[w.namespace].append(e)
    return {k: tuple(v) for k, v in out.items()}


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


@dataclass(frozen=True)
class Manifest:
    """One policy object as a provider describes it before creating it: Pulumi resource suffix,
    apiVersion, kind, namespace, name, spec; ``entry_point`` marks the sanctioned opening for the load
    balancer (the label lets the policy pack tell it from a mistake)."""

    resource: str
    api_version: str
    kind: str
    namespace: str
    name: str
    spec: dict[str, object]
    entry_point: bool = False

    @property
    def labels(self) -> dict[str, str]:
        return {**PART_OF, ENTRY_POINT_LABEL: "true"} if self.entry_point else dict(PART_OF)


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
