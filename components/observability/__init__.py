"""Observability layer: OpenTelemetry everywhere, one access trail per stack, golden signals and alarms.

Owns the collector's configuration and Helm values (:mod:`.collector`), the dashboard, metric filters
and alarms (:mod:`.dashboard`) and the component that creates them (:mod:`.component`). Takes the
settings' names (log groups, metrics namespace, retention, alarm topic), the access model's collector
workload (its ServiceAccount and IAM role come from the identity layer) and the mesh provider's
telemetry hooks; gives the stack its access-trail log group, dashboard and alarm topic. Airflow's own
OTel settings live with Airflow (components/airflow/config.py), the mesh's with each provider
(components/mesh/<provider>/observability.py), the edge's log formats with the edge.
"""

from components.observability.collector import CollectorInputs, collector_config, helm_values
from components.observability.component import Observability, ObservabilityArgs
from components.observability.dashboard import Signals, alarms, dashboard_body

__all__ = [
    "CollectorInputs",
    "Observability",
    "ObservabilityArgs",
    "Signals",
    "alarms",
    "collector_config",
    "dashboard_body",
    "helm_values",
]
