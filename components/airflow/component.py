"""Airflow: the official chart as a Helm release, with its secrets and its data domains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from components import sizing, versions
from components.airflow import config, inputs, secrets, values
from components.airflow.domains import AirflowDomains, AirflowDomainsArgs
from components.airflow.secrets import AirflowSecrets, AirflowSecretsArgs, DatabaseEndpoint
from components.platform import AIRFLOW_NAMESPACE, AIRFLOW_RELEASE
from components.timeouts import ApiCall

if TYPE_CHECKING:
    from components.access_model import AccessModel
    from components.settings import Settings

#: Helm waits this long for the migration Job and every Deployment before rolling back (atomic).
RELEASE_TIMEOUT_SECONDS = 1200


@dataclass(frozen=True)
class AirflowArgs:
    """Inputs of :class:`Airflow`."""

    #: What the chart values are built from (settings and access model, as plain data).
    chart: inputs.ChartInputs
    #: The metadata database (PgBouncer's upstream).
    database: DatabaseEndpoint
    #: OIDC client secret (``secure:``), for the api-server's own OIDC login.
    oidc_client_secret: pulumi.Input[str]
    #: SSH key of the DAG repository (``secure:``); None for https repositories or baked DAGs.
    git_ssh_key: pulumi.Input[str] | None
    #: Generated keys rotate after this many days.
    rotation_days: int
    #: Namespaces by name (``airflow`` and the domains').
    namespaces: Mapping[str, k8s.core.v1.Namespace]
    #: The identity layer's ServiceAccounts (each annotated with its IAM role), by workload.
    service_accounts: Mapping[str, k8s.core.v1.ServiceAccount]
    #: What Airflow's pods need before they start: the mesh permissions (``Mesh.ready``), and
    #: anything else that must exist first (e.g. the database).
    depends_on: Sequence[pulumi.Resource] = ()
    #: The API-call journey: PgBouncer's ``query_wait_timeout`` ends inside its budget (components/timeouts.py).
    api_call: ApiCall = field(default_factory=ApiCall)


class Airflow(pulumi.ComponentResource):
    """Apache Airflow 3 from the official chart (``helm.v3.Release``, atomic), configured for the platform:

    - metadata DB on RDS through PgBouncer, every credential and key in a Kubernetes Secret the chart
      references by name (:class:`AirflowSecrets`), rotated on a schedule;
    - every component runs as the identity layer's ServiceAccount (its own IAM role);
    - FAB auth manager with OIDC login, IdP groups mapped to roles, no default user;
    - remote task logs in S3 and connections/variables in Secrets Manager, both through IRSA;
    - KubernetesExecutor task pods of a data domain run in its namespace as its ServiceAccount
      (:class:`AirflowDomains`).

    Outputs: ``release_name``, ``namespace``, ``secret_names``, ``execution_api_url``.
    """

    def __init__(self, name: str, args: AirflowArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:airflow:Airflow", name, None, opts)
        namespace = args.namespaces[AIRFLOW_NAMESPACE]
        domain_namespaces = {d.namespace: args.namespaces[d.namespace] for d in args.chart.domains}

        keys = AirflowSecrets(
            f"{name}-secrets",
            AirflowSecretsArgs(
                namespace=namespace,
                rotation_days=args.rotation_days,
                database=args.database,
                oidc_client_secret=args.oidc_client_secret,
                git_ssh_key=args.git_ssh_key,
                domain_namespaces=domain_namespaces if args.chart.dags_git_repository else {},
                executor=args.chart.executor,
                pgbouncer_query_wait_seconds=args.api_call.pgbouncer_query_wait_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        domains = AirflowDomains(
            f"{name}-domains",
            AirflowDomainsArgs(
                chart=args.chart,
                namespaces=args.namespaces,
                scheduler_account=args.chart.service_accounts["airflow-scheduler"],
                api_server_account=args.chart.service_accounts["airflow-api-server"],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        # A component's depends_on does not hold back its children: the release lists everything.
        waits = [
            namespace,
            *domain_namespaces.values(),
            *(
                args.service_accounts[w]
                for w in sorted(set(inputs.CHART_SERVICE_ACCOUNTS.values()))
                if w in args.service_accounts
            ),
            *keys.resources,
            *domains.resources,
            *args.depends_on,
        ]
        release = k8s.helm.v3.Release(
            f"{name}-release",
            name=AIRFLOW_RELEASE,
            chart=versions.AIRFLOW_CHART,
            version=versions.AIRFLOW_CHART_VERSION,
            repository_opts={"repo": versions.AIRFLOW_CHART_REPO},
            namespace=AIRFLOW_NAMESPACE,
            create_namespace=False,
            atomic=True,
            cleanup_on_fail=True,
            timeout=RELEASE_TIMEOUT_SECONDS,
            wait_for_jobs=True,
            max_history=10,
            values=values.chart_values(args.chart, keys.rotation_stamp, keys.pgbouncer_config_checksum),
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits),
        )

        self.release_name = release.name
        self.namespace = AIRFLOW_NAMESPACE
        self.secret_names = dict(keys.names)
        self.execution_api_url = config.execution_api_url()
        self.register_outputs({"release_name": self.release_name})


def secret_names(git_ssh: bool, celery: bool = False) -> inputs.SecretNames:
    """The Secret names :class:`AirflowSecrets` creates, for :class:`inputs.ChartInputs`."""
    return inputs.SecretNames(
        metadata=secrets.METADATA,
        fernet=secrets.FERNET_KEY,
        jwt=secrets.JWT,
        api=secrets.API_SECRET_KEY,
        pgbouncer_config=secrets.PGBOUNCER_CONFIG,
        pgbouncer_stats=secrets.PGBOUNCER_STATS,
        oidc=secrets.OIDC,
        oidc_key=secrets.OIDC_CLIENT_SECRET_KEY,
        rds_ca_configmap=secrets.RDS_CA,
        git_ssh=secrets.GIT_SSH if git_ssh else None,
        redis_password=secrets.REDIS_PASSWORD if celery else None,
        broker_url=secrets.BROKER_URL,
    )


def chart_inputs(
    settings: Settings,
    model: AccessModel,
    pod_annotations: Mapping[str, Mapping[str, str]] | None = None,
    api_server_service_annotations: Mapping[str, str] | None = None,
) -> inputs.ChartInputs:
    """The chart's inputs from the validated settings and the access model (no resources involved);
    ``pod_annotations``: the mesh's per-workload pod annotations (``mesh.workload_pod_annotations``);
    ``api_server_service_annotations``: the mesh's annotations making the api-server's port HTTP to it."""
    domains = tuple(
        inputs.DomainSpec(
            name=d.name,
            namespace=model.workload(f"domain-{d.name}").namespace,
            service_account=model.workload(f"domain-{d.name}").service_account,
            airflow_role=d.airflow_role,
            secrets_prefix=d.secrets_prefix,
        )
        for d in settings.domains
    )
    return inputs.ChartInputs(
        region=settings.region,
        hostname=settings.airflow_hostname,
        executor=settings.airflow_executor,
        image=settings.airflow_image,
        api_server_replicas=settings.airflow_api_server_replicas,
        scheduler_replicas=settings.airflow_scheduler_replicas,
        high_availability=settings.is_prod,
        size_tier=sizing.tier(settings.environment),
        logs_bucket=settings.logs_bucket_name,
        secrets_prefix=settings.secrets_prefix,
        oidc_issuer_url=settings.oidc_issuer_url,
        oidc_client_id=settings.oidc_client_id,
        oidc_groups_claim=settings.oidc_groups_claim,
        oidc_end_session_endpoint=settings.oidc_end_session_endpoint,
        role_mappings=tuple(settings.role_mappings),
        domains=domains,
        service_accounts={w.name: w.service_account for w in model.workloads.values() if w.kind == "airflow"},
        secrets=secret_names(
            git_ssh=bool(settings.dags_git_ssh_key.get_secret_value()),
            celery=settings.airflow_executor == "CeleryExecutor",
        ),
        dags_git_repository=settings.dags_git_repository,
        dags_git_branch=settings.dags_git_branch,
        dags_git_known_hosts=settings.dags_git_known_hosts,
        machine_issuer_url=model.machine_issuer,
        machine_audiences=model.machine_audiences,
        machine_mappings=model.machine_mappings,
        pod_annotations=dict(pod_annotations or {}),
        api_server_service_annotations=dict(api_server_service_annotations or {}),
    )
