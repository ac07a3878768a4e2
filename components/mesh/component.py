"""Mesh: the service mesh (Kuma by default, Istio ambient, Linkerd or Consul), generated from the access model.

The dispatcher: :data:`PROVIDERS` lists the implementations of
:class:`~components.mesh.provider.MeshProvider`, :class:`Mesh` builds the one the settings chose,
and the functions below answer, per provider, what other layers must put on their namespaces and
pods. The design, the reasons and the CA rotation steps are in ``docs/mesh.md``.
"""

from __future__ import annotations

import pulumi

from components.access_model import AccessModel
from components.mesh.consul.component import ConsulMesh
from components.mesh.istio.component import IstioAmbient
from components.mesh.kuma.component import KumaMesh
from components.mesh.linkerd.component import LinkerdMesh
from components.mesh.provider import MeshArgs, MeshProvider, NodeStartup, TelemetryHooks

#: Every implementation, by the ``meshProvider`` setting that selects it.
PROVIDERS: dict[str, type[MeshProvider]] = {
    KumaMesh.NAME: KumaMesh,
    IstioAmbient.NAME: IstioAmbient,
    LinkerdMesh.NAME: LinkerdMesh,
    ConsulMesh.NAME: ConsulMesh,
}


def provider_class(provider: str) -> type[MeshProvider]:
    """The implementation of ``provider``; ``ValueError`` names the known ones otherwise."""
    try:
        return PROVIDERS[provider]
    except KeyError:
        raise ValueError(f"mesh provider {provider!r} is not one of {', '.join(PROVIDERS)}") from None


def namespace_labels(provider: str) -> dict[str, str]:
    """Labels that enrol a namespace in the chosen mesh, plus its Pod Security level."""
    return provider_class(provider).namespace_labels()


def namespace_annotations(provider: str) -> dict[str, str]:
    """Annotations that enrol a namespace in the chosen mesh (Linkerd injects by annotation)."""
    return provider_class(provider).namespace_annotations()


def workload_pod_annotations(provider: str, model: AccessModel, vpc_cidr: str) -> dict[str, dict[str, str]]:
    """Access-model workload -> pod annotations its exits need from the layer that owns its pods
    (Consul: outbound exclusions for RDS and the Kubernetes API); empty for providers that express
    every exit as policy. ``__main__`` hands each layer the entries of the workloads it runs."""
    return provider_class(provider).workload_pod_annotations(model, vpc_cidr)


def node_startup(provider: str) -> NodeStartup:
    """How the chosen mesh keeps pods off a new node until its CNI is ready there."""
    return provider_class(provider).node_startup()


def startup_taints(provider: str) -> tuple[dict[str, str], ...]:
    """The taints nodes that run meshed pods must register with (Karpenter ``startupTaints``, the EKS
    node group's ``taints``): the chosen mesh's, or none when its CNI removes none."""
    taint = node_startup(provider).taint
    return (dict(taint),) if taint else ()


def gateway_api_channel(provider: str) -> str:
    """The Gateway API channel (``standard`` or ``experimental``) whose CRDs the chosen mesh needs."""
    return provider_class(provider).GATEWAY_API_CHANNEL


def job_pod_annotations(provider: str) -> dict[str, str]:
    """Annotations for a chart's one-shot hook Jobs in a meshed namespace that only talk to the
    Kubernetes API (e.g. NGF's cert-generator)."""
    return provider_class(provider).job_pod_annotations()


def http_service_annotations(provider: str, port: int) -> dict[str, str]:
    """Annotations on a Service that make ``port`` HTTP to the chosen mesh (see the provider's)."""
    return provider_class(provider).http_service_annotations(port)


def entry_point_pod_annotations(provider: str) -> dict[str, str]:
    """Annotations the pods of an entry point (the NGINX data plane) need."""
    return provider_class(provider).entry_point_pod_annotations()


def telemetry_hooks(provider: str, plaintext_ports: tuple[int, ...]) -> TelemetryHooks:
    """What the collector needs for the chosen mesh (pod annotations, node log files and parsers)."""
    return provider_class(provider).telemetry_hooks(plaintext_ports)


class Mesh(pulumi.ComponentResource):
    """The service mesh chosen by ``args.provider``.

    Outputs: ``ready``, what every meshed workload must depend on (control plane, permissions,
    exits, identity and TLS policy), so workloads start after the mesh can carry them and are
    destroyed before it; ``system_namespace``.
    """

    def __init__(self, name: str, args: MeshArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:mesh:Mesh", name, None, opts)
        impl = provider_class(args.provider)(f"{name}-{args.provider}", args, opts=pulumi.ResourceOptions(parent=self))
        self.ready: list[pulumi.Resource] = impl.ready
        self.system_namespace: str = impl.system_namespace
        self.register_outputs({})
