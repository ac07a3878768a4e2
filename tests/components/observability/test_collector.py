"""The collector as the cluster would run it: the real chart rendered with the recorded values, the
values against the chart's closed schema, the configuration against the collector's own rules and the
contrib distribution, the rendered objects against Kubernetes' schemas."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from components import platform, versions
from components.observability.collector import CONTRIB_COMPONENTS, POD_LOGS
from plan import harness
from tests import schemas
from tests.components.mesh import mesh_plans as mp
from tests.components.observability import collector_rules, render

CASES = [(stack, provider) for stack in harness.stack_names() for provider in mp.PROVIDERS]


@pytest.fixture(params=CASES, ids=[f"{s}-{p}" for s, p in CASES])
def rendered(request, upstream):
    stack, provider = request.param
    user = render.values(stack, provider)
    return stack, provider, user, render.render(upstream, user)


def test_values_validate_against_the_chart_schema_merged_over_its_defaults(rendered, upstream):
    _, _, user, _ = rendered
    schema_file = upstream / render.SCHEMA_DIR / "values.schema.json"
    assert schemas.values_schema_errors(render.merged(upstream, user), schema_file) == []
    # The schema is closed: a misspelt key would be caught (the check can fail).
    typo = {**user, "serviceAcount": {"create": False}}
    assert schemas.values_schema_errors(render.merged(upstream, typo), schema_file)


def test_configuration_follows_the_collectors_rules(rendered):
    _, _, user, objects = rendered
    config = render.relay_config(objects)
    assert config == user["alternateConfig"]  # what the chart mounts is exactly what the program wrote
    assert collector_rules.problems(config, CONTRIB_COMPONENTS) == []


def test_the_rules_catch_broken_configurations(upstream):
    config = render.values("dev")["alternateConfig"]
    broken = copy.deepcopy(config)
    broken["service"]["pipelines"]["traces"]["exporters"] = ["awsxray", "otlp/nowhere"]
    broken["receivers"]["zipkin"] = {"endpoint": "0.0.0.0:9411"}
    broken["exporters"]["otlp/extra"] = {"endpoint": "otlp.example.com"}  # no port
    broken["service"]["pipelines"]["logs"]["exporters"].append("otlp/extra")
    found = "\n".join(collector_rules.problems(broken, CONTRIB_COMPONENTS))
    assert "otlp/nowhere is not defined" in found
    assert "receivers.zipkin: type 'zipkin' is not in the distribution" in found
    assert "receivers.zipkin: defined but used by no pipeline" in found
    assert "is not host:port" in found


def test_every_signal_is_exported_to_aws_and_optionally_to_the_stacks_endpoint():
    config = render.values("staging")["alternateConfig"]
    pipelines = config["service"]["pipelines"]
    assert pipelines["metrics"]["exporters"] == ["awsemf"]
    assert pipelines["logs"]["exporters"] == ["awscloudwatchlogs/trail"]
    assert pipelines["traces"]["exporters"] == ["awsxray"]
    settings = mp.settings_for("staging")
    assert config["exporters"]["awscloudwatchlogs/trail"]["log_group_name"] == settings.access_trail_log_group
    assert config["exporters"]["awsemf"]["log_group_name"] == settings.metrics_log_group
    assert config["exporters"]["awsemf"]["namespace"] == settings.metrics_namespace
    extra = mp.plan_for("staging", otelEndpoint="otlp.example.com:443")
    config = schemas.releases(extra)[versions.OTEL_COLLECTOR_CHART]["inputs"]["values"]["alternateConfig"]
    assert config["exporters"]["otlp/extra"] == {"endpoint": "otlp.example.com:443", "tls": {"insecure": False}}
    for pipeline in config["service"]["pipelines"].values():
        assert pipeline["exporters"][-1] == "otlp/extra"


def test_rendered_objects_are_valid_and_the_daemonset_is_pinned_read_only_and_meshed(rendered):
    _, provider, _, objects = rendered
    for obj in objects:
        assert schemas.kubernetes_errors(obj) == [], (obj["kind"], obj["metadata"]["name"])
    (ds,) = [o for o in objects if o["kind"] == "DaemonSet"]
    pod = ds["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    image = f"{versions.OTEL_COLLECTOR_IMAGE}:{versions.OTEL_COLLECTOR_VERSION}"
    assert container["image"] == image and container["command"][0] == "/otelcol-contrib"
    assert pod["spec"]["serviceAccountName"] == platform.COLLECTOR_NAME
    assert all("hostPort" not in p or p["hostPort"] == 0 for p in container["ports"])
    assert sorted(p["containerPort"] for p in container["ports"]) == [platform.OTLP_GRPC_PORT, platform.OTLP_HTTP_PORT]
    (logs,) = [m for m in container["volumeMounts"] if m["mountPath"] == POD_LOGS]
    assert logs["readOnly"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    labels = pod["metadata"]["labels"]
    assert platform.COLLECTOR_SELECTOR.items() <= labels.items()  # the mesh permissions select these pods
    annotations = pod["metadata"].get("annotations", {})
    if provider == "kuma":
        assert annotations["traffic.kuma.io/exclude-inbound-ports"] == str(platform.OTLP_GRPC_PORT)
    else:
        assert "traffic.kuma.io/exclude-inbound-ports" not in annotations
    (service,) = [o for o in objects if o["kind"] == "Service"]
    assert service["metadata"]["name"] == platform.COLLECTOR_NAME
    assert {p["port"] for p in service["spec"]["ports"]} == {platform.OTLP_GRPC_PORT, platform.OTLP_HTTP_PORT}


def test_node_logs_read_are_the_edge_the_task_pods_and_the_meshs_own():
    for provider in mp.PROVIDERS:
        include = render.values("staging", provider)["alternateConfig"]["receivers"]["file_log"]["include"]
        assert f"{POD_LOGS}/edge_*/nginx/*.log" in include
        assert f"{POD_LOGS}/edge_*/oauth2-proxy/*.log" in include
        for namespace in mp.model_for("staging").domain_namespaces:
            assert f"{POD_LOGS}/{namespace}_*/base/*.log" in include
        ztunnel = f"{POD_LOGS}/istio-system_ztunnel-*/istio-proxy/*.log"
        assert (ztunnel in include) is (provider == "istio")
        assert all(path.startswith(POD_LOGS + "/") for path in include)


def test_domain_is_derived_from_the_dag_id_prefix():
    config = render.values("staging")["alternateConfig"]
    statements = config["processors"]["transform/metrics"]["metric_statements"][0]["statements"]
    for domain in ("marketing", "finance"):
        condition = f'IsMatch(datapoint.attributes["dag_id"], "^{domain}_")'
        assert f'set(datapoint.attributes["domain"], "{domain}") where {condition}' in statements


def test_awsemf_declarations_are_valid_regular_expressions():
    import re

    declarations = render.values("dev")["alternateConfig"]["exporters"]["awsemf"]["metric_declarations"]
    for d in declarations:
        for selector in d["metric_name_selectors"]:
            re.compile(selector)
    selectors = [s for d in declarations for s in d["metric_name_selectors"]]
    assert re.fullmatch(selectors[0], "airflow.scheduler_heartbeat")
    assert not re.fullmatch(selectors[0], "airflowXscheduler_heartbeat")


def test_chart_schema_is_jsonschema_draft_the_validator_understands(upstream):
    import json

    schema = json.loads((upstream / render.SCHEMA_DIR / "values.schema.json").read_text())
    jsonschema.validators.validator_for(schema).check_schema(schema)
