"""What observability costs (plan/observability_cost.py): the dashboard, alarms per metric, one custom
metric per log metric filter, the collector's EMF metrics counted from its recorded configuration, Logs
ingestion and steady-state storage, X-Ray traces; nothing for a stack without them; unknown, not
guessed, when a price or a dimension's values are missing."""

from __future__ import annotations

import copy

import pytest

from components.observability.collector import METRIC_DECLARATIONS, CollectorInputs, collector_config
from plan import cost, observability_cost
from tests import stacks
from tests.plan.test_cost import TABLE, US_EAST_1, line, provider, record

A = TABLE["assumptions"]
MONTH_DAYS = 365 / 12


def watched(estimate: cost.Estimate) -> dict[str, cost.Line]:
    return {x.resource: x for x in estimate.lines if x.category == "observability"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_observability_resource_of_dev_and_prod_is_priced(plans, stack):
    settings = stacks.settings_for(stack)
    lines = watched(cost.estimate(stack, plans[stack].resources))
    assert lines["observability-dashboard"].monthly == US_EAST_1["cloudwatch_dashboard_month"] == 3.00
    # Alarms bill per metric they read: the 5xx-rate alarm divides two filter metrics.
    alarm = US_EAST_1["cloudwatch_alarm_metric_month"]
    assert lines["observability-scheduler-heartbeat"].monthly == alarm == 0.10
    assert lines["observability-edge-5xx-rate"].monthly == pytest.approx(2 * alarm)
    assert "2 metrics (standard resolution)" in lines["observability-edge-5xx-rate"].what
    assert lines["observability-certificate-expiry-edge-airflow-tls"].monthly == alarm
    metric = US_EAST_1["cloudwatch_custom_metric_month"]
    filters = [x for x in lines.values() if "log metric filter" in x.what]
    assert len(filters) == 6 and {x.monthly for x in filters} == {metric}
    # awsemf: declared names x the values of their dimensions: one Airflow service, the data domains
    # plus "platform", the plan's three Certificates (edge, mesh root CA, mesh CA).
    names = [len(n) for _, n in METRIC_DECLARATIONS]
    emf = names[0] * 1 + names[1] * (len(settings.domains) + 1) + names[2] * 3
    assert emf == {"dev": 12, "prod": 14}[stack]
    found = lines["observability-collector:awsemf"]
    assert found.what.startswith(f"{emf} custom metrics") and found.monthly == pytest.approx(emf * metric)
    # Logs: assumed GB a month, stored for the retention (prod's 731 days counted as the 24-month horizon).
    gb = A["log_gb_per_month"][stack]
    months = min(settings.access_trail_retention_days / MONTH_DAYS, A["log_storage_horizon_months"])
    trail = gb["access_trail"] * (
        US_EAST_1["cloudwatch_logs_ingested_gb"] + months * US_EAST_1["cloudwatch_logs_stored_gb_month"]
    )
    assert lines["observability-access-trail"].monthly == pytest.approx(trail, abs=0.01)
    assert f"{gb['access_trail']:g} GB/month ingested (assumed)" in lines["observability-access-trail"].what
    emf_group = gb["emf_metrics"] * (0.50 + 7 / MONTH_DAYS * 0.03)
    assert lines["observability-metrics"].monthly == pytest.approx(emf_group, abs=0.01)
    traces = A["xray_traces_millions_per_month"][stack]
    assert lines["observability-collector:awsxray"].monthly == pytest.approx(traces * 5.00)
    # 14, plus the EKS control-plane and flow-log groups (tests/plan/test_service_logs_cost.py)
    assert len(lines) == 16, sorted(lines)


def test_prod_keeps_its_trail_two_years_which_is_most_of_what_it_watches_for(plans):
    estimate = cost.estimate("prod", plans["prod"].resources)
    lines = watched(estimate)
    trail = lines["observability-access-trail"]
    assert trail.monthly == pytest.approx(100 * 0.50 + 100 * 24 * 0.03)
    # The total is the steady state (2,400 GB held); the first month, still filling, holds 50 GB-months.
    assert "counted as 24 months" in trail.what and "the total counts steady-state storage, $72.00/month" in trail.what
    assert "the first month stores 50.0 GB-months, $1.50 ($51.50 that month in all)" in trail.what
    text = cost.render(estimate)
    assert "| observability |" in text and "not subtracted" in text
    assert "100 GB a month into log group `/airflow-mesh/prod/access-trail` (prod)" in text
    assert "5 million X-Ray traces a month (prod)" in text


def test_a_stack_without_observability_resources_gets_no_observability_lines():
    resources = [
        provider(),
        record("aws:kms/key:Key", "key"),
        record("aws:cloudwatch/logGroup:LogGroup", "flow-logs", retentionInDays=14),
    ]
    estimate = cost.estimate("dev", resources)
    assert not watched(estimate)
    assert not [x for x in estimate.assumptions if "X-Ray" in x or "log group" in x or "free tiers" in x]


def collector(domains=("sales",), **changes) -> dict:
    inputs = CollectorInputs(
        stack="dev",
        region="us-east-1",
        access_trail_log_group="/t/trail",
        metrics_log_group="/t/metrics",
        metrics_namespace="T/dev",
        domains=domains,
    )
    config = collector_config(inputs)
    config["exporters"]["awsemf"].update(changes)
    return record(
        "kubernetes:helm.sh/v3:Release", "otel", chart="opentelemetry-collector", values={"alternateConfig": config}
    )


def log_group(resource: str, name: str, days: int | None) -> dict:
    group = record("aws:cloudwatch/logGroup:LogGroup", resource, retentionInDays=days)
    group["inputs"]["name"] = name  # record() takes the resource's name positionally
    return group


def small_stack(release: dict, environment: str = "dev") -> list[dict]:
    def cert(ns: str, name: str) -> dict:
        return record(
            "kubernetes:cert-manager.io/v1:Certificate", f"c-{name}", metadata={"namespace": ns, "name": name}
        )

    airflow = {"config": {"metrics": {"otel_service": "airflow-dev"}}}
    return [
        provider(environment=environment),
        release,
        record("kubernetes:helm.sh/v3:Release", "airflow", chart="airflow", values=airflow),
        cert("edge", "tls"),
        cert("mesh", "ca"),
        log_group("trail", "/t/trail", None),  # kept forever
        log_group("metrics", "/t/metrics", 3653),
    ]


def test_emf_metrics_are_counted_from_the_recorded_configuration_and_retention_is_capped():
    estimate = cost.estimate("dev", small_stack(collector(domains=("sales", "hr"))))
    lines = watched(estimate)
    # one service (otel_service from the Airflow release) x 3 names, x (2 domains + platform) x 2, 2 certs
    assert lines["otel:awsemf"].what.startswith("11 custom metrics") and lines["otel:awsemf"].monthly == 3.30
    horizon = A["log_storage_horizon_months"]
    gb = A["log_gb_per_month"]["dev"]
    for name, role, kept in (("trail", "access_trail", "kept forever"), ("metrics", "emf_metrics", "3653-day")):
        assert kept in lines[name].what and f"counted as {horizon} months" in lines[name].what
        assert lines[name].monthly == pytest.approx(gb[role] * (0.50 + horizon * 0.03), abs=0.01)


def test_what_cannot_be_counted_is_unknown_not_guessed():
    pattern = collector()
    pattern["inputs"]["values"]["alternateConfig"]["exporters"]["awsemf"]["metric_declarations"][0][
        "metric_name_selectors"
    ] = ["^airflow\\..*$"]
    for release, why in (
        (collector(dimension_rollup_option="ZeroAndSingleDimensionRollup"), "dimension_rollup_option"),
        (pattern, "a pattern, not one name"),
    ):
        estimate = cost.estimate("dev", small_stack(release))
        assert line(estimate, "otel:awsemf").monthly is None and why in line(estimate, "otel:awsemf").what
        assert "Incomplete" in cost.render(estimate)
    metric_filter = record(
        "aws:cloudwatch/logMetricFilter:LogMetricFilter",
        "by-pod",
        metricTransformation={"name": "Errors", "value": "1", "dimensions": {"pod": "$.pod"}},
    )
    fast = record("aws:cloudwatch/metricAlarm:MetricAlarm", "fast", metricName="x", period=10)
    estimate = cost.estimate("dev", [provider(), metric_filter, fast])
    assert line(estimate, "by-pod").monthly is None
    assert line(estimate, "fast").monthly == US_EAST_1["cloudwatch_alarm_metric_month_high_resolution"] == 0.30


def test_missing_prices_say_unknown():
    table = copy.deepcopy(TABLE)
    del table["regions"]["us-east-1"]["cloudwatch_dashboard_month"]
    del table["regions"]["us-east-1"]["xray_traces_recorded_million"]
    resources = [*small_stack(collector()), record("aws:cloudwatch/dashboard:Dashboard", "board")]
    estimate = cost.estimate("dev", resources, table)
    for name, key in (("board", "cloudwatch_dashboard_month"), ("otel:awsxray", "xray_traces_recorded_million")):
        assert line(estimate, name).monthly is None and f"no price for {key}" in line(estimate, name).what
    assert line(estimate, "otel:awsemf").monthly is not None
    del table["assumptions"]["xray_traces_millions_per_month"]
    del table["assumptions"]["log_storage_horizon_months"]
    estimate = cost.estimate("dev", resources, table)
    assert (
        line(estimate, "otel:awsxray").monthly is None
        and "xray_traces_millions_per_month" in line(estimate, "otel:awsxray").what
    )
    assert line(estimate, "trail").monthly is None and "log_storage_horizon_months" in line(estimate, "trail").what
    elsewhere = cost.estimate("dev", [provider(region="eu-west-3"), *resources[1:]])
    assert watched(elsewhere) and all(x.monthly is None for x in watched(elsewhere).values())
    assert "| unknown |" in cost.render(elsewhere)


def test_an_environment_without_its_own_assumption_gets_the_largest():
    estimate = cost.estimate("qa", small_stack(collector(), environment="qa"))
    prod = A["xray_traces_millions_per_month"]["prod"]
    assert line(estimate, "otel:awsxray").monthly == pytest.approx(prod * 5.00)
    assert line(estimate, "trail").what.startswith(
        f"CloudWatch Logs: {A['log_gb_per_month']['prod']['access_trail']} GB"
    )


def test_airflow_services_default_to_airflows_own_default():
    resources = small_stack(collector())
    resources[2]["inputs"]["values"] = {}
    values = observability_cost.dimension_values(resources, resources[1]["inputs"]["values"]["alternateConfig"])
    assert values[("service.name",)] == [(observability_cost.AIRFLOW_OTEL_SERVICE,)] == [("Airflow",)]
    assert values[("domain",)] == [("platform",), ("sales",)]
    assert values[("namespace", "name")] == [("edge", "tls"), ("mesh", "ca")]
