"""Gateway API CRDs: one pinned install per stack, of the channel its mesh reads, before anything that uses it."""

from __future__ import annotations

import re

import pytest

from components import versions
from tests.components.mesh import mesh_plans

CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"
GATEWAY_API_KINDS = (
    "kubernetes:gateway.networking.k8s.io/v1:Gateway",
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
)


def crds(plan):
    (found,) = [r for r in plan.of_type(CONFIG_FILE) if r["name"].endswith("-gateway-api-crds")]
    return found


def test_standard_channel_release_manifest_is_installed_once(plan):
    files = plan.of_type(CONFIG_FILE)
    assert [crds(plan)] == [f for f in files if "gateway-api" in f["inputs"]["file"]]
    url = crds(plan)["inputs"]["file"]
    assert url == (
        "https://github.com/kubernetes-sigs/gateway-api/releases/download/"
        f"{versions.GATEWAY_API_VERSION}/standard-install.yaml"
    )
    assert crds(plan)["provider"] == plan.one("pulumi:providers:kubernetes")["name"]


@pytest.mark.parametrize(
    ("provider", "channel"),
    [("kuma", "standard"), ("istio", "standard"), ("linkerd", "experimental"), ("consul", "experimental")],
)
def test_the_channel_is_the_one_whose_crds_serve_what_the_mesh_reads(provider, channel):
    """Linkerd reads TLSRoute v1alpha2 and Consul watches TCPRoute v1alpha2: only the experimental channel
    serves them in v1.5.1 (components/edge/gateway_api.py; the proof's mesh-watch check reads the CRDs)."""
    url = crds(mesh_plans.plan_for("dev", provider))["inputs"]["file"]
    assert url == f"https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.5.1/{channel}-install.yaml"


def test_every_gateway_api_object_waits_for_the_crds(plan):
    objects = [r for kind in GATEWAY_API_KINDS for r in plan.of_type(kind)]
    assert len(objects) >= 3
    for r in objects:
        assert crds(plan)["name"] in plan.requires(r["name"]), r["name"]


def test_the_nginx_gateway_fabric_controller_waits_for_the_crds(plan):
    (ngf,) = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["name"] == "nginx-gateway-fabric"]
    assert crds(plan)["name"] in ngf["dependsOn"]


def test_pinned_version_is_the_one_nginx_gateway_fabric_supports(upstream):
    """NGF's own compatibility table names the Gateway API release each NGF version is built for."""
    table = upstream / "nginx-gateway-fabric" / "docs" / "main" / "technical-specifications.md"
    if not table.exists():
        pytest.skip(f"{table} not in the upstream data")
    # The pin is checked against its offline data; a main-branch snapshot is the table's "Edge" row.
    offline = versions.NGINX_GATEWAY_FABRIC_OFFLINE_DATA
    ngf = "Edge" if offline.startswith("main-") else offline
    rows = [line for line in table.read_text().splitlines() if re.match(rf"^\|\s*{re.escape(ngf)}\s*\|", line)]
    assert rows, f"NGF {ngf} missing from the compatibility table"
    gateway_api = rows[0].split("|")[2].strip()
    assert f"v{gateway_api}" == versions.GATEWAY_API_VERSION
    assert (upstream / "gateway-api" / versions.GATEWAY_API_VERSION / "standard").is_dir()
