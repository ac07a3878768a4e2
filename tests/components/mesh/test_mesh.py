"""The service mesh, for every provider, in the recorded plan of every stack: enrolment, exactly the
access model's edges allowed, strict mTLS where it must be, the order that keeps traffic flowing,
and every object checked against its upstream schema."""

from __future__ import annotations

import pytest
import yaml

from components import mesh, versions
from components.access_model import Edge
from plan import harness
from plan.mocks import RealisticMocks
from tests import schemas, stacks
from tests.components.mesh import mesh_plans as mp

STACKS = stacks.NAMES
CASES = [(stack, provider) for provider in mp.PROVIDERS for stack in STACKS]
#: Where each provider's enrolment lives on a namespace: (metadata field, key, value).
ENROL = {
    "kuma": ("labels", "kuma.io/sidecar-injection", "enabled"),
    "istio": ("labels", "istio.io/dataplane-mode", "ambient"),
    "linkerd": ("annotations", "linkerd.io/inject", "enabled"),
    "consul": ("labels", "consul.hashicorp.com/connect-inject", "enabled"),
}


@pytest.fixture(params=CASES, ids=[f"{s}-{p}" for s, p in CASES])
def case(request):
    stack, provider = request.param
    return stack, provider, mp.plan_for(stack, provider)


def test_every_airflow_edge_and_domain_namespace_is_enrolled(case):
    stack, provider, plan = case
    model = mp.model_for(stack)
    metadata = {ns["inputs"]["metadata"]["name"]: ns["inputs"]["metadata"] for ns in plan.of_type(mp.NAMESPACE)}
    expected = {"airflow", "edge", *model.domain_namespaces}
    assert expected <= set(model.namespaces)
    where, key, value = ENROL[provider]
    for namespace in model.namespaces:
        meta = metadata[namespace]
        assert meta.get(where, {}).get(key) == value, namespace
        # hostPath for the node's pod logs: the collector's namespace alone is privileged (observability);
        # every other meshed namespace enforces restricted: Kuma (its injected containers patched), Istio
        # (nothing injected), Linkerd and Consul (their injected containers meet it; proof/injection.py).
        level = "privileged" if namespace == "observability" else "restricted"
        assert meta["labels"].get("pod-security.kubernetes.io/enforce") == level, namespace
        for other, (other_where, other_key, _) in ENROL.items():
            if other != provider:
                assert other_key not in meta.get(other_where, {}), (namespace, other)
    assert "cert-manager" not in model.namespaces  # not meshed: nothing to enrol


def test_allowed_pairs_are_exactly_the_models_tcp_edges(case):
    stack, provider, plan = case
    model = mp.model_for(stack)
    triples = mp.allowed(plan, provider, model)
    assert sorted(triples) == sorted((e.source, e.destination, e.port) for e in model.tcp_edges())
    if provider == "kuma":
        assert len(mp.mesh_of_type(plan, mp.MTP)) == len(model.tcp_edges())
    # statsd is gone (Airflow exports OTLP through the mesh): no UDP edge, so nothing outside mTLS.
    assert [e for e in model.edges if e.protocol == "udp"] == []


def test_staging_and_prod_are_strict(case):
    _, provider, plan = case
    if provider == "kuma":
        (tls,) = mp.mesh_of_type(plan, mp.MESH_TLS)
        assert tls["inputs"]["spec"]["targetRef"] == {"kind": "Mesh"}
        assert [r["default"]["mode"] for r in tls["inputs"]["spec"]["rules"]] == ["Strict"]
        assert "mtls" not in mp.mesh_of_type(plan, mp.MESH)[0]["inputs"]["spec"]  # Mesh.mtls is gone in Kuma 3
    elif provider == "linkerd":
        values = mp.releases(plan)["linkerd-control-plane"]["inputs"]["values"]
        assert values["proxy"]["defaultInboundPolicy"] == "deny"
        assert {s["inputs"]["spec"]["accessPolicy"] for s in mp.mesh_of_type(plan, mp.SERVER)} == {"deny"}
    elif provider == "consul":
        (defaults,) = mp.mesh_of_type(plan, mp.PROXY_DEFAULTS)
        assert defaults["inputs"]["spec"]["mutualTLSMode"] == "strict"
        (consul_mesh,) = mp.mesh_of_type(plan, mp.CONSUL_MESH)
        assert "allowEnablingPermissiveMutualTLS" not in consul_mesh["inputs"]["spec"]
        assert mp.releases(plan)["consul"]["inputs"]["values"]["global"]["acls"]["manageSystemACLs"] is True
    else:
        (mesh_wide,) = [p for p in mp.mesh_of_type(plan, mp.PEER_AUTH) if "selector" not in p["inputs"]["spec"]]
        assert mesh_wide["inputs"]["metadata"]["namespace"] == "istio-system"
        assert mesh_wide["inputs"]["spec"]["mtls"]["mode"] == "STRICT"
        for p in mp.mesh_of_type(plan, mp.PEER_AUTH):
            assert p["inputs"]["spec"]["mtls"]["mode"] == "STRICT"


@pytest.mark.parametrize("provider", mp.PROVIDERS)
def test_dev_may_be_permissive(provider):
    plan = mp.plan_for("dev", provider, meshTlsMode="permissive")
    if provider == "kuma":
        (tls,) = mp.mesh_of_type(plan, mp.MESH_TLS)
        assert tls["inputs"]["spec"]["rules"][0]["default"]["mode"] == "Permissive"
    elif provider == "linkerd":
        # Linkerd's permissive is "audit": allowed, but logged and counted as unauthorized.
        assert (
            mp.releases(plan)["linkerd-control-plane"]["inputs"]["values"]["proxy"]["defaultInboundPolicy"] == "audit"
        )
        assert {s["inputs"]["spec"]["accessPolicy"] for s in mp.mesh_of_type(plan, mp.SERVER)} == {"audit"}
    elif provider == "consul":
        (defaults,) = mp.mesh_of_type(plan, mp.PROXY_DEFAULTS)
        assert defaults["inputs"]["spec"]["mutualTLSMode"] == "permissive"
    else:
        modes = {p["inputs"]["spec"]["mtls"]["mode"] for p in mp.mesh_of_type(plan, mp.PEER_AUTH)}
        assert modes == {"PERMISSIVE"}


def test_control_plane_comes_first_and_permissions_before_strict_mode(case):
    _, provider, plan = case
    releases = {r["name"] for r in mp.mesh_of_type(plan, mp.RELEASE)}
    assert releases
    if provider == "kuma":
        allows = mp.mesh_of_type(plan, mp.MTP) + mp.mesh_of_type(plan, mp.PASSTHROUGH)
        enforcing = mp.mesh_of_type(plan, mp.IDENTITY) + mp.mesh_of_type(plan, mp.MESH_TLS)
    elif provider == "linkerd":
        # Default deny is each proxy's setting from the control plane (no later switch), so every
        # policy follows the control plane and meshed workloads wait for the policies (test below).
        allows = [r for r in mesh_policies(plan)]
        assert allows
        for policy in allows:
            assert releases <= plan.requires(policy["name"]), policy["name"]
        return
    elif provider == "consul":
        enforcing = mp.mesh_of_type(plan, mp.CONSUL_MESH) + mp.mesh_of_type(plan, mp.PROXY_DEFAULTS)
        allows = [r for r in mesh_policies(plan) if r not in enforcing]
    else:
        allows = mp.mesh_of_type(plan, mp.AUTHZ)
        enforcing = mp.mesh_of_type(plan, mp.PEER_AUTH)
        (deny,) = [a for a in allows if a["inputs"]["metadata"]["name"] == "allow-nothing"]
        allows = [a for a in allows if a is not deny]
        enforcing = [*enforcing, deny]
    assert allows and enforcing
    for policy in allows + enforcing:
        assert releases <= plan.requires(policy["name"]), policy["name"]
    allow_names = {a["name"] for a in allows}
    for policy in enforcing:
        # mTLS (and deny-by-default with it) never takes effect before every allow exists.
        assert allow_names <= plan.requires(policy["name"]), policy["name"]


def test_namespaced_policies_wait_for_their_namespace(case):
    _, _, plan = case
    namespaces = {n["inputs"]["metadata"]["name"]: n["name"] for n in plan.of_type(mp.NAMESPACE)}
    for r in mesh_policies(plan):
        if r["type"] == mp.MESH:
            continue  # cluster-scoped
        ns = r["inputs"]["metadata"].get("namespace")
        assert ns and namespaces[ns] in plan.requires(r["name"]), r["name"]


def test_custom_resources_validate_against_upstream_crds(case, upstream):
    _, _, plan = case
    folders = _crd_folders(upstream)
    checked = 0
    for r in mesh_policies(plan) + mp.mesh_of_type(plan, mp.CERTIFICATE) + mp.mesh_of_type(plan, mp.ISSUER):
        assert crd_errors(r, folders) == [], r["name"]
        checked += 1
    assert checked >= 10


VARIANTS = {
    "otel": {"otelEndpoint": "otlp.example.com:443"},
    "ca-rotation": {"meshCaName": "ca-2", "meshPreviousCaName": "ca-1"},
    "builtin-ca": {"meshCaSource": "builtin"},
    "permissive": {"meshTlsMode": "permissive"},
}
#: Linkerd's identity issuer always comes from cert-manager (the settings reject ``builtin``).
VARIANT_CASES = [(p, v) for p in mp.PROVIDERS for v in VARIANTS if (p, v) != ("linkerd", "builtin-ca")]


@pytest.mark.parametrize(("provider", "variant"), VARIANT_CASES, ids=[f"{v}-{p}" for p, v in VARIANT_CASES])
def test_variants_validate_against_upstream_crds(provider, variant, upstream):
    overrides = VARIANTS[variant]
    plan = mp.plan_for("dev", provider, **overrides)
    for r in mesh_policies(plan) + mp.mesh_of_type(plan, mp.CERTIFICATE) + mp.mesh_of_type(plan, mp.ISSUER):
        assert crd_errors(r, _crd_folders(upstream)) == [], r["name"]


def test_resource_names_are_valid_kubernetes_names(case):
    _, _, plan = case
    for r in mesh_policies(plan):
        name = r["inputs"]["metadata"]["name"]
        assert len(name) <= 63 and name == name.lower() and not name.startswith("-"), name


def test_every_meshed_workload_release_waits_for_the_whole_mesh(case):
    """Workloads start after the mesh can carry them, and destroy removes them before it."""
    stack, _, plan = case
    meshed = set(mp.model_for(stack).namespaces)
    mesh_names = {r["name"] for r in mp.mesh_resources(plan)}
    workloads = [
        r for r in plan.of_type(mp.RELEASE) if r["name"] not in mesh_names and r["inputs"].get("namespace") in meshed
    ]
    assert {r["inputs"]["chart"] for r in workloads} >= {"airflow", "oauth2-proxy"}
    for release in workloads:
        missing = mesh_names - plan.requires(release["name"])
        assert not missing, (release["name"], sorted(missing)[:5])


def test_mesh_ready_holds_control_plane_permissions_and_tls():
    """What ``Mesh.ready`` hands to the workloads, registered under the mock engine."""
    for provider in mp.PROVIDERS:
        component, registered = _register_mesh(provider)
        ready = {r.pulumi_resource_name for r in component.ready}
        by_type: dict[str, set[str]] = {}
        for typ, name in registered:
            by_type.setdefault(typ, set()).add(name)
        must = [mp.RELEASE] + {
            "kuma": [mp.MESH, mp.MTP, mp.PASSTHROUGH, mp.IDENTITY, mp.MESH_TLS],
            "istio": [mp.AUTHZ, mp.PEER_AUTH],
            "linkerd": [mp.SERVER, mp.L5D_AUTHZ, mp.MTLS_AUTHN, mp.EGRESS_NETWORK, mp.TLS_ROUTE, mp.CONFIG_MAP],
            "consul": [mp.INTENTIONS, mp.SERVICE_DEFAULTS, mp.TERMINATING_GATEWAY, mp.CONSUL_MESH, mp.PROXY_DEFAULTS],
        }[provider]
        for typ in must:
            assert by_type[typ] and by_type[typ] <= ready, (provider, typ)


def test_edges_with_unmeshed_or_unselectable_workloads_are_rejected():
    model = mp.model_for("dev")
    workloads = dict(model.workloads)
    bad = type(model)(
        model.stack, workloads, (*model.edges, Edge("airflow-api-server", "cert-manager", 9402, "x")), (), (), ()
    )
    with pytest.raises(ValueError, match="cert-manager is not in the mesh"):
        mesh.permissions(bad)


def test_entry_points_are_the_edge_gateway_only():
    for stack in STACKS:
        assert [w.name for w in mesh.entry_points(mp.model_for(stack))] == ["edge-gateway"]
    assert mesh.entry_point_pod_annotations("kuma") == {"kuma.io/gateway": "enabled"}
    assert mesh.entry_point_pod_annotations("istio") == {}
    assert mesh.entry_point_pod_annotations("linkerd") == {}
    assert mesh.entry_point_pod_annotations("consul") == {
        "consul.hashicorp.com/transparent-proxy-exclude-inbound-ports": "80,443"
    }


def test_long_names_are_shortened_deterministically():
    name = mesh.k8s_name("allow", "domain-" + "x" * 60, "to", "airflow-api-server", 8080)
    assert len(name) <= 63 and name == mesh.k8s_name("allow", "domain-" + "x" * 60, "to", "airflow-api-server", 8080)
    assert mesh.k8s_name("allow", "a", "to", "b", 1) == "allow-a-to-b-1"


def test_versions_are_pinned_to_the_upstream_data(upstream):
    # The upstream Chart.yaml files carry the release pipeline's placeholder version: the folder
    # names (see upstream/PROVENANCE-1.md) say which release the data is.
    assert (
        yaml.safe_load((upstream / "kuma" / versions.KUMA_CHART_VERSION / "Chart.yaml").read_text())["name"] == "kuma"
    )
    for chart in ("base", "istiod", "cni", "ztunnel"):
        assert (upstream / "istio" / versions.ISTIO_VERSION / chart / "values.yaml").exists()
    for chart in ("linkerd-crds", "linkerd-control-plane", "linkerd2-cni"):
        folder = upstream / "charts" / f"linkerd-{versions.LINKERD_EDGE_RELEASE}" / chart
        assert yaml.safe_load((folder / "Chart.yaml").read_text())["name"] == chart
    assert "20" + versions.LINKERD_EDGE_RELEASE.removeprefix("edge-") == versions.LINKERD_CHART_VERSION
    consul = yaml.safe_load((upstream / "consul" / versions.CONSUL_CHART_VERSION / "Chart.yaml").read_text())
    assert (consul["version"], consul["appVersion"]) == (versions.CONSUL_CHART_VERSION, versions.CONSUL_VERSION)
    pins = {
        "kuma": versions.KUMA_CHART_VERSION,
        "istio": versions.ISTIO_VERSION,
        "linkerd": versions.LINKERD_CHART_VERSION,
        "consul": versions.CONSUL_CHART_VERSION,
    }
    for stack, provider in CASES:
        for release in mp.releases(mp.plan_for(stack, provider)).values():
            assert release["inputs"]["version"] == pins[provider]
            assert release["inputs"]["atomic"] is True and release["inputs"]["timeout"] >= 300


# --------------------------------------------------------------------------------------------------


POLICY_TYPES = (
    mp.KUMA,
    "kubernetes:security.istio.io/",
    mp.LINKERD,
    "kubernetes:gateway.networking.k8s.io/",
    mp.CONSUL,
)


def mesh_policies(plan):
    return [r for r in mp.mesh_resources(plan) if r["type"].startswith(POLICY_TYPES)]


def crd_errors(record, folders):
    """Strict CRD validation of a recorded custom resource (tests.schemas)."""
    obj = mp.as_object(record)
    if obj["kind"] == "TLSRoute" and obj["apiVersion"] == "gateway.networking.k8s.io/v1":
        # The upstream data has TLSRoute only as Linkerd's v1alpha2 CRD; v1 (Gateway API v1.5 standard)
        # keeps the same spec fields (hostnames, parentRefs, rules[].backendRefs).
        obj = {**obj, "apiVersion": "gateway.networking.k8s.io/v1alpha2"}
    return schemas.custom_resource_errors(obj, *folders)


def _crd_folders(upstream):
    return (
        upstream / "kuma" / versions.KUMA_CHART_VERSION / "crds",
        upstream / "istio" / versions.ISTIO_VERSION / "crds",
        upstream / "cert-manager" / "v1.21.1" / "crds",
        upstream / "gateway-api" / versions.GATEWAY_API_VERSION / "standard",
        upstream / "consul" / versions.CONSUL_CHART_VERSION / "crds",
        mp.linkerd_crds(upstream),
    )


def _register_mesh(provider: str):
    """Build one Mesh under the mock engine; return it and the (type, name) of what it registered."""
    import pulumi
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    s = mp.settings_for("staging")
    model = mp.model_for("staging")
    monitor = harness.RecordingMonitor(RealisticMocks(s.region))
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(monitor.mocks, project="airflow-mesh", stack="staging", preview=True, monitor=monitor)
    out = {}

    def program():
        out["mesh"] = mesh.Mesh(
            "m",
            mesh.MeshArgs(
                provider=provider,
                model=model,
                namespaces={},
                tls_mode="strict",
                certificate_ttl_hours=12,
                ca_source="cert-manager",
                ca_name="ca-2",
                previous_ca_name="ca-1",
                root_issuer_name="mesh-root-ca",
                control_plane_replicas=2,
                trust_domain="t.mesh.local",
                vpc_cidr="10.0.0.0/16",
                identity_mode="irsa",
                telemetry=mesh.MeshTelemetry(f"collector.{s.stack}.svc", 4317, 4318, "otel-collector", "observability"),
                grant_values={"logs_bucket": s.logs_bucket_name},
            ),
        )

    _sync_await(run_pulumi_func(program))
    return out["mesh"], [(r.type, r.name) for r in monitor.requests]


@pytest.mark.parametrize("provider", mp.PROVIDERS)
def test_only_the_mesh_component_creates_allow_rules(provider):
    """Nothing else may create allow rules: every traffic permission in the whole plan sits under
    the Mesh component (which generates them from the access model)."""
    plan = mp.plan_for("prod", provider)
    inside = {r["name"] for r in mp.mesh_resources(plan)}
    kinds = (
        "MeshTrafficPermission",
        "AuthorizationPolicy",
        "MeshPassthrough",
        "PeerAuthentication",
        "Server",
        "MeshTLSAuthentication",
        "NetworkAuthentication",
        "EgressNetwork",
        "TLSRoute",
        "ServiceIntentions",
        "ServiceDefaults",
        "TerminatingGateway",
    )
    everywhere = [r for r in plan.resources if r["type"].rsplit(":", 1)[-1] in kinds]
    assert everywhere and {r["name"] for r in everywhere} <= inside
    for r in everywhere:
        assert "from" not in (r["inputs"].get("spec") or {}), r["name"]  # the old, looser Kuma form
