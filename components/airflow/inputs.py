"""What the Airflow chart's values are built from: typed inputs and the names the chart and the platform agree on.

Plain data (no Pulumi): :class:`ChartInputs` is filled from the settings and the access model by
:func:`components.airflow.component.chart_inputs`, and every values function reads only it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from components.platform import AIRFLOW_RELEASE

#: Services the chart names after the release (``useStandardNaming: false``).
API_SERVER_SERVICE = f"{AIRFLOW_RELEASE}-api-server"
PGBOUNCER_SERVICE = f"{AIRFLOW_RELEASE}-pgbouncer"
#: PgBouncer's name for the metadata database (the chart's convention).
PGBOUNCER_DB = f"{AIRFLOW_RELEASE}-metadata"
PGBOUNCER_RESULT_BACKEND_DB = f"{AIRFLOW_RELEASE}-result-backend"
#: Where PgBouncer finds the RDS trust bundle.
PGBOUNCER_CA_DIR = "/etc/pgbouncer/rds-ca"
#: Credential-less AWS connection: boto3 finds the IRSA (or Pod Identity) credentials of the pod.
AWS_CONN_ID = "aws_irsa"
#: Where the scheduler finds the domains' pod templates. Not the chart's ``/opt/airflow/pod_templates``
#: nor a parent of it: the chart mounts its own template as a subPath file there (chart 1.19.0
#: ``templates/scheduler/scheduler-deployment.yaml``), and a file mount inside a ConfigMap directory
#: mount never starts (the runtime cannot create the mount point on the read-only volume,
#: kubernetes/kubernetes#61545).
POD_TEMPLATES_DIR = "/opt/airflow/domain-pod-templates"
POD_TEMPLATES_CONFIGMAP = "airflow-mesh-pod-templates"
#: The api-server's Airflow plugin (runtime/execution_scope.py), one file mounted into its plugins folder.
PLUGINS_CONFIGMAP = "airflow-mesh-plugins"
PLUGIN_FILE = "airflow_mesh_execution_scope.py"
#: The api-server's auth manager (runtime/auth_manager.py): a second key of the same ConfigMap, mounted
#: into ``CONFIG_DIR`` (on ``sys.path``, and not scanned as a plugin) and named by ``[core] auth_manager``.
AUTH_MANAGER_FILE = "airflow_mesh_auth_manager.py"
AUTH_MANAGER_CLASS = "airflow_mesh_auth_manager.AirflowMeshFabAuthManager"
#: Name of the OIDC provider in FAB (callback: /auth/oauth-authorized/<name>).
OIDC_PROVIDER = "oidc"
OIDC_SCOPES = "openid email profile"
OIDC_SECRET_ENV = "AIRFLOW_MESH_OIDC_CLIENT_SECRET"
AIRFLOW_HOME = "/opt/airflow"
DAGS_MOUNT = f"{AIRFLOW_HOME}/dags"
#: The chart's ``[core] plugins_folder`` (its default, ``AIRFLOW_HOME/plugins``).
PLUGINS_DIR = f"{AIRFLOW_HOME}/plugins"
#: Airflow appends ``AIRFLOW_HOME/config`` to ``sys.path`` (settings.py ``prepare_syspath_for_config_and_plugins``).
CONFIG_DIR = f"{AIRFLOW_HOME}/config"

#: Chart section -> access-model workload whose ServiceAccount (created by the identity layer) it runs as.
CHART_SERVICE_ACCOUNTS: dict[str, str] = {
    "apiServer": "airflow-api-server",
    "scheduler": "airflow-scheduler",
    "dagProcessor": "airflow-dag-processor",
    "triggerer": "airflow-triggerer",
    "workers": "airflow-worker",
    "pgbouncer": "airflow-pgbouncer",
    "migrateDatabaseJob": "airflow-migrate-database-job",
    "redis": "airflow-redis",
}

Executor = Literal["KubernetesExecutor", "CeleryExecutor"]


@dataclass(frozen=True)
class DomainSpec:
    """Where a data domain's task pods run."""

    name: str
    namespace: str
    service_account: str
    airflow_role: str
    #: Prefix of its connection ids and variable keys (``<prefix>/...``) in Secrets Manager.
    secrets_prefix: str


@dataclass(frozen=True)
class SecretNames:
    """Names of the Kubernetes Secrets the chart reads (see ``components/airflow/secrets.py``)."""

    metadata: str
    fernet: str
    jwt: str
    api: str
    pgbouncer_config: str
    pgbouncer_stats: str
    oidc: str
    oidc_key: str
    rds_ca_configmap: str
    #: The broker URL Secret. The program creates it only with Celery, but the chart is told its name
    #: under every executor: without ``data.brokerUrlSecretName`` chart 1.19.0 renders its own
    #: pre-install Secret ``airflow-broker-url`` "defensively" (``templates/secrets/redis-secrets.yaml``),
    #: which with Redis off holds Go's ``%!s(<nil>)`` and would be used as is by a later switch to
    #: Celery. With the KubernetesExecutor no pod reads it (the chart's ``AIRFLOW__CELERY__BROKER_URL``
    #: env exists only for Celery executors, ``templates/_helpers.yaml``).
    broker_url: str
    git_ssh: str | None = None
    #: Celery only: the broker's password.
    redis_password: str | None = None


@dataclass(frozen=True)
class ChartInputs:
    """Everything the values depend on, as plain typed data."""

    region: str
    #: Public host name (behind the edge); Airflow builds its own links and OAuth callbacks from it.
    hostname: str
    executor: Executor
    #: ``repository:tag`` with DAGs baked in; empty: the chart's default image.
    image: str
    api_server_replicas: int
    scheduler_replicas: int
    #: Prod: every other component gets 2 replicas too, and every multi-replica one a PDB.
    high_availability: bool
    logs_bucket: str
    #: ``airflow/<stack>``: connections and variables live below it.
    secrets_prefix: str
    oidc_issuer_url: str
    oidc_client_id: str
    oidc_groups_claim: str
    #: (IdP group, Airflow role), built-in and domain roles alike.
    role_mappings: tuple[tuple[str, str], ...]
    domains: tuple[DomainSpec, ...]
    #: ServiceAccount names by access-model workload.
    service_accounts: Mapping[str, str]
    secrets: SecretNames
    dags_git_repository: str = ""
    #: Sizing tier of the components' requests (components/sizing.py): ``small`` in dev.
    size_tier: str = "standard"
    dags_git_branch: str = "main"
    dags_git_known_hosts: str = ""
    #: The IdP's logout URL; empty: Airflow reads ``end_session_endpoint`` from the issuer's discovery.
    oidc_end_session_endpoint: str = ""
    #: Machine clients: issuer of their access tokens ("" without any), accepted audiences, and
    #: (``client:<id>`` or ``scope:<name>``, Airflow role) pairs.
    machine_issuer_url: str = ""
    machine_audiences: tuple[str, ...] = ()
    machine_mappings: tuple[tuple[str, str], ...] = ()
    #: Access-model workload -> pod annotations the mesh needs on its pods (``mesh.workload_pod_annotations``:
    #: Consul's outbound exclusions for RDS and the Kubernetes API), applied per chart component, to
    #: the migration Job and to the task pod templates.
    pod_annotations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: Annotations of the api-server Service from the mesh (make its port HTTP to the mesh).
    api_server_service_annotations: Mapping[str, str] = field(default_factory=dict)
