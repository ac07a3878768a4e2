"""Mesh: the service mesh, Kuma (default) or Istio ambient, generated from the access model.

The dispatcher: :data:`PROVIDERS` lists the implementations of
:class:`~components.mesh.provider.MeshProvider`, :class:`Mesh` builds the one the settings chose,
and the functions below answer, per provider, what other layers must put on their namespaces and
pods. The design, the reasons and the CA rotation steps are in ``docs/mesh.md``.
"""

from __future__ import annotations

import pulumi

from components.mesh.istio.component import IstioAmbient
from components.mesh.kuma.component import KumaMesh
from components.mesh.provider import MeshArgs, MeshProvider

#: Every implementation, by the ``meshProvider`` setting that selects it.
PROVIDERS: dict[str, type[MeshProvider]] = {KumaMesh.NAME: KumaMesh, IstioAmbient.NAME: IstioAmbient}


def provider_class(provider: str) -> type[MeshProvider]:
    """The implementation of ``provider``; ``ValueError`` names the known ones otherwise."""
    try:
        return PROVIDERS[provider]
    except KeyError:
        raise ValueError(f"mesh provider {provider!r} is not one of {', '.join(PROVIDERS)}") from None


def namespace_labels(provider: str) -> dict[str, str]:
    """Labels that enrol a namespace in the chosen mesh, plus its Pod Security level."""
    return provider_class(provider).namespace_labels()


def job_pod_annotations(provider: str) -> dict[str, str]:
    """Annotations for a chart's one-shot hook Jobs in a meshed namespace that only talk to the
    Kubernetes API (e.g. NGF's cert-generator)."""
    return provider_class(provider).job_pod_annotations()


def entry_point_pod_annotations(provider: str) -> dict[str, str]:
    """Annotations the pods of an entry point (the NGINX data plane) need."""
    return provider_class(provider).entry_point_pod_annotations()


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
