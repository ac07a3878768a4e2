"""The reviewed lists stay true: every entry has its reason and still matches something planned."""

from __future__ import annotations

import pytest

from proof import mesh, pod_security, reviewed
from proof.injection import Injector
from proof.pods import pods
from tests.proof.defects import ALL, DATA_GAP

RENDERED = [s for s in ALL if s != DATA_GAP]


@pytest.mark.parametrize(
    ("name", "reason_key"),
    [
        ("runtime_objects", "source"),
        ("mesh_exclusions", "reason"),
        ("pod_security", "reason"),
        ("checkov", "reason"),
        ("cel_unevaluable", "reason"),
    ],
)
def test_every_entry_has_its_reason(name, reason_key):
    reviewed.load(name, reason_key)


def test_every_run_time_object_has_a_creator_in_some_stack(proof):
    for entry in reviewed.load("runtime_objects", "source"):
        made = [o for s in RENDERED for o in reviewed.runtime_objects(proof.objects(s), (entry,))]
        assert made, f"no planned set has {entry['created_by']}"


def test_every_mesh_exclusion_matches_a_pod_left_out(proof):
    for entry in reviewed.load("mesh_exclusions"):
        left_out = [
            p
            for s in RENDERED
            for p in pods(proof.objects(s))
            if reviewed.matches(entry["pod"], p.owner.ref()) and mesh.opted_out(p)
        ]
        assert left_out, entry["pod"]


def test_every_pod_security_exception_excuses_a_violation(proof):
    """Pods as admission sees them (mesh containers injected), as the restricted check sees them."""
    admitted = [Injector(proof.objects(s))(p) for s in RENDERED for p in pods(proof.objects(s))]
    for entry in reviewed.load("pod_security"):
        for check in entry["checks"]:
            hit = [
                p
                for p in admitted
                if reviewed.matches(entry["pod"], p.owner.ref()) and check in {c for c, _ in pod_security.restricted(p)}
            ]
            assert hit, f"{entry['pod']}: {check} excuses nothing"
