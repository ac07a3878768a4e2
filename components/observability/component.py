"""Observability: the OpenTelemetry Collector in the mesh, the access trail, the dashboard and the alarms.

    log groups (access trail, EMF metrics) -> collector (Helm, DaemonSet, own IAM role)
    metric filters on the trail, dashboard, alarms -> SNS topic (from settings, or the stack's own)

The collector's IAM role and ServiceAccount come from the identity layer (the access model's
``otel-collector`` workload and its grants); this component waits for the mesh, so the collector's
pods start with their proxy and the permissions that let Airflow reach them. The configuration is
:mod:`components.observability.collector`; the golden signals :mod:`components.observability.dashboard`;
the queries and the picture of the dashboard ``docs/observability.md``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components.observability.collector import CollectorInputs, helm_values
from components.observability.dashboard import METRIC_FILTERS, Signals, alarms, dashboard_body
from components.platform import COLLECTOR_NAME

#: Retention of the EMF carrier log group: CloudWatch keeps the metrics themselves for 15 months.
METRICS_LOG_RETENTION_DAYS = 7


@dataclass(frozen=True)
class ObservabilityArgs:
    """Inputs of :class:`Observability`."""

    #: Collector configuration (log groups, namespace, mesh hooks...), plain data.
    collector: CollectorInputs
    #: Golden signals: what the dashboard and alarms name.
    signals: Signals
    #: Access-trail retention in days (a CloudWatch value; longer in prod).
    retention_days: int
    #: Names the dashboard (``<cluster>-golden-signals``) and a created topic (``<cluster>-alarms``).
    cluster_name: str
    #: SNS topic the alarms notify; empty: the ``<cluster>-alarms`` topic is created here.
    alarm_topic_arn: str
    #: The (meshed) namespace of the collector.
    namespace: k8s.core.v1.Namespace
    #: The collector's ServiceAccount (with its IAM role), from the identity layer.
    service_account: k8s.core.v1.ServiceAccount
    #: The mesh (Mesh.ready): the collector starts once the mesh can carry it.
    mesh: Sequence[pulumi.Resource] = ()
    #: Prod: the access trail is protected (``pulumi destroy`` refuses) and kept.
    protect: bool = False
    #: Prod and retiring stacks: the access trail is audit data, kept when the stack is destroyed.
    retain: bool = False
    timeout_seconds: int = 600


class Observability(pulumi.ComponentResource):
    """Log groups, the collector release, metric filters, dashboard, alarms and their topic.

    Outputs: ``access_trail_log_group``, ``dashboard_name``, ``alarm_topic_arn``.
    """

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:observability:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        inputs = args.collector

        trail = aws.cloudwatch.LogGroup(
            f"{name}-access-trail",
            name=inputs.access_trail_log_group,
            retention_in_days=args.retention_days,
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, retain_on_delete=args.protect or args.retain
            ),
        )
        metrics = aws.cloudwatch.LogGroup(
            f"{name}-metrics",
            name=inputs.metrics_log_group,
            retention_in_days=METRICS_LOG_RETENTION_DAYS,
            opts=child,
        )
        release = k8s.helm.v3.Release(
            f"{name}-collector",
            name=COLLECTOR_NAME,
            chart=versions.OTEL_COLLECTOR_CHART,
            version=versions.OTEL_COLLECTOR_CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=versions.OTEL_COLLECTOR_CHART_REPO),
            namespace=args.namespace.metadata.name,
            values=helm_values(inputs, args.service_account.metadata.name),
            atomic=True,
            cleanup_on_fail=True,
            timeout=args.timeout_seconds,
            # The groups first: the exporters are not allowed to create them (grants.py).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[trail, metrics, args.service_account, *args.mesh]),
        )

        for metric, (pattern, value) in METRIC_FILTERS.items():
            aws.cloudwatch.LogMetricFilter(
                f"{name}-{metric}",
                log_group_name=trail.name,
                pattern=pattern,
                metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                    name=metric,
                    namespace=args.signals.namespace,
                    value=value,
                    # Counters report 0 when nothing matched, so rates and "no traffic" stay visible.
                    default_value=None if value.startswith("$") else "0",
                    unit="Seconds" if value.startswith("$") else "Count",
                ),
                opts=child,
            )

        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"{args.cluster_name}-golden-signals",
            dashboard_body=json.dumps(dashboard_body(args.signals), sort_keys=True),
            opts=child,
        )
        if args.alarm_topic_arn:
            topic_arn: pulumi.Input[str] = args.alarm_topic_arn
        else:
            topic_arn = aws.sns.Topic(f"{name}-alarms", name=f"{args.cluster_name}-alarms", opts=child).arn
        for spec in alarms(args.signals):
            aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.name}",
                alarm_description=spec.description,
                alarm_actions=[topic_arn],
                ok_actions=[topic_arn],
                **_alarm_args(spec.args),
                opts=child,
            )

        self.release = release
        self.access_trail_log_group = trail.name
        self.dashboard_name = dashboard.dashboard_name
        self.alarm_topic_arn = topic_arn
        self.register_outputs(
            {"access_trail_log_group": self.access_trail_log_group, "dashboard_name": self.dashboard_name}
        )


def _alarm_args(args: dict) -> dict:
    """Turn the plain metric-query dicts into the provider's argument classes."""
    out = dict(args)
    if "metric_queries" in out:
        out["metric_queries"] = [
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=q["id"],
                expression=q.get("expression"),
                label=q.get("label"),
                return_data=q.get("return_data"),
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(**q["metric"]) if "metric" in q else None,
            )
            for q in out["metric_queries"]
        ]
    return out
