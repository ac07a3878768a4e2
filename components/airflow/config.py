"""``airflow.cfg`` and the environment every Airflow container (and every task pod) shares.

Pure functions of :class:`~components.airflow.inputs.ChartInputs`: the chart values use them for
its components, the pod templates for task pods (as ``AIRFLOW__*`` variables).
"""

from __future__ import annotations

import json

from components.airflow.inputs import API_SERVER_SERVICE, AWS_CONN_ID, DAGS_MOUNT, ChartInputs
from components.platform import (
    AIRFLOW_NAMESPACE,
    API_SERVER_PORT,
    COLLECTOR_HOST,
    EDGE_SESSION_SECONDS,
    LOG_PREFIX,
    OTLP_HTTP_PORT,
)


def execution_api_url() -> str:
    """The in-cluster api-server Service: task pods never go through the authenticated edge."""
    return f"http://{API_SERVER_SERVICE}.{AIRFLOW_NAMESPACE}.svc.cluster.local:{API_SERVER_PORT}/execution/"


def common_env(inputs: ChartInputs) -> list[dict[str, str]]:
    """Environment of every Airflow container (and of task pods, through the pod templates)."""
    return [
        {"name": "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "value": execution_api_url()},
        {"name": f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}", "value": aws_connection(inputs.region)},
        {"name": "AWS_DEFAULT_REGION", "value": inputs.region},
    ]


def aws_connection(region: str) -> str:
    """An AWS connection with no credentials at all: boto3 uses the pod's web identity."""
    return json.dumps({"conn_type": "aws", "extra": {"region_name": region}}, sort_keys=True)


def airflow_config(inputs: ChartInputs) -> dict[str, dict[str, str]]:
    """``airflow.cfg`` sections (merged by Helm over the chart's defaults)."""
    remote_logs = f"s3://{inputs.logs_bucket}/{LOG_PREFIX}"
    config: dict[str, dict[str, str]] = {
        "core": {
            "load_examples": "False",
            "execution_api_server_url": execution_api_url(),
        },
        "api": {"base_url": f"https://{inputs.hostname}"},
        # The UI's _token JWT (default 24 h) and FAB's session never outlive the person's edge session;
        # the api-server also refuses them for another person (runtime/auth_manager.py EdgeSession).
        "api_auth": {"jwt_expiration_time": str(EDGE_SESSION_SECONDS)},
        "fab": {
            "enable_proxy_fix": "True",
            "cookie_secure": "True",
            "session_lifetime_minutes": str(EDGE_SESSION_SECONDS // 60),
        },
        "logging": {
            "remote_logging": "True",
            "remote_base_log_folder": remote_logs,
            "remote_log_conn_id": AWS_CONN_ID,
            "delete_local_logs": "True",
        },
        "secrets": {
            "backend": "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend",
            "backend_kwargs": secrets_backend_kwargs(inputs),
        },
        **telemetry_config(),
    }
    if inputs.executor == "KubernetesExecutor":
        namespaces = ",".join([AIRFLOW_NAMESPACE, *(d.namespace for d in inputs.domains)])
        executor = {
            # Namespaced watches on exactly these namespaces: no cluster-wide permission needed.
            "multi_namespace_mode": "True",
            "multi_namespace_mode_namespace_list": namespaces,
            "delete_worker_pods": "True",
        }
        # Only [kubernetes_executor]: 3.x reads no [kubernetes] fallback (configuration.py
        # deprecated_sections is empty; cncf-kubernetes kube_config.py reads kubernetes_executor).
        config["kubernetes_executor"] = executor
    return config


def telemetry_config() -> dict[str, dict[str, str]]:
    """``[metrics]`` and ``[traces]``: OpenTelemetry to the stack's collector, statsd off.

    Airflow 3.1.7 exports both over OTLP/HTTP to ``http(s)://<otel_host>:<otel_port>/v1/metrics`` and
    ``/v1/traces`` (airflow/metrics/otel_logger.py, airflow/traces/otel_tracer.py; the exporter is a
    core dependency of apache-airflow-core 3.1.7). TLS is the mesh's job (mTLS between the pod's proxy
    and the collector's), so ``otel_ssl_active`` stays off. With statsd off no UDP leaves any Airflow pod.
    """
    otel = {
        "otel_on": "True",
        "otel_host": COLLECTOR_HOST,
        "otel_port": str(OTLP_HTTP_PORT),
        "otel_ssl_active": "False",
    }
    return {
        "metrics": {
            "statsd_on": "False",
            **otel,
            "otel_prefix": "airflow",
            # CloudWatch stores 1-minute points; a 30 s push keeps a lost heartbeat visible within a minute.
            "otel_interval_milliseconds": "30000",
        },
        "traces": dict(otel),
    }


def secrets_backend_kwargs(inputs: ChartInputs) -> str:
    prefix = inputs.secrets_prefix
    return json.dumps(
        {
            "connections_prefix": f"{prefix}/connections",
            "variables_prefix": f"{prefix}/variables",
            "region_name": inputs.region,
        },
        sort_keys=True,
    )


def dags_folder(inputs: ChartInputs) -> str:
    """Where DAG files are inside every Airflow container (the chart's convention for git-sync)."""
    return f"{DAGS_MOUNT}/repo" if inputs.dags_git_repository else DAGS_MOUNT
