"""Every port a Service of the Airflow chart (1.19.0) serves, and whether the access model allows it.

The chart's components call each other through its Services; a mesh with default deny drops every
call the access model does not list, silently (the symptom of issue 14, journey 6: deferred tasks'
logs never load because nothing allowed api-server -> triggerer:8794). So each (Service template,
``ports.<key>``) pair of the chart is here, with either the model edges that carry it or the written
reason it is not allowed. ``tests/journeys/test_chart_flows.py`` reads the chart's templates from the
upstream data and fails on a Service port that is missing here, and on an entry whose edges the model
of a stack lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Executor = Literal["KubernetesExecutor", "CeleryExecutor"]


@dataclass(frozen=True)
class ChartFlow:
    """One port of one chart Service template.

    ``edges`` are (source, destination) workload names the model must hold on ``port`` under the
    executors in ``executors``; ``excluded`` says why nobody is allowed to call it (then ``edges`` is empty).
    """

    template: str
    port_key: str
    port: int
    executors: tuple[Executor, ...]
    edges: tuple[tuple[str, str], ...] = ()
    excluded: str = ""


_BOTH: tuple[Executor, ...] = ("KubernetesExecutor", "CeleryExecutor")
_API = "airflow-api-server"
_EXECUTION_API_CLIENTS = ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker")
_DB_CLIENTS = ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")

FLOWS: tuple[ChartFlow, ...] = (
    ChartFlow(
        "api-server/api-server-service.yaml",
        "apiServer",
        8080,
        _BOTH,
        edges=(("edge-oauth2-proxy", _API), *((c, _API) for c in _EXECUTION_API_CLIENTS)),
    ),
    ChartFlow(
        "pgbouncer/pgbouncer-service.yaml",
        "pgbouncer",
        6543,
        _BOTH,
        edges=(*((c, "airflow-pgbouncer") for c in _DB_CLIENTS), ("airflow-migrate-database-job", "airflow-pgbouncer")),
    ),
    ChartFlow(
        "pgbouncer/pgbouncer-service.yaml",
        "pgbouncerScrape",
        9127,
        _BOTH,
        excluded="Prometheus exporter of PgBouncer: no workload of the platform scrapes Prometheus "
        "endpoints (metrics go through OpenTelemetry), so the mesh denies it.",
    ),
    ChartFlow(
        "statsd/statsd-service.yaml",
        "statsdIngest",
        9125,
        _BOTH,
        edges=tuple((c, "airflow-statsd") for c in _DB_CLIENTS),
    ),
    ChartFlow(
        "statsd/statsd-service.yaml",
        "statsdScrape",
        9102,
        _BOTH,
        excluded="statsd-exporter's Prometheus endpoint: nothing in the platform scrapes it.",
    ),
    ChartFlow(
        "triggerer/triggerer-service.yaml",
        "triggererLogs",
        8794,
        _BOTH,
        edges=((_API, "airflow-triggerer"),),
    ),
    ChartFlow(
        "workers/worker-service.yaml",
        "workerLogs",
        8793,
        ("CeleryExecutor",),
        edges=((_API, "airflow-worker"),),
    ),
    ChartFlow(
        "workers/worker-service.yaml",
        "workerLogs",
        8793,
        ("KubernetesExecutor",),
        excluded="the chart renders no worker Service without Celery; a running task pod's log is read "
        "through the Kubernetes API (KubernetesExecutor.get_task_log), the api-server's Kubernetes API exit.",
    ),
    ChartFlow(
        "redis/redis-service.yaml",
        "redisDB",
        6379,
        ("CeleryExecutor",),
        edges=(("airflow-scheduler", "airflow-redis"), ("airflow-worker", "airflow-redis")),
    ),
    ChartFlow(
        "redis/redis-service.yaml",
        "redisDB",
        6379,
        ("KubernetesExecutor",),
        excluded="Redis is the Celery broker; the chart values disable it without Celery.",
    ),
    ChartFlow(
        "scheduler/scheduler-service.yaml",
        "workerLogs",
        8793,
        _BOTH,
        excluded="rendered for LocalExecutor only, which the settings do not offer.",
    ),
)

#: Service templates with no ``ports.<key>`` of their own, and why no flow reaches them.
UNUSED_SERVICES: dict[str, str] = {
    "flower/flower-service.yaml": "Flower is not enabled (flower.enabled stays false): no Celery UI to reach.",
    "webserver/webserver-service.yaml": "rendered for Airflow < 3.0 only; Airflow 3 serves the UI from the api-server.",
}


def flows_for(executor: str) -> tuple[ChartFlow, ...]:
    """The entries that apply under ``executor``."""
    return tuple(f for f in FLOWS if executor in f.executors)
