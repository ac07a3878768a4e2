"""Journey 2: every layer of an API call takes its timeout from the journey's one budget
(``apiCallTimeoutSeconds``), in objects the layers' own schemas accept, outer >= inner, read back from
the recorded plan and the rendered charts."""

from __future__ import annotations

import copy

import pytest

from components import timeouts, versions
from components.airflow import pgbouncer
from components.airflow.values import PGBOUNCER_CONFIG_ANNOTATION
from components.settings import SettingsError
from plan import harness, journey_timeouts
from tests import schemas, stacks
from tests.components.mesh import mesh_plans as mp

POLICY = "kubernetes:gateway.nginx.org/v1alpha1:ProxySettingsPolicy"
#: The Services an API call passes between oauth2-proxy and RDS, as the charts render them.
JOURNEY_SERVICES = (("edge", "oauth2-proxy"), ("airflow", "airflow-api-server"), ("airflow", "airflow-pgbouncer"))


def test_proxy_settings_policy_validates_against_the_ngf_crd(plan, upstream):
    (record,) = plan.of_type(POLICY)
    obj = {k: record["inputs"][k] for k in ("apiVersion", "kind", "metadata", "spec")}
    crds = upstream / "nginx-gateway-fabric" / versions.NGINX_GATEWAY_FABRIC_OFFLINE_DATA / "crds"
    assert schemas.custom_resource_errors(obj, crds) == []
    assert obj["spec"]["targetRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "airflow-route"}
    ]


def test_layers_read_back_from_the_plan_nest(plan):
    found = journey_timeouts.layers(plan, timeouts.ApiCall())
    budget = timeouts.DEFAULT_API_CALL_SECONDS
    margin = timeouts.MARGIN_SECONDS
    assert [(layer, secs) for layer, secs, _ in found] == [
        ("nlb", timeouts.NLB_IDLE_SECONDS),
        ("gateway", budget + margin),
        ("oauth2-proxy", budget),
        ("pgbouncer", budget - margin),
    ]
    assert all("default" not in source for _, _, source in found), found


def test_the_budget_setting_moves_every_layer():
    """One setting, every layer: 300 s makes NGINX 305, oauth2-proxy 300, PgBouncer 295, and the
    chain still nests under the NLB."""
    longer = stacks.run("dev", {"apiCallTimeoutSeconds": 300})
    found = journey_timeouts.layers(longer, timeouts.ApiCall(300))
    assert [secs for _, secs, _ in found] == [timeouts.NLB_IDLE_SECONDS, 305, 300, 295]
    # PgBouncer's file changed with the budget and nothing else: its pods roll onto the new one.
    assert _pgbouncer_checksum(longer) != _pgbouncer_checksum(stacks.run("dev"))


def test_pgbouncer_ini_holds_the_wait_and_never_cancels_running_queries():
    ini = pgbouncer.pgbouncer_ini("db", 5432, "airflow", "airflow", "/ca.pem", False, query_wait_timeout=295)
    assert "\nquery_wait_timeout = 295\n" in ini
    assert "\nquery_timeout = 0\n" in ini  # the migration Job's long statements pass here too


def _pgbouncer_checksum(plan: harness.Plan) -> str:
    (release,) = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "airflow"]
    return release["inputs"]["values"]["pgbouncer"]["podAnnotations"][PGBOUNCER_CONFIG_ANNOTATION]


@pytest.mark.parametrize("value", [timeouts.MAX_API_CALL_SECONDS + 1, timeouts.MIN_API_CALL_SECONDS - 1])
def test_a_budget_the_chain_cannot_nest_is_refused_by_the_settings(value):
    with pytest.raises(SettingsError, match=rf"apiCallTimeoutSeconds.*{value}"):
        stacks.settings_for("dev", {"apiCallTimeoutSeconds": value})
    with pytest.raises(ValueError, match="outside"):
        timeouts.ApiCall(value)


def test_a_shorter_outer_layer_is_a_denied_hop(plan):
    """The check can fail: NGINX back at its 60 s default under oauth2-proxy's 120 s."""
    broken = harness.Plan(plan.stack, [r for r in plan.resources if r["type"] != POLICY])
    hops = journey_timeouts.person_api_call(broken, timeouts.ApiCall(), "kuma")
    (gateway,) = [h for h in hops if h.step.startswith("gateway ")]
    assert gateway.allowed is False and "default" in gateway.decided_by


def test_the_mesh_neither_cuts_nor_repeats_an_api_call_it_carries_as_http(proof, plans):
    """As rendered, the NGINX -> oauth2-proxy hop is HTTP to Kuma (the chart's appProtocol: http), where
    Kuma's initial policies would cut a call at 15 s and retry a slow POST five times; the stack's own
    MeshTimeouts and MeshRetry replace them (components/mesh/kuma/resilience.py)."""
    rendered = proof.objects("dev")
    http = {}
    for namespace, name in JOURNEY_SERVICES:
        service = rendered.find("Service", namespace, name)
        assert service is not None, f"{namespace}/{name} not rendered"
        http[name] = journey_timeouts.http_service_ports(service.body)
    # Both HTTP on purpose: the mesh's access log at each carries method, path, status (and the user at
    # the api-server, docs/observability.md); PgBouncer stays TCP (it speaks PostgreSQL).
    assert http == {"oauth2-proxy": ["80", "44180"], "airflow-api-server": ["8080"], "airflow-pgbouncer": []}
    hop = journey_timeouts.mesh_hop(plans["dev"], "kuma")
    assert hop.allowed, hop.line()


@pytest.mark.parametrize(
    "remove", ["kuma.io/v1alpha1:MeshTimeout", "kuma.io/v1alpha1:MeshRetry", "kuma.io/v1alpha1:Mesh"]
)
def test_kuma_defaults_back_in_place_are_a_denied_hop(plans, remove):
    """Without the explicit policies (or with Kuma's initial ones created again) the hop is denied."""
    plan = plans["dev"]
    kept = [r for r in plan.resources if not r["type"].endswith(remove)]
    assert len(kept) < len(plan.resources)
    hop = journey_timeouts.mesh_hop(harness.Plan(plan.stack, kept), "kuma")
    assert hop.allowed is False, hop.line()


def test_a_retried_post_or_a_request_timeout_is_a_denied_hop(plans):
    plan = plans["dev"]
    changed = []
    for r in plan.resources:
        if r["type"].endswith(":MeshRetry"):
            r = copy.deepcopy(r)
            r["inputs"]["spec"]["to"][0]["default"]["http"]["retryOn"].append("GatewayError")
        changed.append(r)
    hop = journey_timeouts.mesh_hop(harness.Plan(plan.stack, changed), "kuma")
    assert hop.allowed is False and "GatewayError" in hop.note, hop.line()


def test_an_http_app_protocol_is_seen():
    service = {"metadata": {"annotations": {"8080.service.kuma.io/protocol": "HTTP"}}, "spec": {"ports": []}}
    assert journey_timeouts.http_service_ports(service) == ["8080"]
    assert journey_timeouts.http_service_ports({"spec": {"ports": [{"port": 80, "appProtocol": "grpc"}]}}) == ["80"]
    assert journey_timeouts.http_service_ports({"spec": {"ports": [{"port": 80, "appProtocol": "kuma.io/x"}]}}) == []


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_consul_exits_carry_no_request_timeout_or_retry(stack):
    """Read back from the recorded config entries: every Consul destination is tcp (no HTTP route, so
    neither Envoy's 15 s route timeout nor a retry policy), and no resolver or router tunes the exits."""
    plan = mp.plan_for(stack, "consul")
    destinations = [
        r for r in plan.resources if r["type"].endswith(":ServiceDefaults") and r["inputs"]["spec"].get("destination")
    ]
    assert destinations
    hop = journey_timeouts.consul_exit_hop(plan)
    assert hop.allowed, hop.line()


def test_an_http_consul_destination_is_a_denied_exit_hop():
    plan = mp.plan_for("dev", "consul")
    changed = []
    for r in plan.resources:
        if r["type"].endswith(":ServiceDefaults") and r["inputs"]["spec"].get("destination"):
            r = copy.deepcopy(r)
            r["inputs"]["spec"]["protocol"] = "http"
        changed.append(r)
    hop = journey_timeouts.consul_exit_hop(harness.Plan(plan.stack, changed))
    assert hop.allowed is False and "15 s" in hop.note, hop.line()
