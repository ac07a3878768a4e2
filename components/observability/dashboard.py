"""The stack's golden signals: metric filters on the access trail, the CloudWatch dashboard, the alarms.

Pure data built from :class:`Signals`, so tests (and ``docs/observability.md``'s picture, rendered by
``plan/dashboard_picture.py``) read the same definitions ``pulumi up`` creates.

Where each signal comes from:

| signal | source |
|---|---|
| edge requests, 5xx, latency | NGINX access log lines in the trail (metric filters) |
| api-server requests, 5xx | the mesh's access log at the api-server's inbound (metric filters; HTTP-aware meshes) |
| scheduler heartbeat, queued/running tasks | Airflow OTel metrics (``airflow.scheduler_heartbeat``...), EMF |
| task success/failure per domain | ``airflow.ti_successes``/``ti_failures``, ``domain`` set by the collector |
| mesh denials | access-trail records with ``denied_by`` (metric filter) |
| certificate expiry | cert-manager's expiry, as seconds left (collector transform) via EMF |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.observability.collector import CERT_SECONDS_LEFT_METRIC

AIRFLOW_SERVICE = {"service.name": "Airflow"}  # [metrics] otel_service's default
PERIOD = 60
#: Alarm thresholds.
EDGE_5XX_PERCENT = 5.0
CERT_DAYS_LEFT = 14

#: name -> (JSON filter pattern on the trail's records, value): every filter counts or measures lines.
METRIC_FILTERS: dict[str, tuple[str, str]] = {
    "EdgeRequests": ('{ $.attributes.log_source = "edge-gateway" }', "1"),
    "Edge5xx": ('{ $.attributes.log_source = "edge-gateway" && $.attributes.status >= 500 }', "1"),
    "EdgeLatency": ('{ $.attributes.log_source = "edge-gateway" }', "$.attributes.request_time"),
    "ApiServerRequests": (
        '{ $.attributes.log_source = "mesh" && $.attributes.destination_identity = "*/sa/airflow-api-server" }',
        "1",
    ),
    "ApiServer5xx": (
        '{ $.attributes.log_source = "mesh" && $.attributes.destination_identity = "*/sa/airflow-api-server" '
        '&& $.attributes.status = "5*" }',
        "1",
    ),
    "MeshDenials": (
        '{ $.attributes.log_source = "mesh" && ($.attributes.denied_by = "*rbac_access_denied*" '
        '|| $.attributes.denied_by = "*policy rejection*") }',
        "1",
    ),
}


@dataclass(frozen=True)
class Signals:
    """What the dashboard and alarms need to name their metrics."""

    stack: str
    region: str
    namespace: str
    access_trail_log_group: str
    #: Data domains; task success/failure is shown per domain (plus ``platform``).
    domains: tuple[str, ...]
    #: (namespace, Certificate name) of the certificates the expiry alarm watches (the edge's).
    certificates: tuple[tuple[str, str], ...]


def _metric(signals: Signals, name: str, dims: dict[str, str] | None = None, **options: Any) -> list[Any]:
    line: list[Any] = [signals.namespace, name]
    for k, v in (dims or {}).items():
        line += [k, v]
    return [*line, options] if options else line


def _widget(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Sum", **props: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 8,
        "height": 6,
        "properties": {
            "title": title,
            "metrics": metrics,
            "stat": stat,
            "period": PERIOD,
            "view": "timeSeries",
            **props,
        },
    }


def dashboard_body(signals: Signals) -> dict[str, Any]:
    """The CloudWatch dashboard (``DashboardBody``), one row per part of the platform."""
    s, m = signals, _metric
    rate = [{"expression": "IF(er > 0, 100 * e5 / er, 0)", "label": "5xx %", "id": "rate"}]
    domains = [*s.domains, "platform"]
    widgets = [
        _widget("Edge: requests", [m(s, "EdgeRequests")], 0, 0, region=s.region),
        _widget(
            "Edge: 5xx rate (%)",
            [
                *[[r] for r in rate],
                m(s, "Edge5xx", id="e5", visible=False),
                m(s, "EdgeRequests", id="er", visible=False),
            ],
            8,
            0,
            region=s.region,
        ),
        _widget(
            "Edge: latency (s)",
            [m(s, "EdgeLatency", stat="p50"), m(s, "EdgeLatency", stat="p99")],
            16,
            0,
            "p99",
            region=s.region,
        ),
        _widget("api-server: requests", [m(s, "ApiServerRequests")], 0, 6, region=s.region),
        _widget("api-server: 5xx", [m(s, "ApiServer5xx")], 8, 6, region=s.region),
        _widget("Mesh: denied connections", [m(s, "MeshDenials")], 16, 6, region=s.region),
        _widget(
            "Scheduler: heartbeats", [m(s, "airflow.scheduler_heartbeat", AIRFLOW_SERVICE)], 0, 12, region=s.region
        ),
        _widget(
            "Scheduler: queued / running tasks",
            [
                m(s, "airflow.executor.queued_tasks", AIRFLOW_SERVICE),
                m(s, "airflow.executor.running_tasks", AIRFLOW_SERVICE),
            ],
            8,
            12,
            "Maximum",
            region=s.region,
        ),
        _widget(
            "Certificates: days left",
            [
                [
                    {
                        "expression": f"{_cert_search(s)} / 86400",
                        "id": "days",
                        "label": "days left, per certificate",
                    }
                ]
            ],
            16,
            12,
            "Minimum",
            region=s.region,
        ),
        _widget(
            "Tasks: succeeded per domain",
            [m(s, "airflow.ti_successes", {**AIRFLOW_SERVICE, "domain": d}) for d in domains],
            0,
            18,
            region=s.region,
        ),
        _widget(
            "Tasks: failed per domain",
            [m(s, "airflow.ti_failures", {**AIRFLOW_SERVICE, "domain": d}) for d in domains],
            8,
            18,
            region=s.region,
        ),
        {
            "type": "log",
            "x": 16,
            "y": 18,
            "width": 8,
            "height": 6,
            "properties": {
                "title": "Mesh: latest denials",
                "region": s.region,
                "query": f"SOURCE '{s.access_trail_log_group}' | {DENIALS_QUERY}",
                "view": "table",
            },
        },
    ]
    return {"widgets": widgets}


def _cert_search(s: Signals) -> str:
    return f"SEARCH('{{{s.namespace},name,namespace}} {CERT_SECONDS_LEFT_METRIC}', 'Minimum', 300)"


#: The body of the "what was denied" query (docs/observability.md), shared by the dashboard.
DENIALS_QUERY = (
    "fields @timestamp, attributes.source_identity, attributes.destination_identity, attributes.denied_by "
    "| filter attributes.log_source = 'mesh' and attributes.denied_by like /rbac_access_denied|policy rejection/ "
    "| sort @timestamp desc | limit 50"
)


@dataclass(frozen=True)
class AlarmSpec:
    """One CloudWatch alarm, as the arguments of ``aws.cloudwatch.MetricAlarm`` (snake_case)."""

    name: str
    description: str
    args: dict[str, Any]


def alarms(signals: Signals) -> list[AlarmSpec]:
    s = signals
    out = [
        AlarmSpec(
            "scheduler-heartbeat",
            "No Airflow scheduler heartbeat for 3 of the last 5 minutes: no DAG runs are being scheduled.",
            {
                "namespace": s.namespace,
                "metric_name": "airflow.scheduler_heartbeat",
                "dimensions": dict(AIRFLOW_SERVICE),
                "statistic": "Sum",
                "period": PERIOD,
                "evaluation_periods": 5,
                "datapoints_to_alarm": 3,
                "comparison_operator": "LessThanThreshold",
                "threshold": 1,
                # No data at all is the worst case of a lost heartbeat (or of a lost collector).
                "treat_missing_data": "breaching",
            },
        ),
        AlarmSpec(
            "edge-5xx-rate",
            f"More than {EDGE_5XX_PERCENT:g}% of edge responses were 5xx for 3 of the last 5 minutes.",
            {
                "metric_queries": [
                    {
                        "id": "e5",
                        "metric": {"namespace": s.namespace, "metric_name": "Edge5xx", "period": PERIOD, "stat": "Sum"},
                    },
                    {
                        "id": "er",
                        "metric": {
                            "namespace": s.namespace,
                            "metric_name": "EdgeRequests",
                            "period": PERIOD,
                            "stat": "Sum",
                        },
                    },
                    {
                        "id": "rate",
                        "expression": "IF(er > 0, 100 * e5 / er, 0)",
                        "label": "edge 5xx %",
                        "return_data": True,
                    },
                ],
                "evaluation_periods": 5,
                "datapoints_to_alarm": 3,
                "comparison_operator": "GreaterThanThreshold",
                "threshold": EDGE_5XX_PERCENT,
                "treat_missing_data": "notBreaching",
            },
        ),
    ]
    for namespace, name in s.certificates:
        out.append(
            AlarmSpec(
                f"certificate-expiry-{namespace}-{name}",
                f"Certificate {namespace}/{name} expires in less than {CERT_DAYS_LEFT} days: "
                "cert-manager has not renewed it (it renews 30 days ahead).",
                {
                    "namespace": s.namespace,
                    "metric_name": CERT_SECONDS_LEFT_METRIC,
                    "dimensions": {"namespace": namespace, "name": name},
                    "statistic": "Minimum",
                    "period": 300,
                    "evaluation_periods": 3,
                    "comparison_operator": "LessThanThreshold",
                    "threshold": CERT_DAYS_LEFT * 86400,
                    # cert-manager or the collector gone quiet must not hide an expiring certificate.
                    "treat_missing_data": "breaching",
                },
            )
        )
    return out
