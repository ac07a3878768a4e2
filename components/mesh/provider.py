"""The mesh provider interface: what an implementation receives and what it must produce.

A provider is a ``pulumi.ComponentResource`` class built as ``Provider(name, args, opts)`` from a
:class:`MeshArgs`: the access model (who may talk to whom, the deliberate exits), the namespaces it
enrols, the TLS mode, the CA settings and what must exist first. From those alone it must create,
as its own children:

1. **control plane** (Helm release(s) of the pinned chart in its ``SYSTEM_NAMESPACE``, with
   ``control_plane_replicas`` and a PodDisruptionBudget from 2);
2. **identity and CA**: workload identities from ServiceAccounts, the mesh CA issued by cert-manager
   below ``root_issuer_name`` (``ca_source="cert-manager"``, :func:`~components.mesh.policy.ca_certificate`)
   or the mesh's own, and the rotation from ``previous_ca_name`` to ``ca_name``;
3. **default deny**: nothing is allowed between meshed workloads that the model does not list;
4. **one allow per edge** of :func:`~components.mesh.policy.permissions` (source identity, destination
   selector, port) and an admission for each :func:`~components.mesh.policy.entry_points` workload;
5. **exits**: each of the model's egress entries, where the mesh restricts egress;
6. mTLS ``strict`` (or ``permissive`` on dev) once every allow and exit exists;
7. **telemetry** (when ``telemetry`` is set): the mesh's metrics, traces and access logs to the stack's
   OpenTelemetry Collector. Every access-log record, allowed or denied, carries the attributes of
   :data:`ACCESS_LOG_FIELDS` (both sides' SPIFFE identities; ``denied_by`` names the policy decision
   when the mesh refused the connection or request), so the documented queries of docs/observability.md
   work for every provider. A provider whose proxies cannot push OTLP logs (Istio's ztunnel writes them
   to stdout) names its log files and parsers in :meth:`MeshProvider.telemetry_hooks` instead, and the
   collector reads them from the node.

And it must expose ``ready`` (every resource a meshed workload has to wait for, so pods start after
the mesh can carry them and are deleted before it) and ``system_namespace``. Outside the component,
the other layers ask the provider class, before anything exists, for the **namespace labels and
annotations** that enrol a namespace, the **pod annotations** of entry points, of API-only hook Jobs
and of each workload whose exits need them (:meth:`MeshProvider.workload_pod_annotations`), the
**startup taint** nodes must register with (:meth:`MeshProvider.node_startup`),
and the **telemetry hooks** (:class:`TelemetryHooks`) the observability layer puts on the collector.

:mod:`components.mesh.kuma`, :mod:`components.mesh.istio`, :mod:`components.mesh.linkerd` and
:mod:`components.mesh.consul` implement it; the dispatcher
(:mod:`components.mesh.component`) lists them. Shared helpers live in :mod:`components.mesh.policy`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import pulumi
import pulumi_kubernetes as k8s

from components.access_model import AccessModel

Provider = Literal["kuma", "istio", "linkerd", "consul"]

#: Attributes of every mesh access-log record in the access trail (what docs/observability.md queries).
ACCESS_LOG_FIELDS = {
    "log_source": "always ``mesh``",
    "mesh_provider": "the provider's NAME",
    "source_identity": "SPIFFE id of the client (``spiffe://<trust domain>/ns/<ns>/sa/<sa>``)",
    "destination_identity": "SPIFFE id of the server",
    "denied_by": "non-empty when the mesh refused the connection or request (the policy decision's text)",
}


@dataclass(frozen=True)
class MeshTelemetry:
    """Where the mesh sends its telemetry: the stack's OpenTelemetry Collector (components/observability)."""

    #: Collector Service, fully qualified (``otel-collector.observability.svc.cluster.local``).
    host: str
    #: OTLP over gRPC: where the data planes push their own metrics, traces and access logs.
    otlp_grpc_port: int
    #: OTLP over HTTP.
    otlp_http_port: int
    #: The collector's ServiceAccount and namespace: its mesh identity, which Linkerd's proxies verify
    #: when they send it traces (chart ``proxy.tracing.collector.meshIdentity``).
    service_account: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class TelemetryHooks:
    """What a provider needs from the collector, asked before anything exists."""

    #: Annotations on the collector's pods (Kuma: its OTLP gRPC port takes the data planes' own,
    #: non-mTLS telemetry, so the sidecar must not intercept it).
    collector_pod_annotations: Mapping[str, str] = field(default_factory=dict)
    #: Pod-log globs below ``/var/log/pods`` the node collector reads as mesh access logs.
    log_paths: tuple[str, ...] = ()
    #: filelog (stanza) operators that turn those lines into :data:`ACCESS_LOG_FIELDS`; each guards
    #: itself with an ``if`` so it touches only its provider's lines.
    log_operators: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class NodeStartup:
    """How the mesh keeps a pod on a node that just joined from starting before its CNI is ready there
    (kumahq/kuma#18741: such a pod runs without traffic redirection), asked before anything exists.

    With a ``taint``, every node that runs meshed workloads registers carrying it and ``remover`` takes it
    off once the CNI is ready on that node; the CNI DaemonSet and the remover tolerate it. Without one,
    ``guard`` says what else stops the pod, or is empty where nothing does (an open gap, docs/mesh.md).
    """

    #: ``{"key", "effect"}`` the nodes register with; None: the mesh removes no taint.
    taint: Mapping[str, str] | None
    #: Which component removes the taint, and the upstream source that says so.
    remover: str = ""
    #: Without a taint: what fails such a pod closed (and restarts it), with the upstream source.
    guard: str = ""


@dataclass(frozen=True)
class MeshArgs:
    """Inputs of :class:`Mesh`."""

    #: ``kuma`` (default), ``istio`` (ambient mode), ``linkerd`` (edge release) or ``consul``.
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
    #: Values of the access model's slots known before anything exists (``logs_bucket``): providers that
    #: cannot match S3 by wildcard (Consul) list the virtual-hosted bucket hosts the IAM grants name.
    grant_values: Mapping[str, str] = field(default_factory=dict)
    #: The stack's collector; None: the mesh sends no telemetry.
    telemetry: MeshTelemetry | None = None
    #: Generated mesh secrets (Consul's gossip key) are regenerated after this many days.
    secret_rotation_days: int = 90
    #: Keep stateful mesh data (Consul servers' volumes) when the stack is destroyed (prod).
    protect_state: bool = False
    #: The cluster's encrypted default StorageClass (``cluster.storage_class_name``, components/cluster/storage.py)
    #: that the control plane's volumes (Consul servers) claim; the mesh makes no class of its own.
    storage_class: pulumi.Input[str] = "gp3"
    #: What must exist before those claims can bind (the StorageClass resource itself).
    storage: Sequence[pulumi.Resource] = ()
    #: What must exist before the control plane (cert-manager and its issuers, Gateway API CRDs).
    depends_on: Sequence[pulumi.Resource] = ()
    #: Sizing tier of the control plane's requests (components/sizing.py): ``small`` in dev.
    size_tier: str = "standard"


class MeshProvider(Protocol):
    """A mesh implementation (see the module docstring for what its constructor must build)."""

    #: The ``meshProvider`` setting that selects it.
    NAME: ClassVar[str]
    #: Where its control plane runs.
    SYSTEM_NAMESPACE: ClassVar[str]
    #: The Gateway API release channel whose CRDs serve every route version its controllers read
    #: (components/edge/gateway_api.py installs it; the proof checks it against what the mesh reads).
    GATEWAY_API_CHANNEL: ClassVar[Literal["standard", "experimental"]]
    #: Every resource meshed workloads depend on (control plane, identity, allows, exits, TLS mode).
    ready: list[pulumi.Resource]
    system_namespace: str

    def __init__(self, name: str, args: MeshArgs, opts: pulumi.ResourceOptions | None = None) -> None: ...

    @staticmethod
    def namespace_labels() -> dict[str, str]:
        """Labels that enrol a namespace in this mesh, plus its Pod Security level."""
        ...

    @staticmethod
    def namespace_annotations() -> dict[str, str]:
        """Annotations a namespace needs to be enrolled (Linkerd injects by annotation), often none."""
        ...

    @staticmethod
    def entry_point_pod_annotations() -> dict[str, str]:
        """Annotations the pods of an entry point (the NGINX data plane) need."""
        ...

    @staticmethod
    def job_pod_annotations() -> dict[str, str]:
        """Annotations for a chart's one-shot Jobs that talk only to the Kubernetes API."""
        ...

    @staticmethod
    def workload_pod_annotations(model: AccessModel, vpc_cidr: str) -> dict[str, dict[str, str]]:
        """Per access-model workload, the pod annotations its exits need that no policy object can
        express (Consul: outbound exclusions for RDS and the Kubernetes API); every layer that owns a
        workload's pods applies its entry. Empty where policies express every exit."""
        ...

    @staticmethod
    def node_startup() -> NodeStartup:
        """The startup taint new nodes must carry for this mesh's CNI, or why there is none."""
        ...

    @staticmethod
    def http_service_annotations(port: int) -> dict[str, str]:
        """Annotations on a Service that make its ``port`` HTTP to the mesh (for L7 access logs), where
        the mesh reads them; the Service's charts cannot always set ``appProtocol``."""
        ...

    @staticmethod
    def telemetry_hooks(plaintext_ports: tuple[int, ...]) -> TelemetryHooks:
        """What the collector needs for this mesh; ``plaintext_ports`` are the collector ports the data
        planes push to outside mTLS (the access model's ``Workload.plaintext_ports``)."""
        ...
