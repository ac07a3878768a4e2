"""``airflow.cfg`` and the environment every Airflow container (and every task pod) shares.

Pure functions of :class:`~components.airflow.inputs.ChartInputs`: the chart values use them for
its components, the pod templates for task pods (as ``AIRFLOW__*`` variables).
"""

from __future__ import annotations

import json

from components.airflow.inputs import API_SERVER_SERVICE, AWS_CONN_ID, DAGS_MOUNT, ChartInputs
from components.platform import AIRFLOW_NAMESPACE, API_SERVER_PORT, LOG_PREFIX


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
        "fab": {"enable_proxy_fix": "True"},
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
