"""Certificates: cert-manager as a pinned Helm release, the ACME issuer, the mesh root CA chain."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from components import platform, versions
from tests import schemas, stacks

CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
ZONES = {"dev": "dev.data.example.com", "staging": "staging.data.example.com", "prod": "data.example.com"}
ZONE_IDS = {"dev": "Z0DEV00000000EXAMPLE", "staging": "Z0STAGING000EXAMPLE", "prod": "Z0PROD0000000EXAMPLE"}


def chart_dir(upstream: Path) -> Path:
    folder = upstream / "cert-manager" / versions.CERT_MANAGER_CHART_VERSION
    if not folder.is_dir():
        pytest.skip(f"no cert-manager {versions.CERT_MANAGER_CHART_VERSION} in the upstream data")
    return folder


def release(plan):
    return schemas.releases(plan)["cert-manager"]


def issuers(plan) -> dict[str, dict]:
    return {r["inputs"]["metadata"]["name"]: r for r in plan.of_type(CLUSTER_ISSUER)}


def declared_in_schema(path: str, schema: dict) -> bool:
    """Whether the dotted ``path`` is a property the chart's schema declares (``$ref`` followed)."""
    node = schema
    for key in path.split("."):
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        node = node.get("properties", {}).get(key)
        if node is None:
            return False
    return True


def test_release_is_pinned_atomic_and_owns_its_crds(plan):
    r = release(plan)
    inputs = r["inputs"]
    assert inputs["version"] == versions.CERT_MANAGER_CHART_VERSION == "v1.21.1"
    assert inputs["repositoryOpts"]["repo"] == "https://charts.jetstack.io"
    assert inputs["atomic"] is True and inputs["timeout"] >= 300
    assert inputs["namespace"] == platform.CERT_MANAGER_NAMESPACE
    assert inputs["values"]["crds"] == {"enabled": True, "keep": True}


def test_values_match_the_upstream_chart(plan, upstream):
    folder = chart_dir(upstream)
    values = release(plan)["inputs"]["values"]
    assert schemas.values_schema_errors(values, folder / "values.schema.json") == []
    # values.yaml documents some keys only in comments (`# +docs:property`); the schema declares them.
    schema = json.loads((folder / "values.schema.json").read_text())
    schema = {**schema["$defs"]["helm-values"], "$defs": schema["$defs"]}
    undocumented = [
        p
        # resources: Kubernetes ResourceRequirements (components/sizing.py), which the schema checks above
        for p in schemas.unknown_value_keys(values, folder / "values.yaml", ("resources", "*.resources"))
        if not declared_in_schema(p, schema)
    ]
    assert undocumented == []


def test_controller_service_account_carries_its_irsa_role(plan):
    sa = release(plan)["inputs"]["values"]["serviceAccount"]
    assert sa["create"] is True and sa["name"] == "cert-manager"
    (role,) = [r for r in plan.of_type("aws:iam/role:Role") if r["name"].endswith("-identity-cert-manager-role")]
    assert sa["annotations"]["eks.amazonaws.com/role-arn"].startswith(f"arn:aws:iam::123456789012:role/{role['name']}")
    assert role["name"] in release(plan)["dependsOn"]
    # the role trusts exactly the ServiceAccount the chart creates
    assert "system:serviceaccount:cert-manager:cert-manager" in role["inputs"]["assumeRolePolicy"]


def test_pod_identity_mode_leaves_the_service_account_unannotated():
    plan = stacks.run("dev", {"identityMode": "pod-identity"})
    sa = release(plan)["inputs"]["values"]["serviceAccount"]
    assert sa["name"] == "cert-manager" and "annotations" not in sa
    associations = plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert {"namespace": "cert-manager", "serviceAccount": "cert-manager"} in [
        {k: a["inputs"][k] for k in ("namespace", "serviceAccount")} for a in associations
    ]


def test_highly_available_outside_dev(plans):
    for stack, plan in plans.items():
        values = release(plan)["inputs"]["values"]
        ha = stack != "dev"
        for part in (values, values["webhook"], values["cainjector"]):
            assert part["replicaCount"] == (2 if ha else 1), stack
            assert part["podDisruptionBudget"]["enabled"] is ha, stack


def test_acme_issuer_uses_dns01_on_the_stack_zone_with_ambient_credentials(plans):
    for stack, plan in plans.items():
        env = "staging" if stack == "dev" else "production"
        name = f"letsencrypt-{env}"
        acme = issuers(plan)[name]["inputs"]["spec"]["acme"]
        expected = {
            "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
            "production": "https://acme-v02.api.letsencrypt.org/directory",
        }[env]
        assert acme["server"] == expected
        assert acme["email"] == "platform-team@example.com"
        (solver,) = acme["solvers"]
        route53 = solver["dns01"]["route53"]
        assert route53 == {"region": "us-east-1", "hostedZoneID": ZONE_IDS[stack]}, "no static AWS keys"
        assert solver["selector"]["dnsZones"] == [ZONES[stack]]


def test_mesh_root_is_a_self_renewing_chain(plan):
    by_name = issuers(plan)
    assert by_name["selfsigned"]["inputs"]["spec"] == {"selfSigned": {}}
    (root,) = [c for c in plan.of_type(CERTIFICATE) if c["inputs"]["metadata"]["name"] == "mesh-root-ca"]
    spec = root["inputs"]["spec"]
    assert spec["isCA"] is True
    assert spec["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "selfsigned"}
    assert root["inputs"]["metadata"]["namespace"] == platform.CERT_MANAGER_NAMESPACE

    def hours(d: str) -> int:
        return int(re.fullmatch(r"(\d+)h", d).group(1))

    assert hours(spec["duration"]) >= 5 * 8760
    assert 0 < hours(spec["renewBefore"]) < hours(spec["duration"])
    assert spec["privateKey"]["rotationPolicy"] == "Never", "a renewed root must still verify what it signed"
    ca = by_name["mesh-root-ca"]
    assert ca["inputs"]["spec"] == {"ca": {"secretName": spec["secretName"]}}
    assert root["name"] in ca["dependsOn"]
    assert by_name["selfsigned"]["name"] in root["dependsOn"]


def test_every_issuer_and_certificate_waits_for_cert_manager(plan):
    rel = release(plan)["name"]
    objects = plan.of_type(CLUSTER_ISSUER) + plan.of_type(CERTIFICATE)
    assert len(objects) >= 5
    for r in objects:
        assert rel in plan.requires(r["name"]), r["name"]


def test_issuers_and_certificates_validate_against_upstream_crds(plan, upstream):
    folder = chart_dir(upstream) / "crds"
    objects = [obj for r, obj in schemas.kubernetes_objects(plan) if obj["apiVersion"].startswith("cert-manager.io/")]
    assert {o["kind"] for o in objects} == {"ClusterIssuer", "Certificate"}
    for obj in objects:
        assert schemas.custom_resource_errors(obj, folder) == [], obj["metadata"]["name"]
