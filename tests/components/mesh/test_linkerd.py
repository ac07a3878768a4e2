"""Linkerd (``meshProvider: linkerd``) in the recorded plans: the three charts in order, identity from
cert-manager under generated trust anchors, default deny, per-edge authorization, EgressNetwork exits."""

from __future__ import annotations

import pytest
import yaml

from components import versions
from components.access_model import Egress
from components.mesh.linkerd.exits import DENY_NAME, exit_manifests
from components.mesh.policy import DATABASE_HOST, ENTRY_POINT_LABEL
from components.platform import CERT_MANAGER_NAMESPACE, KUBERNETES_API, KUBERNETES_SERVICE_CIDR
from policy.rules.model import Resource, Stack
from policy.rules.offline import evaluate, from_records, stack_of
from tests import schemas, stacks
from tests.components.mesh import mesh_plans as mp

STACKS = stacks.NAMES  # the fixture stacks mesh_plans plans (tests/stacks/), not the examples
CHARTS = ("linkerd-crds", "linkerd2-cni", "linkerd-control-plane")
REPLICAS = {"dev": 1, "staging": 2, "prod": 3}
ANCHOR = "kubernetes:core/v1:Secret"


@pytest.fixture(params=STACKS)
def stack(request):
    return request.param


def plan_of(stack: str, **overrides):
    return mp.plan_for(stack, "linkerd", **overrides)


def values(plan, chart="linkerd-control-plane"):
    return mp.releases(plan)[chart]["inputs"]["values"]


def chart_folder(upstream, chart):
    return upstream / "charts" / f"linkerd-{versions.LINKERD_EDGE_RELEASE}" / chart


def test_crds_cni_then_control_plane_after_its_identity(stack):
    plan = plan_of(stack)
    releases = mp.releases(plan)
    assert set(releases) == set(CHARTS)
    for chart, release in releases.items():
        inputs = release["inputs"]
        assert inputs["version"] == versions.LINKERD_CHART_VERSION and inputs["atomic"] is True
        assert inputs["createNamespace"] is False
        assert inputs["namespace"] == ("linkerd-cni" if chart == "linkerd2-cni" else "linkerd")
    names = {c: r["name"] for c, r in releases.items()}
    assert names["linkerd-crds"] in plan.requires(names["linkerd2-cni"])
    control_plane = plan.requires(names["linkerd-control-plane"])
    assert {names["linkerd-crds"], names["linkerd2-cni"]} <= control_plane
    identity = mp.mesh_of_type(plan, mp.CERTIFICATE) + mp.mesh_of_type(plan, mp.CONFIG_MAP)
    assert len(identity) == 2 and {r["name"] for r in identity} <= control_plane
    # The stack owns the Gateway API CRDs (the edge's); Linkerd must not install a second copy.
    assert values(plan, "linkerd-crds") == {"installGatewayAPI": False}
    (gateway_api,) = [r for r in plan.resources if r["type"] == "airflow-mesh:edge:GatewayApiCrds"]
    crds = {r["name"] for r in plan.resources if r["parent"] == gateway_api["name"]}
    assert crds <= control_plane


def test_helm_values_use_only_keys_of_the_charts(stack, upstream, tmp_path):
    plan = plan_of(stack)
    for chart in CHARTS:
        folder = chart_folder(upstream, chart)
        defaults = yaml.safe_load((folder / "values.yaml").read_text())
        if chart == "linkerd-control-plane":
            # values-ha.yaml has keys of its own (highAvailability, the *Resources anchors).
            defaults = _merge(defaults, yaml.safe_load((folder / "values-ha.yaml").read_text()))
        merged = tmp_path / f"{chart}-values.yaml"
        merged.write_text(yaml.safe_dump(defaults))
        assert schemas.unknown_value_keys(values(plan, chart), merged) == [], chart


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def test_ha_outside_dev_and_the_injector_fails_closed(stack):
    v = values(plan_of(stack))
    assert v["controllerReplicas"] == REPLICAS[stack]
    ha = stack != "dev"
    assert v.get("enablePodDisruptionBudget", False) is ha and v.get("enablePodAntiAffinity", False) is ha
    assert v.get("highAvailability", False) is ha
    # A pod that missed injection would run outside the mesh: its creation fails instead.
    assert v["webhookFailurePolicy"] == "Fail"
    # No daily report of the install to versioncheck.linkerd.io (an undeclared exit)
    assert v["disableHeartBeat"] is True


def test_default_deny_native_sidecars_and_cni(stack):
    plan = plan_of(stack)
    v = values(plan)
    assert v["proxy"]["defaultInboundPolicy"] == "deny"
    assert v["proxy"]["nativeSidecar"] is True
    assert v["cniEnabled"] is True
    assert values(plan, "linkerd2-cni")["repairController"]["enabled"] is True
    assert v["clusterNetworks"] == f"{mp.settings_for(stack).vpc_cidr},{KUBERNETES_SERVICE_CIDR}"
    for namespace in mp.model_for(stack).namespaces:
        (ns,) = [n for n in plan.of_type(mp.NAMESPACE) if n["inputs"]["metadata"]["name"] == namespace]
        annotations = ns["inputs"]["metadata"]["annotations"]
        assert annotations == {
            "linkerd.io/inject": "enabled",
            "config.linkerd.io/default-inbound-policy": "deny",
            "config.linkerd.io/access-log": "json",
        }
    (system,) = [n for n in mp.mesh_of_type(plan, mp.NAMESPACE) if n["inputs"]["metadata"]["name"] == "linkerd"]
    assert system["inputs"]["metadata"]["labels"]["config.linkerd.io/admission-webhooks"] == "disabled"


def test_identity_issuer_from_cert_manager_and_workload_certificates_within_the_ttl(stack):
    plan = plan_of(stack)
    identity = values(plan)["identity"]
    ttl = mp.settings_for(stack).mesh_certificate_ttl_hours
    assert ttl <= 24
    assert identity == {
        "externalCA": True,
        "issuer": {"scheme": "kubernetes.io/tls", "issuanceLifetime": f"{ttl}h0m0s"},
    }
    (certificate,) = mp.mesh_of_type(plan, mp.CERTIFICATE)
    spec = certificate["inputs"]["spec"]
    assert certificate["inputs"]["metadata"] | {"labels": None} == {
        "name": "linkerd-identity-issuer",
        "namespace": "linkerd",
        "labels": None,
        "annotations": {"pulumi.com/waitFor": "condition=Ready"},
    }
    assert spec["secretName"] == "linkerd-identity-issuer" and spec["isCA"] is True
    assert spec["commonName"] == "identity.linkerd.cluster.local"
    assert spec["privateKey"]["rotationPolicy"] == "Always"  # a new key on every renewal
    assert (spec["duration"], spec["renewBefore"]) == ("48h0m0s", "25h0m0s")
    (issuer,) = mp.mesh_of_type(plan, mp.ISSUER)
    assert spec["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "linkerd-anchor-ca-1"}
    assert issuer["inputs"]["metadata"]["name"] == "linkerd-anchor-ca-1"
    (anchor,) = [s for s in mp.mesh_of_type(plan, ANCHOR)]
    assert anchor["inputs"]["metadata"]["namespace"] == CERT_MANAGER_NAMESPACE  # Linkerd never sees its key
    assert anchor["inputs"]["type"] == "kubernetes.io/tls"
    assert issuer["inputs"]["spec"] == {"ca": {"secretName": anchor["inputs"]["metadata"]["name"]}}
    assert anchor["inputs"]["stringData"] == "[secret]"  # the anchor's key (pulumi-kubernetes hides data too)
    assert len(pems(trust_bundle(plan))) == 1


def trust_bundle(plan) -> str:
    (config_map,) = mp.mesh_of_type(plan, mp.CONFIG_MAP)
    assert config_map["inputs"]["metadata"] == {
        "name": "linkerd-identity-trust-roots",
        "namespace": "linkerd",
        "labels": {"app.kubernetes.io/part-of": "airflow-mesh"},
    }
    return config_map["inputs"]["data"]["ca-bundle.crt"]


def pems(bundle: str) -> set[str]:
    return {block.split("-----END CERTIFICATE-----")[0] for block in bundle.split("-----BEGIN CERTIFICATE-----")[1:]}


def test_trust_anchor_rotation_trusts_both_anchors_during_the_overlap():
    """docs/mesh.md: trust the new anchor first, then issue from it, then drop the old one."""
    steps = [
        ({"meshCaName": "ca-1"}, "ca-1"),  # before
        ({"meshCaName": "ca-1", "meshPreviousCaName": "ca-2"}, "ca-1"),  # 1: new anchor trusted, not issuing
        ({"meshCaName": "ca-2", "meshPreviousCaName": "ca-1"}, "ca-2"),  # 2: issuer signed by the new anchor
        ({"meshCaName": "ca-2"}, "ca-2"),  # 3: old anchor gone
    ]
    bundles = []
    for overrides, issuing in steps:
        plan = plan_of("staging", **overrides)
        names = {s["inputs"]["metadata"]["name"] for s in mp.mesh_of_type(plan, ANCHOR)}
        assert names == {f"linkerd-anchor-{ca}" for ca in overrides.values()}
        assert {i["inputs"]["metadata"]["name"] for i in mp.mesh_of_type(plan, mp.ISSUER)} == names
        (certificate,) = mp.mesh_of_type(plan, mp.CERTIFICATE)
        assert certificate["inputs"]["spec"]["issuerRef"]["name"] == f"linkerd-anchor-{issuing}"
        bundles.append(pems(trust_bundle(plan)))
        assert len(bundles[-1]) == len(names)
    before, adding, switched, after = bundles
    assert before < adding == switched > after and before.isdisjoint(after)


def test_one_server_per_listener_and_one_identity_allow_per_edge(stack):
    plan, model = plan_of(stack), mp.model_for(stack)
    edges = model.tcp_edges()
    listeners = {(e.destination, e.port) for e in edges}
    gateway = model.workload("edge-gateway")
    servers = mp.mesh_of_type(plan, mp.SERVER)
    assert len(servers) == len(listeners) + len(gateway.ports)
    assert len(mp.mesh_of_type(plan, mp.MTLS_AUTHN)) == len(edges)
    assert len(mp.mesh_of_type(plan, mp.L5D_AUTHZ)) == len(edges) + len(gateway.ports)
    keys = [
        (s["inputs"]["metadata"]["namespace"], s["inputs"]["spec"]["port"], str(s["inputs"]["spec"]["podSelector"]))
        for s in servers
    ]
    assert len(keys) == len(set(keys)), "two Servers on one pod port conflict"
    for s in servers:
        assert not s["inputs"]["spec"].get("proxyProtocol", "").startswith("HTTP"), "probes stay authorized"


def test_only_the_gateway_listeners_admit_by_network(stack):
    plan, model = plan_of(stack), mp.model_for(stack)
    gateway = model.workload("edge-gateway")
    (networks,) = mp.mesh_of_type(plan, mp.NET_AUTHN)
    assert networks["inputs"]["metadata"]["labels"][ENTRY_POINT_LABEL] == "true"
    assert networks["inputs"]["spec"]["networks"] == [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]
    by_network = [
        a
        for a in mp.mesh_of_type(plan, mp.L5D_AUTHZ)
        if a["inputs"]["spec"]["requiredAuthenticationRefs"][0]["kind"] == "NetworkAuthentication"
    ]
    servers = {s["inputs"]["metadata"]["name"]: s["inputs"]["spec"] for s in mp.mesh_of_type(plan, mp.SERVER)}
    admitted = set()
    for a in by_network:
        assert a["inputs"]["metadata"]["labels"][ENTRY_POINT_LABEL] == "true"
        server = servers[a["inputs"]["spec"]["targetRef"]["name"]]
        assert server["podSelector"]["matchLabels"] == dict(gateway.selector)
        admitted.add(server["port"])
    assert admitted == set(gateway.ports)


def test_every_exit_of_the_model_is_let_out_and_nothing_else(stack):
    plan, model, settings = plan_of(stack), mp.model_for(stack), mp.settings_for(stack)
    deny = {r["inputs"]["metadata"]["namespace"]: r["inputs"]["spec"] for r in mp.mesh_of_type(plan, mp.EGRESS_NETWORK)}
    assert deny.keys() == set(model.namespaces)
    assert all(spec == {"trafficPolicy": "Deny"} for spec in deny.values())
    routes = {}
    for r in mp.mesh_of_type(plan, mp.TLS_ROUTE):
        spec = r["inputs"]["spec"]
        assert spec["parentRefs"] == [
            {"group": "policy.linkerd.io", "kind": "EgressNetwork", "name": DENY_NAME, "port": 443}
        ]
        for host in spec["hostnames"]:
            routes.setdefault(r["inputs"]["metadata"]["namespace"], set()).add(host)
    expected: dict[str, set[str]] = {}
    for e in model.egress:
        if e.host in (DATABASE_HOST, KUBERNETES_API, KUBERNETES_SERVICE_CIDR):
            continue  # inside clusterNetworks: not egress to Linkerd, and not restricted (docs/mesh.md)
        ns = model.workload(e.source).namespace
        expected.setdefault(ns, set()).add(e.host)
        if e.host.startswith("s3."):
            expected[ns].add(f"*.{e.host}")
    assert routes == expected
    assert settings.vpc_cidr in values(plan)["clusterNetworks"]


def test_pod_identity_lets_the_node_agent_out_where_sts_is_called():
    plan = plan_of("dev", identityMode="pod-identity")
    allow = [r for r in mp.mesh_of_type(plan, mp.EGRESS_NETWORK) if r["inputs"]["spec"]["trafficPolicy"] == "Allow"]
    assert {r["inputs"]["metadata"]["namespace"] for r in allow} == {
        mp.model_for("dev").workload(e.source).namespace
        for e in mp.model_for("dev").egress
        if e.host.startswith("sts.")
    }
    for r in allow:
        assert r["inputs"]["spec"]["networks"] == [{"cidr": "169.254.170.23/32"}]


def test_exit_rules():
    model = mp.model_for("dev")

    def manifests(host, port):
        bad = type(model)(
            model.stack, model.workloads, model.edges, (Egress("airflow-worker", host, port, "t"),), (), ()
        )
        return list(exit_manifests(bad, vpc_cidr="10.0.0.0/16", service_cidr="172.20.0.0/16", identity_mode="irsa"))

    kinds = [m.kind for m in manifests("example.com", 80)]
    assert "HTTPRoute" in kinds
    assert [m.kind for m in manifests("10.0.2.3", 8443) if m.namespace == "airflow"] == ["EgressNetwork"]  # in the VPC
    (allow,) = [m for m in manifests("203.0.113.7", 8443) if m.namespace == "airflow" and m.name != "egress-deny"]
    assert allow.spec == {"trafficPolicy": "Allow", "networks": [{"cidr": "203.0.113.7/32"}]}
    with pytest.raises(ValueError, match="SNI"):
        manifests("github.com", 22)


def test_the_policy_pack_passes_linkerd_plans_and_catches_a_wildcard_identity(stack):
    plan = plan_of(stack)
    resources = from_records(plan.resources)
    assert evaluate(resources, stack_of(plan.stack, resources)) == []
    wildcard = Resource(
        type=mp.MTLS_AUTHN,
        name="bad",
        props={"metadata": {"name": "bad", "namespace": "airflow"}, "spec": {"identities": ["*"]}},
    )
    found = evaluate([wildcard], Stack(stack, stack))
    assert [v.rule for v in found] == ["mesh-no-allow-all"]


def test_crds_derived_from_the_chart_templates_equal_the_rendered_ones(upstream):
    """The CRD checks read the (locked) chart templates; where the shared copy also has Helm's
    rendering, both give the same schemas."""
    rendered = upstream / "linkerd" / versions.LINKERD_EDGE_RELEASE / "rendered-crds"
    if not rendered.exists():
        pytest.skip("rendered-crds/ is not in upstream.lock; nothing to compare with")
    derived = {}
    for path in mp.linkerd_crds(upstream).glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                derived[doc["metadata"]["name"]] = doc["spec"]["versions"]
    compared = 0
    for path in rendered.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                assert derived[doc["metadata"]["name"]] == doc["spec"]["versions"], path.name
                compared += 1
    assert compared >= 5


def test_exits_need_no_pod_annotations_the_database_port_is_opaque(upstream):
    """LinkerdMesh.workload_pod_annotations is empty because the Postgres port is opaque cluster-wide (the
    chart's ``proxy.opaquePorts``, which the values must not override) and RDS and the Kubernetes API sit
    inside ``clusterNetworks`` (not egress to Linkerd)."""
    from components import mesh, platform

    model, settings = mp.model_for("staging"), mp.settings_for("staging")
    assert mesh.workload_pod_annotations("linkerd", model, settings.vpc_cidr) == {}
    chart = yaml.safe_load(
        (
            upstream / "charts" / f"linkerd-{versions.LINKERD_EDGE_RELEASE}" / "linkerd-control-plane" / "values.yaml"
        ).read_text()
    )
    assert str(platform.DATABASE_PORT) in chart["proxy"]["opaquePorts"].split(",")
    v = values(plan_of("staging"))
    assert "opaquePorts" not in v["proxy"] and "skipSubnets" not in v["proxy"]
    assert settings.vpc_cidr in v["clusterNetworks"].split(",")
