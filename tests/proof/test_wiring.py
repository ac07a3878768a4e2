"""What a cluster trips over that no schema sees, on each stack's rendered + emitted objects."""

from __future__ import annotations

import pytest

from proof import mesh, ownership, pod_security, wiring
from tests.proof.defects import params

CHECKS = {
    "mounts": wiring.mount_collisions,
    "storage": wiring.storage_classes,
    "references": wiring.references,
    "unset": wiring.unset_values,
    "enrollment": mesh.enrollment,
    "mesh-policies": mesh.policy_targets,
    "mesh-watch": mesh.watched_versions,
    "owners": ownership.owned_once,
    "admission": pod_security.admission,
    "restricted": pod_security.restricted_findings,
}


def _findings(proof, set_id, check):
    return [str(f) for f in CHECKS[check](proof.objects(set_id))]


@pytest.mark.parametrize("set_id", params("mounts"))
def test_no_mount_inside_a_read_only_or_directory_mount(proof, set_id):
    assert _findings(proof, set_id, "mounts") == []


@pytest.mark.parametrize("set_id", params("storage"))
def test_every_claim_names_a_storage_class_the_stack_creates(proof, set_id):
    assert _findings(proof, set_id, "storage") == []


@pytest.mark.parametrize("set_id", params("references"))
def test_every_referenced_object_key_and_port_exists(proof, set_id):
    assert _findings(proof, set_id, "references") == []


@pytest.mark.parametrize("set_id", params("unset"))
def test_no_object_holds_only_a_value_nobody_set(proof, set_id):
    assert _findings(proof, set_id, "unset") == []


@pytest.mark.parametrize("set_id", params("enrollment"))
def test_every_pod_in_a_meshed_namespace_is_enrolled_or_reviewed(proof, set_id):
    assert mesh.meshed_namespaces(proof.objects(set_id)) >= {"airflow", "edge"}
    assert _findings(proof, set_id, "enrollment") == []


@pytest.mark.parametrize("set_id", params("mesh-policies"))
def test_every_mesh_policy_selects_an_enrolled_pod_port_and_identity(proof, set_id):
    assert mesh.provider(proof.objects(set_id)) in ("kuma", "istio", "linkerd", "consul")
    assert _findings(proof, set_id, "mesh-policies") == []


@pytest.mark.parametrize("set_id", params("mesh-watch"))
def test_the_mesh_reads_its_objects_at_a_version_the_cluster_serves(proof, set_id):
    assert _findings(proof, set_id, "mesh-watch") == []


@pytest.mark.parametrize("set_id", params("owners"))
def test_every_object_has_one_installer(proof, set_id):
    assert len(ownership.installed(proof.objects(set_id))) > 200
    assert _findings(proof, set_id, "owners") == []


@pytest.mark.parametrize("set_id", params("admission"))
def test_no_pod_breaks_its_namespace_enforced_pod_security_level(proof, set_id):
    assert _findings(proof, set_id, "admission") == []


@pytest.mark.parametrize("set_id", params("restricted"))
def test_every_pod_meets_restricted_or_has_a_reviewed_reason(proof, set_id):
    assert _findings(proof, set_id, "restricted") == []
