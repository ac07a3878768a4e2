"""Mesh telemetry, per provider: every access-log line names both identities and says when the mesh
said no; the collector gets what each provider needs (the provider hook of components/mesh/provider.py)."""

from __future__ import annotations

import re

import pytest

from components import mesh
from components.mesh.istio import observability as istio_telemetry
from components.mesh.kuma import observability as kuma_telemetry
from tests.components.mesh import mesh_plans as mp

ACCESS_LOG = mp.KUMA + "MeshAccessLog"
TELEMETRY = "kubernetes:telemetry.istio.io/v1:Telemetry"


def _attributes(plan) -> dict[str, str]:
    (log,) = mp.mesh_of_type(plan, ACCESS_LOG)
    spec = log["inputs"]["spec"]
    assert spec["targetRef"] == {"kind": "Mesh"} and "to" not in spec and "from" not in spec
    (rule,) = spec["rules"]  # inbound: the destination's proxy knows both certificates
    (backend,) = rule["default"]["backends"]
    return {a["key"]: a["value"] for a in backend["openTelemetry"]["attributes"]}


def test_kuma_access_log_has_both_identities_and_the_denial():
    attributes = _attributes(mp.plan_for("staging"))
    assert set(mesh.ACCESS_LOG_FIELDS) <= set(attributes)
    assert attributes["source_identity"] == "%DOWNSTREAM_PEER_URI_SAN%"
    assert attributes["destination_identity"] == "%DOWNSTREAM_LOCAL_URI_SAN%"
    # HTTP denials are in the response code details, TCP ones in the connection termination details.
    assert "%RESPONSE_CODE_DETAILS%" in attributes["denied_by"]
    assert "%CONNECTION_TERMINATION_DETAILS%" in attributes["denied_by"]
    assert attributes["log_source"] == "mesh" and attributes["mesh_provider"] == "kuma"


def test_kuma_collector_port_for_proxies_is_the_models_plaintext_port():
    collector = mp.model_for("dev").workload("otel-collector")
    assert collector.plaintext_ports == (4317,) and 4317 not in collector.ports
    hooks = mesh.telemetry_hooks("kuma", collector.plaintext_ports)
    assert hooks.collector_pod_annotations == {"traffic.kuma.io/exclude-inbound-ports": "4317"}
    assert hooks.log_paths == ()
    assert kuma_telemetry.telemetry_hooks(()).collector_pod_annotations == {}


def test_istio_waypoints_use_the_collector_and_ztunnel_lines_are_read_from_the_node():
    plan = mp.plan_for("prod", "istio")
    (telemetry,) = mp.mesh_of_type(plan, TELEMETRY)
    assert telemetry["inputs"]["metadata"]["namespace"] == "istio-system"
    releases = {r["inputs"]["chart"]: r for r in mp.mesh_of_type(plan, mp.RELEASE)}
    istiod = releases["istiod"]["inputs"]["values"]
    providers = {p["name"]: p for p in istiod["meshConfig"]["extensionProviders"]}
    spec = telemetry["inputs"]["spec"]
    assert {p["name"] for rule in spec["tracing"] + spec["accessLogging"] for p in rule["providers"]} == set(providers)
    assert releases["istiod"]["name"] in plan.requires(telemetry["name"])
    hooks = mesh.telemetry_hooks("istio", (4317,))
    assert hooks.log_paths == ("/var/log/pods/istio-system_ztunnel-*/istio-proxy/*.log",)
    assert hooks.collector_pod_annotations == {}


#: ztunnel access lines as it writes them (format of ztunnel's ``access`` log target).
ALLOWED = (
    "2026-11-30T10:00:00.000000Z\tinfo\taccess\tconnection complete\tsrc.addr=10.0.1.7:43012 "
    'src.workload=finance-load-x src.namespace=domain-finance src.identity="spiffe://cluster.local/ns/domain-finance/sa/'
    'finance-tasks" dst.addr=10.0.2.9:15008 dst.hbone_addr=10.0.2.9:8080 dst.service=airflow-api-server.airflow.svc.'
    'cluster.local dst.workload=airflow-api-server-0 dst.namespace=airflow dst.identity="spiffe://cluster.local/ns/'
    'airflow/sa/airflow-api-server" direction="inbound" bytes_sent=2 bytes_recv=3 duration="2ms"'
)
DENIED = (
    "2026-11-30T10:00:01.000000Z\terror\taccess\tconnection complete\tsrc.addr=10.0.1.8:40000 "
    'src.identity="spiffe://cluster.local/ns/domain-marketing/sa/marketing-tasks" dst.addr=10.0.3.3:15008 '
    'dst.identity="spiffe://cluster.local/ns/airflow/sa/airflow-pgbouncer" direction="inbound" '
    'error="connection closed due to policy rejection: allow policies exist, but none allowed"'
)


def _apply(line: str) -> dict[str, str]:
    """The hook's regex operators, applied as stanza would (Go RE2 and Python agree on these)."""
    attributes: dict[str, str] = {}
    for op in istio_telemetry.telemetry_hooks("istio-system").log_operators:
        guard = re.search(r'matches "(.*)"', op["if"])
        if op["type"] == "regex_parser" and guard and re.search(guard.group(1).replace("\\\\", "\\"), line):
            attributes.update(re.search(op["regex"], line).groupdict())
        elif op["type"] == "add" and "source_identity" in attributes:
            attributes[op["field"].removeprefix("attributes.")] = op["value"]
    return attributes


@pytest.mark.parametrize("line", [ALLOWED, DENIED], ids=["allowed", "denied"])
def test_ztunnel_lines_become_access_trail_fields(line):
    attributes = _apply(line)
    assert attributes["log_source"] == "mesh" and attributes["mesh_provider"] == "istio"
    assert attributes["source_identity"].startswith("spiffe://cluster.local/ns/domain-")
    assert attributes["destination_identity"].startswith("spiffe://cluster.local/ns/airflow/sa/")
    assert ("denied_by" in attributes) is (line is DENIED)
    if line is DENIED:
        assert "policy rejection" in attributes["denied_by"]


@pytest.mark.parametrize("provider", mp.PROVIDERS)
def test_telemetry_objects_validate_against_upstream_crds(provider, upstream):
    """Kuma's against its CRDs; Istio's Telemetry against the CRD its base chart installs."""
    from components import versions
    from tests import schemas

    folders = (
        upstream / "kuma" / versions.KUMA_CHART_VERSION / "crds",
        upstream / "charts" / f"istio-{versions.ISTIO_VERSION}" / "base" / "files",
    )
    kinds = (ACCESS_LOG, mp.KUMA + "MeshMetric", mp.KUMA + "MeshTrace", mp.KUMA + "MeshOpenTelemetryBackend", TELEMETRY)
    records = [r for r in mp.mesh_resources(mp.plan_for("dev", provider)) if r["type"] in kinds]
    assert len(records) == {"kuma": 4, "istio": 1}.get(provider, 0)  # Linkerd, Consul: docs/observability.md
    for r in records:
        assert schemas.custom_resource_errors(mp.as_object(r), *folders) == [], r["name"]
