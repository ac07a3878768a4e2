"""The mesh provider interface (components/mesh/provider.py): every implementation the dispatcher
lists answers what other layers ask of it before anything exists, and the settings offer exactly
the providers the dispatcher knows."""

from __future__ import annotations

import typing

import pytest

from components import mesh
from components.settings import StackConfig


@pytest.mark.parametrize("name", sorted(mesh.PROVIDERS))
def test_every_provider_implements_the_interface(name):
    cls = mesh.PROVIDERS[name]
    assert name == cls.NAME
    assert cls.SYSTEM_NAMESPACE and isinstance(cls.SYSTEM_NAMESPACE, str)
    labels, annotations = cls.namespace_labels(), cls.namespace_annotations()
    assert set(mesh.POD_SECURITY_LABELS) <= set(labels), "every meshed namespace gets Pod Security"
    assert labels["pod-security.kubernetes.io/enforce"] in ("baseline", "restricted")
    enrolment = len(labels) - len(mesh.POD_SECURITY_LABELS) + len(annotations)
    assert enrolment > 0, "and the label or annotation that enrols it in this mesh"
    for answer in (labels, annotations, cls.entry_point_pod_annotations(), cls.job_pod_annotations()):
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in answer.items())
    members = {m for m in dir(mesh.MeshProvider) if not m.startswith("_")} | set(mesh.MeshProvider.__annotations__)
    assert {m for m in members if m not in {"ready", "system_namespace"}} <= set(dir(cls))


def test_settings_offer_exactly_the_providers_the_dispatcher_knows():
    offered = set(typing.get_args(StackConfig.model_fields["mesh_provider"].annotation))
    assert offered == set(mesh.PROVIDERS) == set(typing.get_args(mesh.Provider))


def test_an_unknown_provider_is_named():
    with pytest.raises(ValueError, match="'cilium' is not one of kuma, istio, linkerd, consul"):
        mesh.provider_class("cilium")
