"""The Linkerd and Consul parts of the proof fail on deliberately broken inputs: policy targets,
enrolment, injected containers, the watched API version, route parents, patches and Helm test hooks."""

from __future__ import annotations

import copy

import pytest

from proof import charts, mesh, objects, pod_security, wiring
from proof.injection import Injector
from proof.pods import pods
from tests.proof.broken import RESTRICTED_CONTAINER, deployment, namespace, object_set

LINKERD = "policy.linkerd.io/v1beta3"
CONSUL = "consul.hashicorp.com/v1alpha1"


def _linkerd_ns(name: str) -> dict:
    ns = namespace(name, **{"pod-security.kubernetes.io/enforce": "restricted"})
    ns["metadata"]["annotations"] = {"linkerd.io/inject": "enabled"}
    return ns


def _server(port: int, app: str = "api") -> dict:
    return {
        "apiVersion": LINKERD,
        "kind": "Server",
        "metadata": {"name": f"{app}-{port}", "namespace": "apps"},
        "spec": {"podSelector": {"matchLabels": {"app": app}}, "port": port},
    }


def _api(port: int = 8080) -> dict:
    # a deep copy: the tests below change the security context, which RESTRICTED_CONTAINER shares
    container = {"name": "main", "image": "example/app:1.0", "ports": [{"containerPort": port}]}
    container |= copy.deepcopy(RESTRICTED_CONTAINER)
    return deployment("api", containers=[container], serviceAccountName="api")


def test_a_linkerd_server_on_a_port_no_pod_has_or_selecting_nothing_is_found():
    good = object_set(_linkerd_ns("apps"), _api(), _server(8080))
    assert mesh.provider(good) == "linkerd"
    assert mesh.policy_targets(good) == []
    wrong_port = object_set(_linkerd_ns("apps"), _api(), _server(9090))
    assert ["port 9090" in f.message for f in mesh.policy_targets(wrong_port)] == [True]
    nothing = object_set(_linkerd_ns("apps"), _api(), _server(8080, app="ghost"))
    assert ["matches no enrolled pod" in f.message for f in mesh.policy_targets(nothing)] == [True]


def test_a_linkerd_authorization_to_a_missing_server_or_identity_is_found():
    policy = {
        "apiVersion": "policy.linkerd.io/v1alpha1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "allow", "namespace": "apps"},
        "spec": {
            "targetRef": {"group": "policy.linkerd.io", "kind": "Server", "name": "api-9999"},
            "requiredAuthenticationRefs": [
                {"group": "policy.linkerd.io", "kind": "MeshTLSAuthentication", "name": "a"}
            ],
        },
    }
    authn = {
        "apiVersion": "policy.linkerd.io/v1alpha1",
        "kind": "MeshTLSAuthentication",
        "metadata": {"name": "a", "namespace": "apps"},
        "spec": {"identityRefs": [{"kind": "ServiceAccount", "name": "nobody", "namespace": "apps"}]},
    }
    found = [
        f.message for f in mesh.policy_targets(object_set(_linkerd_ns("apps"), _api(), _server(8080), policy, authn))
    ]
    assert found == ["Server api-9999 does not exist", "no enrolled pod runs as apps/nobody"]


def test_a_linkerd_opt_out_needs_a_reviewed_reason():
    opted = _api()
    opted["spec"]["template"]["metadata"]["annotations"] = {"linkerd.io/inject": "disabled"}
    found = mesh.enrollment(object_set(_linkerd_ns("apps"), opted), exclusions=())
    assert [f.message for f in found] == [
        "in meshed namespace apps but left out (linkerd.io/inject=disabled), unreviewed"
    ]


def _consul_ns() -> dict:
    return namespace("apps", **{"consul.hashicorp.com/connect-inject": "enabled"})


def _intention(destination: str, *sources: str) -> dict:
    return {
        "apiVersion": CONSUL,
        "kind": "ServiceIntentions",
        "metadata": {"name": f"allow-to-{destination}", "namespace": "consul"},
        "spec": {"destination": {"name": destination}, "sources": [{"name": s, "action": "allow"} for s in sources]},
    }


def test_a_consul_intention_naming_no_registered_service_is_found():
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "api", "namespace": "apps"},
        "spec": {"selector": {"app": "api"}, "ports": [{"port": 8080}]},
    }
    good = object_set(_consul_ns(), _api(), service, _intention("api", "*"))
    assert mesh.provider(good) == "consul"
    assert mesh.policy_targets(good) == []
    bad = object_set(_consul_ns(), _api(), service, _intention("api", "scheduler"), _intention("ghost", "api"))
    assert sorted(f.message for f in mesh.policy_targets(bad)) == [
        "destination ghost is no Consul service",
        "source scheduler is no Consul service",
    ]


def test_consuls_injected_containers_meet_restricted_only_with_a_restricted_pod():
    """consul-dataplane and connect-inject-init bring their own hardening (consul-k8s webhook); a pod
    that breaks restricted itself still fails after injection, and a clean pod stays clean."""
    ns = namespace(
        "apps", **{"consul.hashicorp.com/connect-inject": "enabled", "pod-security.kubernetes.io/enforce": "restricted"}
    )
    clean = object_set(ns, _api(), _intention("api", "*"))
    injected = Injector(clean)(next(iter(pods(clean))))
    assert [c["name"] for c in injected.spec["initContainers"]] == ["consul-connect-inject-init", "consul-dataplane"]
    assert pod_security.admission(clean) == []
    root = _api()
    root["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = False
    assert pod_security.admission(object_set(ns, root, _intention("api", "*")))


def test_a_mesh_reading_an_unserved_version_is_found():
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "TLSRoute",
        "metadata": {"name": "r", "namespace": "apps"},
        "spec": {},
    }
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "tlsroutes.gateway.networking.k8s.io"},
        "spec": {
            "group": "gateway.networking.k8s.io",
            "names": {"kind": "TLSRoute"},
            "versions": [{"name": "v1", "served": True}, {"name": "v1alpha2", "served": False}],
        },
    }
    base = (_linkerd_ns("apps"), _api(), _server(8080), route)
    assert ["serves ['v1']" in f.message for f in mesh.watched_versions(object_set(*base, crd))] == [True]
    crd["spec"]["versions"][1]["served"] = True  # the experimental channel
    assert mesh.watched_versions(object_set(*base, crd)) == []


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("standard", ["TLSRoute airflow/r: the mesh reads gateway.networking.k8s.io/v1alpha2 TLSRoute"]),
        ("experimental", []),
    ],
)
def test_a_gateway_api_kind_missing_offline_is_judged_by_the_channel(channel, expected):
    """No TLSRoute CRD in the set (offline gap G2): the served versions come from the release channel."""
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "TLSRoute"}
    route["metadata"] = {"name": "r", "namespace": "airflow"}
    found = object_set(_linkerd_ns("apps"), _api(), _server(8080), route)
    found.gateway_api = ("v1.5.1", channel)
    assert [f"{f.ref}: {f.message}"[: len(expected[0])] for f in mesh.watched_versions(found)] == expected


@pytest.mark.parametrize(("channel", "missing"), [("standard", ["TCPRoute"]), ("experimental", [])])
def test_consuls_controller_needs_every_route_version_it_watches(upstream, channel, missing):
    """Consul's connect injector watches TCPRoute v1alpha2 and four v1beta1 kinds whether or not the
    stack has such objects; the real offline CRDs of the channel decide the rest."""
    url = f"https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.5.1/{channel}-install.yaml"
    config_file = {"type": objects.CONFIG_FILE, "name": "crds", "inputs": {"file": url}}
    crds = [o.body for o in objects.config_file_crds([config_file], upstream)]
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "apps"}}
    found = object_set(_consul_ns(), _api(), service, _intention("api", "*"), *crds)
    found.gateway_api = objects.gateway_api_release([config_file])
    findings = mesh.watched_versions(found)
    assert [f.ref.split()[0] for f in findings] == missing
    assert all("the controller cannot start" in f.message for f in findings)
    crds.pop()  # referencegrants, the last file: a v1beta1 kind Consul needs
    assert "ReferenceGrant" in str(mesh.watched_versions(object_set(_consul_ns(), _intention("api", "*"), *crds)))


def test_a_route_parent_that_is_no_gateway_must_exist():
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "apps"},
        "spec": {"parentRefs": [{"group": "policy.linkerd.io", "kind": "EgressNetwork", "name": "egress-deny"}]},
    }
    found = [f.message for f in wiring.references(object_set(namespace("apps"), route))]
    assert found == ["parent EgressNetwork apps/egress-deny missing"]
    network = {
        "apiVersion": "policy.linkerd.io/v1alpha1",
        "kind": "EgressNetwork",
        "metadata": {"name": "egress-deny", "namespace": "apps"},
        "spec": {},
    }
    assert wiring.references(object_set(namespace("apps"), route, network)) == []


def test_a_patch_merges_into_its_target_and_a_missing_target_is_an_error():
    patch = {
        "apiVersion": "apps/v1",
        "kind": "DeploymentPatch",
        "metadata": {"name": "api", "namespace": "apps"},
        "spec": {"template": {"spec": {"tolerations": [{"operator": "Exists"}]}}},
    }
    merged = object_set(_api(), patch)
    objects.apply_patches(merged)
    assert [o.kind for o in merged.objects] == ["Deployment"]
    assert merged.objects[0].body["spec"]["template"]["spec"]["tolerations"] == [{"operator": "Exists"}]
    with pytest.raises(objects.PlanError, match="to patch is not in the set"):
        objects.apply_patches(object_set(patch))
    custom = {
        "apiVersion": "kuma.io/v1alpha1",
        "kind": "ContainerPatch",
        "metadata": {"name": "p", "namespace": "kuma-system"},
        "spec": {},
    }
    kept = object_set(custom)
    objects.apply_patches(kept)
    assert [o.kind for o in kept.objects] == ["ContainerPatch"]


@pytest.mark.parametrize(
    ("hook", "test"), [("test", True), ("test-success", True), ("pre-install", False), ("test,pre-install", False)]
)
def test_only_helm_test_hooks_are_left_out(hook, test):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t", "annotations": {"helm.sh/hook": hook}}}
    assert charts.is_test_hook(pod) is test
