"""The observability layer in every stack's plan: the access trail and its retention, the collector's
place in the build order, Airflow's OTel settings, the access model's new flows, dashboard and alarms."""

from __future__ import annotations

import json

import pytest

from components import platform
from components.airflow.pods import pod_template
from components.mesh import ACCESS_LOG_FIELDS
from components.mesh.kuma.observability import ACCESS_LOG_ATTRIBUTES
from components.observability import dashboard
from components.observability.collector import METRIC_DECLARATIONS
from plan import access_matrix, harness
from tests.components.mesh import mesh_plans as mp

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
RETENTION = {"dev": 30, "staging": 90, "prod": 731}


def _trail(plan, stack):
    (trail,) = [g for g in plan.of_type(LOG_GROUP) if g["name"] == f"airflow-mesh-{stack}-observability-access-trail"]
    return trail


def test_access_trail_per_stack_with_its_retention(plans):
    for stack, plan in plans.items():
        trail = _trail(plan, stack)
        assert trail["inputs"]["name"] == f"/airflow-mesh/{stack}/access-trail"
        assert trail["inputs"]["retentionInDays"] == RETENTION[stack]
        prod = {"protect": True, "retainOnDelete": True} if stack == "prod" else {}
        assert {k: v for k, v in trail["options"].items() if k in ("protect", "retainOnDelete")} == prod


def test_prod_refuses_a_short_access_trail():
    from components.settings import SettingsError

    with pytest.raises(SettingsError, match=r"accessTrailRetentionDays: 90: .* or < 365 in prod"):
        harness.settings_for("prod", {"accessTrailRetentionDays": 90})
    with pytest.raises(SettingsError, match="accessTrailRetentionDays: 100: not a CloudWatch retention"):
        harness.settings_for("dev", {"accessTrailRetentionDays": 100})
    with pytest.raises(SettingsError, match=r"otelEndpoint: 'otel\.example\.com:4317' must be host:443"):
        harness.settings_for("dev", {"otelEndpoint": "otel.example.com:4317"})


def test_collector_waits_for_the_mesh_its_role_and_the_log_groups(plans):
    for stack, plan in plans.items():
        (release,) = [r for r in plan.of_type(mp.RELEASE) if r["inputs"]["chart"] == "opentelemetry-collector"]
        needs = plan.requires(release["name"])
        assert {f"airflow-mesh-{stack}-observability-{g}" for g in ("access-trail", "metrics")} <= needs
        assert f"airflow-mesh-{stack}-identity-otel-collector-role" in needs
        assert any(n.endswith("-mesh") for n in needs)
        assert release["inputs"]["namespace"] == platform.OBSERVABILITY_NAMESPACE


def test_airflow_exports_otel_everywhere_and_statsd_is_gone(plans):
    for stack, plan in plans.items():
        (release,) = [r for r in plan.of_type(mp.RELEASE) if r["inputs"]["chart"] == "airflow"]
        values = release["inputs"]["values"]
        values = json.loads(values) if isinstance(values, str) else values
        assert values["statsd"] == {"enabled": False}
        config = values["config"]
        for section in ("metrics", "traces"):
            assert config[section]["otel_on"] == "True"
            assert config[section]["otel_host"] == platform.COLLECTOR_HOST
            assert config[section]["otel_port"] == str(platform.OTLP_HTTP_PORT)
            assert config[section]["otel_ssl_active"] == "False"  # the mesh carries it in mTLS
        assert config["metrics"]["statsd_on"] == "False"
        model = mp.model_for(stack)
        assert "airflow-statsd" not in model.workloads
        assert [e for e in model.edges if e.protocol == "udp"] == []


def test_task_pods_export_otel_too():
    from components.airflow.component import chart_inputs

    settings = mp.settings_for("staging")
    inputs = chart_inputs(settings, mp.model_for("staging"))
    for domain in (None, *inputs.domains):
        env = {e["name"]: e.get("value") for e in pod_template(inputs, domain)["spec"]["containers"][0]["env"]}
        assert env["AIRFLOW__METRICS__OTEL_ON"] == "True" and env["AIRFLOW__TRACES__OTEL_ON"] == "True"
        assert env["AIRFLOW__METRICS__STATSD_ON"] == "False"


def test_every_otel_client_reaches_the_collector_through_the_mesh():
    for stack in harness.stack_names():
        model = mp.model_for(stack)
        clients = {e.source for e in model.tcp_edges() if e.destination == "otel-collector"}
        airflow = {w.name for w in model.workloads.values() if w.kind in ("airflow", "domain")} - {"airflow-pgbouncer"}
        assert clients == airflow - {"airflow-redis"}
        assert {e.port for e in model.tcp_edges() if e.destination == "otel-collector"} == {platform.OTLP_HTTP_PORT}
        hosts = {x.host for x in model.egress if x.source == "otel-collector"}
        region = mp.settings_for(stack).region
        assert {f"logs.{region}.amazonaws.com", f"xray.{region}.amazonaws.com", f"sts.{region}.amazonaws.com"} <= hosts


def test_access_matrix_shows_the_collector_and_no_udp():
    settings = mp.settings_for("staging")
    matrix = access_matrix.build(mp.model_for("staging"), settings)
    rows = {r["workload"]: r for r in matrix["workloads"]}
    collector = rows["otel-collector"]
    assert {s["from"] for s in collector["meshSources"]} >= {"airflow-scheduler", "domain-finance"}
    assert collector["iamRole"] and collector["permissions"]
    assert all(d["protocol"] == "tcp" for r in rows.values() for d in r["meshDestinations"])
    text = access_matrix.to_markdown(matrix)
    assert "statsd" not in text and "(udp)" not in text
    assert "`otel-collector:4318`" in text
    assert collector["plaintextPorts"] == [platform.OTLP_GRPC_PORT]
    assert "takes traffic outside mTLS on: 4317" in text


def test_mesh_access_logs_carry_the_fields_the_queries_and_filters_use():
    assert set(ACCESS_LOG_FIELDS) <= set(ACCESS_LOG_ATTRIBUTES)
    fields = set(ACCESS_LOG_FIELDS) | {"status"}
    for pattern, _ in dashboard.METRIC_FILTERS.values():
        for name in {f.split(".")[1].split(" ")[0] for f in pattern.split("$.")[1:]}:
            assert name in fields | {"log_source", "request_time"}, name


def test_dashboard_and_alarms_read_metrics_that_exist(plans):
    declared = {name for _, names in METRIC_DECLARATIONS for name in names} | set(dashboard.METRIC_FILTERS)
    for stack, plan in plans.items():
        (board,) = plan.of_type("aws:cloudwatch/dashboard:Dashboard")
        body = json.loads(board["inputs"]["dashboardBody"])
        titles = [w["properties"]["title"] for w in body["widgets"]]
        for needed in ("Edge", "api-server", "Scheduler: heartbeats", "queued", "per domain", "Mesh: denied"):
            assert any(needed in t for t in titles), needed
        for widget in body["widgets"]:
            for line in widget["properties"].get("metrics", []):
                if isinstance(line[0], str):
                    assert line[0] == f"AirflowMesh/{stack}" and line[1] in declared, line
        alarms = plan.of_type(ALARM)
        assert {a["name"].split("-observability-")[1] for a in alarms} == {
            "scheduler-heartbeat",
            "edge-5xx-rate",
            "certificate-expiry-edge-airflow-tls",
        }
        (topic,) = plan.of_type("aws:sns/topic:Topic")
        for alarm in alarms:
            assert alarm["inputs"]["alarmActions"] and alarm["inputs"]["okActions"]
            assert topic["name"] in plan.requires(alarm["name"])
        filters = plan.of_type(FILTER)
        assert {f["inputs"]["metricTransformation"]["name"] for f in filters} == set(dashboard.METRIC_FILTERS)
        assert {f["inputs"]["logGroupName"] for f in filters} == {f"/airflow-mesh/{stack}/access-trail"}


def test_an_existing_alarm_topic_is_used_instead_of_a_new_one():
    arn = "arn:aws:sns:eu-west-1:111122223333:platform-alarms"
    plan = mp.plan_for("dev", alarmTopicArn=arn)
    assert plan.of_type("aws:sns/topic:Topic") == []
    for alarm in plan.of_type(ALARM):
        assert alarm["inputs"]["alarmActions"] == [arn]
