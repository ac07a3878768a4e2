"""Istio ambient (``meshProvider: istio``) in the recorded plans: the four releases in order, L4-only
authorization, the gateway's entry ports, the plugged-in CA."""

from __future__ import annotations

import pytest

from components import versions
from tests import schemas, stacks
from tests.components.mesh import mesh_plans as mp

STACKS = stacks.NAMES
CHARTS = ("base", "istiod", "cni", "ztunnel")
REPLICAS = {"dev": 1, "staging": 2, "prod": 3}


@pytest.fixture(params=STACKS)
def stack(request):
    return request.param


def test_base_istiod_cni_ztunnel_in_order_with_the_ambient_profile(stack):
    plan = mp.plan_for(stack, "istio")
    releases = mp.releases(plan)
    assert set(releases) == set(CHARTS)
    for chart in CHARTS:
        inputs = releases[chart]["inputs"]
        assert inputs["namespace"] == "istio-system" and inputs["version"] == versions.ISTIO_VERSION
        assert inputs["atomic"] is True
    names = {c: releases[c]["name"] for c in CHARTS}
    assert names["base"] in plan.requires(names["istiod"])
    assert names["istiod"] in plan.requires(names["cni"])
    assert {names["istiod"], names["cni"]} <= plan.requires(names["ztunnel"])
    istiod = releases["istiod"]["inputs"]["values"]
    assert istiod["profile"] == "ambient" and releases["cni"]["inputs"]["values"]["profile"] == "ambient"
    assert istiod["replicaCount"] == istiod["autoscaleMin"] == REPLICAS[stack]
    assert istiod["global"]["defaultPodDisruptionBudget"]["enabled"] is (stack != "dev")
    ttl = "12h" if stack == "prod" else "24h"
    assert istiod["env"] == {"DEFAULT_WORKLOAD_CERT_TTL": ttl, "MAX_WORKLOAD_CERT_TTL": ttl}
    assert not [r for r in mp.mesh_resources(plan) if r["type"].startswith(mp.KUMA)]


def test_releases_wait_for_the_gateway_api_crds(stack):
    plan = mp.plan_for(stack, "istio")
    (component,) = [r for r in plan.resources if r["type"] == "airflow-mesh:edge:GatewayApiCrds"]
    crds = [r["name"] for r in plan.resources if r["parent"] == component["name"]]
    assert crds, "the Gateway API component registers its CRDs"
    for release in mp.releases(plan).values():
        assert set(crds) <= plan.requires(release["name"]), release["name"]


def test_helm_values_use_only_keys_of_the_charts(stack, upstream):
    """Istio's charts keep their defaults under ``_internal_defaults_do_not_set`` and take user values
    at the top level; ``profile`` selects one of the chart's profiles."""
    folder = upstream / "istio" / versions.ISTIO_VERSION
    assert (folder / "helm-profiles" / "ambient.yaml").exists()
    for chart, release in mp.releases(mp.plan_for(stack, "istio")).items():
        values = dict(release["inputs"]["values"])
        assert values.pop("profile", "ambient") == "ambient"
        wrapped = {"_internal_defaults_do_not_set": values}
        # env, meshConfig: free maps; resources, seccompProfile: Kubernetes' own types (limits, type)
        free = [f"_internal_defaults_do_not_set.{k}" for k in ("env", "meshConfig", "resources", "seccompProfile")]
        assert schemas.unknown_value_keys(wrapped, folder / chart / "values.yaml", free) == [], chart


def test_authorization_is_l4_only_and_deny_by_default(stack):
    """Without a waypoint ztunnel cannot evaluate L7 rules, and a policy with them denies everything."""
    policies = mp.mesh_of_type(mp.plan_for(stack, "istio"), mp.AUTHZ)
    (nothing,) = [p for p in policies if p["inputs"]["metadata"]["name"] == "allow-nothing"]
    assert nothing["inputs"]["metadata"]["namespace"] == "istio-system"  # root namespace: every workload
    assert not nothing["inputs"].get("spec")
    for p in policies:
        spec = p["inputs"].get("spec") or {}
        assert spec.get("action", "ALLOW") == "ALLOW", p["name"]
        for rule in spec.get("rules", []):
            assert set(rule) <= {"from", "to"}, p["name"]
            for f in rule.get("from", []):
                assert set(f["source"]) == {"principals"}, p["name"]
            for t in rule["to"]:
                assert set(t["operation"]) == {"ports"}, p["name"]


def test_the_gateway_takes_plaintext_only_on_its_ports(stack):
    plan = mp.plan_for(stack, "istio")
    model = mp.model_for(stack)
    gateway = model.workload("edge-gateway")
    ports = {str(p) for p in gateway.ports}
    (mtls,) = [p for p in mp.mesh_of_type(plan, mp.PEER_AUTH) if "selector" in p["inputs"]["spec"]]
    spec = mtls["inputs"]["spec"]
    assert mtls["inputs"]["metadata"]["namespace"] == gateway.namespace
    assert spec["selector"]["matchLabels"] == dict(gateway.selector)
    assert spec["mtls"]["mode"] == "STRICT"
    assert spec["portLevelMtls"] == {p: {"mode": "PERMISSIVE"} for p in ports}
    (ingress,) = [
        p
        for p in mp.mesh_of_type(plan, mp.AUTHZ)
        if p["inputs"].get("spec")
        and not any("from" in r for r in p["inputs"]["spec"]["rules"])
        and p["inputs"]["metadata"]["name"] != "allow-nothing"
    ]
    assert ingress["inputs"]["spec"]["selector"]["matchLabels"] == dict(gateway.selector)
    assert {p for r in ingress["inputs"]["spec"]["rules"] for t in r["to"] for p in t["operation"]["ports"]} == ports


def test_cert_manager_ca_is_plugged_into_istiod(stack):
    plan = mp.plan_for(stack, "istio")
    (certificate,) = mp.mesh_of_type(plan, mp.CERTIFICATE)
    spec = certificate["inputs"]["spec"]
    assert certificate["inputs"]["metadata"]["namespace"] == "istio-system"
    assert spec["secretName"] == "cacerts" and spec["isCA"] is True
    assert spec["issuerRef"]["kind"] == "ClusterIssuer"
    assert spec["privateKey"]["rotationPolicy"] == "Always"  # workloads trust the root above it
    assert certificate["name"] in plan.requires(mp.releases(plan)["istiod"]["name"])
    assert mp.mesh_of_type(mp.plan_for("dev", "istio", meshCaSource="builtin"), mp.CERTIFICATE) == []
