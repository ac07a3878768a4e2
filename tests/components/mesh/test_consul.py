"""Consul (``meshProvider: consul``) in the recorded plans: HA servers on the cluster's encrypted StorageClass,
ACLs, TLS and gossip encryption with generated keys, native-sidecar injection per namespace through
the CNI, intentions per edge, exits through the terminating gateway, mesh closed after the allows."""

from __future__ import annotations

import json

import pytest
import yaml

from components import platform, versions
from components.access_model import Egress
from components.mesh.consul.config_entries import destination_name, exit_manifests, service_names
from components.mesh.policy import DATABASE_HOST
from components.platform import KUBERNETES_API, KUBERNETES_SERVICE_CIDR
from policy.rules.model import Resource, Stack
from policy.rules.offline import evaluate, from_records, stack_of
from tests import schemas, stacks
from tests.components.mesh import mesh_plans as mp

STACKS = stacks.NAMES  # the fixture stacks mesh_plans plans (tests/stacks/), not the examples
SERVERS = {"dev": 1, "staging": 3, "prod": 3}
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"


@pytest.fixture(params=STACKS)
def stack(request):
    return request.param


def plan_of(stack: str, **overrides):
    return mp.plan_for(stack, "consul", **overrides)


def release(plan):
    return mp.releases(plan)["consul"]


def test_servers_ha_outside_dev_on_an_explicit_gp3_storage_class(stack):
    plan = plan_of(stack)
    inputs = release(plan)["inputs"]
    values = inputs["values"]
    assert inputs["version"] == versions.CONSUL_CHART_VERSION and inputs["namespace"] == "consul"
    server = values["server"]
    assert server["replicas"] == server["bootstrapExpect"] == SERVERS[stack]
    assert server["disruptionBudget"]["enabled"] is (stack != "dev")
    # The cluster's one encrypted default class, not a class of the mesh's own.
    assert mp.mesh_of_type(plan, STORAGE_CLASS) == []
    (storage,) = plan.of_type(STORAGE_CLASS)
    assert server["storageClass"] == storage["inputs"]["metadata"]["name"] == platform.STORAGE_CLASS
    assert storage["inputs"]["parameters"]["encrypted"] == "true" and storage["inputs"]["parameters"]["type"] == "gp3"
    assert storage["name"] in plan.requires(release(plan)["name"])
    retention = server["persistentVolumeClaimRetentionPolicy"]
    assert retention == {"whenDeleted": "Retain" if stack == "prod" else "Delete", "whenScaled": "Retain"}


def test_helm_values_use_only_keys_of_the_chart(stack, upstream):
    values = release(plan_of(stack))["inputs"]["values"]
    values_file = upstream / "consul" / versions.CONSUL_CHART_VERSION / "values.yaml"
    assert schemas.unknown_value_keys(values, values_file, ["server.extraConfig"]) == []


def test_acls_tls_gossip_and_the_builtin_ca_leaf_ttl(stack):
    plan = plan_of(stack)
    g = release(plan)["inputs"]["values"]["global"]
    assert g["acls"]["manageSystemACLs"] is True  # ACL default policy deny, tokens managed by the chart
    assert g["tls"]["enabled"] is True and g["tls"]["verify"] is True and g["tls"]["httpsOnly"] is True
    (secret,) = [s for s in mp.mesh_of_type(plan, "kubernetes:core/v1:Secret")]
    assert secret["inputs"]["metadata"]["name"] == g["gossipEncryption"]["secretName"]
    assert secret["inputs"]["stringData"] == "[secret]"
    assert secret["name"] in plan.requires(release(plan)["name"])
    (gossip,) = mp.mesh_of_type(plan, "random:index/randomBytes:RandomBytes")
    assert gossip["inputs"]["length"] == 32 and "rotation" in gossip["inputs"]["keepers"]
    config = json.loads(release(plan)["inputs"]["values"]["server"]["extraConfig"])
    ttl = mp.settings_for(stack).mesh_certificate_ttl_hours
    assert config["connect"]["ca_provider"] == "consul"
    assert config["connect"]["ca_config"]["leaf_cert_ttl"] == f"{ttl}h" and ttl <= 24
    # The servers' TLS CA comes from cert-manager (renews itself; same key, so server certs keep verifying).
    (ca,) = mp.mesh_of_type(plan, mp.CERTIFICATE)
    assert g["tls"]["caCert"]["secretName"] == g["tls"]["caKey"]["secretName"] == ca["inputs"]["spec"]["secretName"]
    assert ca["inputs"]["spec"]["privateKey"]["rotationPolicy"] == "Never"


def test_builtin_ca_source_lets_the_chart_generate_the_server_ca():
    plan = plan_of("dev", meshCaSource="builtin")
    assert mp.mesh_of_type(plan, mp.CERTIFICATE) == []
    assert "caCert" not in release(plan)["inputs"]["values"]["global"]["tls"]


def test_injection_per_namespace_transparent_proxy_cni_native_sidecars(stack):
    plan, model = plan_of(stack), mp.model_for(stack)
    inject = release(plan)["inputs"]["values"]["connectInject"]
    assert inject["enabled"] is True and inject["default"] is True
    assert yaml.safe_load(inject["namespaceSelector"]) == {
        "matchLabels": {"consul.hashicorp.com/connect-inject": "enabled"}
    }
    assert inject["k8sAllowNamespaces"] == sorted(model.namespaces)
    assert inject["transparentProxy"]["defaultEnabled"] is True
    assert inject["cni"]["enabled"] is True
    assert inject["dataplaneAsSidecarInitContainer"]["defaultEnabled"] is True
    assert inject["failurePolicy"] == "Fail"


def test_every_portless_workload_gets_a_registration_service(stack):
    """consul-k8s registers a pod only through a Service that selects it (hashicorp/consul-k8s#1899)."""
    plan, model = plan_of(stack), mp.model_for(stack)
    services = {
        (s["inputs"]["metadata"]["namespace"], s["inputs"]["metadata"]["name"]): s["inputs"]["spec"]
        for s in mp.mesh_of_type(plan, mp.SERVICE)
    }
    names = service_names(model)
    for w in model.workloads.values():
        if not w.meshed or w.ports or w.service_account == "airflow-triggerer":
            continue
        spec = services[(w.namespace, names[w.name])]
        assert spec == {"clusterIP": "None", "selector": dict(w.selector)}
    assert {name for _, name in services} <= set(names.values()), "named after ServiceAccounts only"


def test_intentions_one_per_destination_and_deny_all(stack):
    plan, model = plan_of(stack), mp.model_for(stack)
    intentions = mp.mesh_of_type(plan, mp.INTENTIONS)
    destinations = [r["inputs"]["spec"]["destination"]["name"] for r in intentions]
    assert len(destinations) == len(set(destinations)), "Consul holds one config entry per destination"
    (deny,) = [r for r in intentions if r["inputs"]["spec"]["destination"]["name"] == "*"]
    assert deny["inputs"]["spec"]["sources"] == [{"name": "*", "action": "deny"}]
    inside = {d for d in destinations if d != "*" and not d.startswith("ext-")}
    assert inside == {model.workload(e.destination).service_account for e in model.tcp_edges()}


def test_exits_through_the_terminating_gateway_only(stack):
    plan, model = plan_of(stack), mp.model_for(stack)
    destinations = {
        r["inputs"]["metadata"]["name"]: r["inputs"]["spec"] for r in mp.mesh_of_type(plan, mp.SERVICE_DEFAULTS)
    }
    (gateway,) = mp.mesh_of_type(plan, mp.TERMINATING_GATEWAY)
    assert {s["name"] for s in gateway["inputs"]["spec"]["services"]} == set(destinations)
    intentions = {
        r["inputs"]["spec"]["destination"]["name"]: r["inputs"]["spec"]["sources"]
        for r in mp.mesh_of_type(plan, mp.INTENTIONS)
    }
    names = service_names(model)
    for e in model.egress:
        if e.host in (DATABASE_HOST, KUBERNETES_API, KUBERNETES_SERVICE_CIDR):
            continue  # inside the VPC / Service CIDR: not a Consul destination (docs/mesh.md)
        service = destination_name(e.host, e.port)
        destination = destinations[service]["destination"]
        assert destination["port"] == e.port and destination["addresses"][0] == e.host
        # Besides the endpoint only S3's virtual-hosted bucket names (test_s3_exits.py checks which).
        assert all(a.endswith("." + e.host) for a in destination["addresses"][1:]), destination
        assert {"name": names[e.source], "action": "allow"} in intentions[service]
    (consul_mesh,) = mp.mesh_of_type(plan, mp.CONSUL_MESH)
    assert consul_mesh["inputs"]["spec"]["transparentProxy"] == {"meshDestinationsOnly": True}
    closing = [consul_mesh, *mp.mesh_of_type(plan, mp.PROXY_DEFAULTS)]
    allows = mp.mesh_of_type(plan, mp.INTENTIONS) + mp.mesh_of_type(plan, mp.SERVICE_DEFAULTS) + [gateway]
    for r in closing:
        assert {a["name"] for a in allows} <= plan.requires(r["name"]), r["name"]


def test_exit_rules():
    model = mp.model_for("dev")

    def manifests(host, port, mode="irsa"):
        one = type(model)(
            model.stack, model.workloads, model.edges, (Egress("airflow-worker", host, port, "t"),), (), ()
        )
        return list(exit_manifests(one, "consul", in_cluster=["10.0.0.0/16", "172.20.0.0/16"], identity_mode=mode))

    assert [m.kind for m in manifests("10.0.3.4", 5432)] == ["TerminatingGateway"]  # in the VPC: not nameable
    http = [m for m in manifests("example.com", 80) if m.kind == "ServiceDefaults"]
    assert http[0].spec["protocol"] == "http"
    with pytest.raises(ValueError, match="SNI"):
        manifests("github.com", 22)
    agent = [m for m in manifests("sts.eu-west-1.amazonaws.com", 443, "pod-identity") if m.kind == "ServiceDefaults"]
    assert {"addresses": ["169.254.170.23"], "port": 80} in [m.spec["destination"] for m in agent]


def test_the_policy_pack_passes_consul_plans_and_catches_an_allow_all(stack):
    plan = plan_of(stack)
    resources = from_records(plan.resources)
    assert evaluate(resources, stack_of(plan.stack, resources)) == []
    allow_all = Resource(
        type=mp.INTENTIONS,
        name="bad",
        props={"spec": {"destination": {"name": "airflow-api-server"}, "sources": [{"name": "*", "action": "allow"}]}},
    )
    assert [v.rule for v in evaluate([allow_all], Stack(stack, stack))] == ["mesh-no-allow-all"]


def test_exits_consul_cannot_name_become_pod_annotations_for_their_owners():
    from components import mesh

    settings, model = mp.settings_for("staging"), mp.model_for("staging")
    annotations = mesh.workload_pod_annotations("consul", model, settings.vpc_cidr)
    ports, cidrs = (f"consul.hashicorp.com/transparent-proxy-exclude-outbound-{k}" for k in ("ports", "cidrs"))
    assert annotations["airflow-pgbouncer"] == {ports: "5432"}
    for client in ("airflow-scheduler", "airflow-api-server", "edge-controller"):
        assert annotations[client] == {cidrs: f"{KUBERNETES_API}/32"}
    assert set(annotations) == {
        "otel-collector",  # cert-manager's metrics, in the Service CIDR
        "airflow-pgbouncer",
        "airflow-scheduler",
        "airflow-api-server",
        "airflow-triggerer",
        "edge-controller",
    }
    assert all(mesh.workload_pod_annotations(p, model, settings.vpc_cidr) == {} for p in ("kuma", "istio", "linkerd"))
