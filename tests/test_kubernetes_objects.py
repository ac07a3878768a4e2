"""Every Kubernetes object the program registers directly is valid for the cluster's version."""

from __future__ import annotations

from tests import schemas

BUILTIN_GROUPS = ("v1", "apps/", "batch/", "policy/", "rbac.authorization.k8s.io/", "networking.k8s.io/")


def test_builtin_objects_validate_against_kubernetes_schemas(plan):
    checked = 0
    for record, obj in schemas.kubernetes_objects(plan):
        if obj["apiVersion"] == "v1" or obj["apiVersion"].startswith(BUILTIN_GROUPS[1:]):
            assert schemas.kubernetes_errors(obj) == [], record["name"]
            checked += 1
    assert checked >= 10
