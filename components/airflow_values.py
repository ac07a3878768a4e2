"""Helm values of the official Airflow chart, built by small pure functions from typed inputs.

Nothing here creates resources or reads configuration: :func:`chart_values` turns a
:class:`ChartInputs` into the values dict, so tests can call it directly. Secrets never appear here,
only the names of the Kubernetes Secrets that hold them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from components import platform, versions
from components.platform import AIRFLOW_NAMESPACE, AIRFLOW_RELEASE, API_SERVER_PORT, DOMAIN_LABEL, LOG_PREFIX

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
#: Where the scheduler finds the domains' pod templates.
POD_TEMPLATES_DIR = "/opt/airflow/pod_templates"
POD_TEMPLATES_CONFIGMAP = "airflow-mesh-pod-templates"
#: Name of the OIDC provider in FAB (callback: /auth/oauth-authorized/<name>).
OIDC_PROVIDER = "oidc"
OIDC_SCOPES = "openid email profile"
OIDC_SECRET_ENV = "AIRFLOW_MESH_OIDC_CLIENT_SECRET"
AIRFLOW_HOME = "/opt/airflow"
DAGS_MOUNT = f"{AIRFLOW_HOME}/dags"

#: Chart section -> access-model workload whose ServiceAccount (created by the identity layer) it runs as.
CHART_SERVICE_ACCOUNTS: dict[str, str] = {
    "apiServer": "airflow-api-server",
    "scheduler": "airflow-scheduler",
    "dagProcessor": "airflow-dag-processor",
    "triggerer": "airflow-triggerer",
    "workers": "airflow-worker",
    "pgbouncer": "airflow-pgbouncer",
    "statsd": "airflow-statsd",
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


@dataclass(frozen=True)
class SecretNames:
    """Names of the Kubernetes Secrets the chart reads (see ``components/airflow_secrets.py``)."""

    metadata: str
    fernet: str
    jwt: str
    api: str
    pgbouncer_config: str
    pgbouncer_stats: str
    oidc: str
    oidc_key: str
    rds_ca_configmap: str
    git_ssh: str | None = None
    #: Celery only: the broker's password and the broker URL with it.
    redis_password: str | None = None
    broker_url: str | None = None


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
    dags_git_branch: str = "main"
    dags_git_known_hosts: str = ""


# --------------------------------------------------------------------------------------------------
# The values
# --------------------------------------------------------------------------------------------------


def chart_values(inputs: ChartInputs, rotation_stamp: Any = "") -> dict[str, Any]:
    """The release's values. ``rotation_stamp`` (any Input) rolls every pod when a generated key changes."""
    kubernetes = inputs.executor == "KubernetesExecutor"
    values: dict[str, Any] = {
        "executor": inputs.executor,
        # The chart would grant the scheduler a ClusterRole; the domains' Roles are created per namespace.
        "multiNamespaceMode": False,
        "postgresql": {"enabled": False},
        "redis": {"enabled": False}
        if kubernetes
        else {
            "enabled": True,
            "passwordSecretName": inputs.secrets.redis_password,
            "serviceAccount": _service_account(inputs, "redis"),
        },
        "data": {"metadataSecretName": inputs.secrets.metadata}
        if kubernetes
        else {"metadataSecretName": inputs.secrets.metadata, "brokerUrlSecretName": inputs.secrets.broker_url},
        "fernetKeySecretName": inputs.secrets.fernet,
        "jwtSecretName": inputs.secrets.jwt,
        "apiSecretKeySecretName": inputs.secrets.api,
        "airflowPodAnnotations": {"airflow-mesh/secrets-rotation": rotation_stamp},
        "env": common_env(inputs),
        "config": airflow_config(inputs),
        "airflowLocalSettings": local_settings(inputs.domains, inputs.service_accounts),
        "dags": dags(inputs),
        "apiServer": api_server(inputs),
        "scheduler": scheduler(inputs),
        "dagProcessor": _component(inputs, "dagProcessor", _ha(inputs)),
        "triggerer": _component(inputs, "triggerer", _ha(inputs)),
        "workers": {"serviceAccount": _service_account(inputs, "workers")},
        "statsd": {"serviceAccount": _service_account(inputs, "statsd")},
        "pgbouncer": pgbouncer(inputs, rotation_stamp),
        # A regular Job, not a Helm hook: Pulumi's Release waits for it (and hooks would run before
        # the mesh sidecar's permissions exist on first install).
        "migrateDatabaseJob": {"useHelmHooks": False, "serviceAccount": _service_account(inputs, "migrateDatabaseJob")},
        # People log in through OIDC only: no default admin with a known password, ever.
        "createUserJob": {"enabled": False, "useHelmHooks": False, "serviceAccount": {"create": False}},
    }
    if inputs.image:
        repository, tag = inputs.image.rsplit(":", 1)
        values["images"] = {"airflow": {"repository": repository, "tag": tag}}
    if kubernetes:
        values["podTemplate"] = json.dumps(pod_template(inputs, None), indent=2)
    return values


def _ha(inputs: ChartInputs) -> int:
    return 2 if inputs.high_availability else 1


def _service_account(inputs: ChartInputs, section: str) -> dict[str, Any]:
    """Use the identity layer's ServiceAccount (it carries the IAM role annotation); create none."""
    return {"create": False, "name": inputs.service_accounts[CHART_SERVICE_ACCOUNTS[section]]}


def _pdb(replicas: int) -> dict[str, Any]:
    return {"enabled": replicas > 1, "config": {"maxUnavailable": 1}}


def _component(inputs: ChartInputs, section: str, replicas: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "replicas": replicas,
        "serviceAccount": _service_account(inputs, section),
        "podDisruptionBudget": _pdb(replicas),
    }
    if replicas > 1:
        out["topologySpreadConstraints"] = [_zone_spread(section)]
    return out


_COMPONENT_LABEL = {
    "apiServer": "api-server",
    "scheduler": "scheduler",
    "dagProcessor": "dag-processor",
    "triggerer": "triggerer",
    "pgbouncer": "pgbouncer",
}


def _zone_spread(section: str) -> dict[str, Any]:
    return {
        "maxSkew": 1,
        "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"component": _COMPONENT_LABEL[section], "release": AIRFLOW_RELEASE}},
    }


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
            "remote_logging": "True",
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
        config["kubernetes_executor"] = executor
        config["kubernetes"] = dict(executor)  # the deprecated section the chart still renders
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


def api_server(inputs: ChartInputs) -> dict[str, Any]:
    out = _component(inputs, "apiServer", inputs.api_server_replicas)
    out.update(
        {
            # Behind the gateway and oauth2-proxy: honour X-Forwarded-* so OAuth callbacks are https.
            # Only oauth2-proxy may reach this port (mesh permissions), so every peer is trusted.
            "args": ["bash", "-c", "exec airflow api-server --proxy-headers"],
            "env": [
                {"name": "FORWARDED_ALLOW_IPS", "value": "*"},
                {
                    "name": OIDC_SECRET_ENV,
                    "valueFrom": {"secretKeyRef": {"name": inputs.secrets.oidc, "key": inputs.secrets.oidc_key}},
                },
            ],
            "apiServerConfig": webserver_config(inputs),
        }
    )
    return out


def scheduler(inputs: ChartInputs) -> dict[str, Any]:
    out = _component(inputs, "scheduler", inputs.scheduler_replicas)
    if inputs.domains and inputs.executor == "KubernetesExecutor":
        out["extraVolumes"] = [{"name": "domain-pod-templates", "configMap": {"name": POD_TEMPLATES_CONFIGMAP}}]
        out["extraVolumeMounts"] = [{"name": "domain-pod-templates", "mountPath": POD_TEMPLATES_DIR, "readOnly": True}]
    return out


def pgbouncer(inputs: ChartInputs, rotation_stamp: Any) -> dict[str, Any]:
    replicas = _ha(inputs)
    out = _component(inputs, "pgbouncer", replicas)
    out.update(
        {
            "enabled": True,
            # Our own pgbouncer.ini and users.txt: the chart would build them from values (password included).
            "configSecretName": inputs.secrets.pgbouncer_config,
            "metricsExporterSidecar": {"statsSecretName": inputs.secrets.pgbouncer_stats},
            "extraVolumes": [{"name": "rds-ca", "configMap": {"name": inputs.secrets.rds_ca_configmap}}],
            "extraVolumeMounts": [{"name": "rds-ca", "mountPath": PGBOUNCER_CA_DIR, "readOnly": True}],
            "podAnnotations": {"airflow-mesh/secrets-rotation": rotation_stamp},
        }
    )
    return out


def dags(inputs: ChartInputs) -> dict[str, Any]:
    """git-sync from the repository in settings, or nothing (DAGs baked into the image)."""
    if not inputs.dags_git_repository:
        return {"gitSync": {"enabled": False}}
    sync: dict[str, Any] = {
        "enabled": True,
        "repo": inputs.dags_git_repository,
        "branch": inputs.dags_git_branch,
        "ref": inputs.dags_git_branch,
        "rev": "HEAD",
        "depth": 1,
        # DAG files live at the repository root
        "subPath": "",
        "period": "60s",
    }
    if inputs.secrets.git_ssh:
        sync["sshKeySecret"] = inputs.secrets.git_ssh
        if inputs.dags_git_known_hosts:
            sync["knownHosts"] = inputs.dags_git_known_hosts
    return {"gitSync": sync}


def dags_folder(inputs: ChartInputs) -> str:
    """Where DAG files are inside every Airflow container (the chart's convention for git-sync)."""
    return f"{DAGS_MOUNT}/repo" if inputs.dags_git_repository else DAGS_MOUNT


# --------------------------------------------------------------------------------------------------
# PgBouncer
# --------------------------------------------------------------------------------------------------


def pgbouncer_ini(host: str, port: int, db_name: str, user: str, ca_file: str, result_backend: bool) -> str:
    """pgbouncer.ini: transaction pooling; TLS to RDS verified against the RDS trust bundle."""
    databases = [f"{PGBOUNCER_DB} = host={host} dbname={db_name} port={port} pool_size=10"]
    if result_backend:
        databases.append(f"{PGBOUNCER_RESULT_BACKEND_DB} = host={host} dbname={db_name} port={port} pool_size=5")
    settings = {
        "pool_mode": "transaction",
        "listen_port": platform.PGBOUNCER_PORT,
        "listen_addr": "*",
        "auth_type": "scram-sha-256",
        "auth_file": "/etc/pgbouncer/users.txt",
        "stats_users": user,
        "ignore_startup_parameters": "extra_float_digits",
        "max_client_conn": 100,
        "verbose": 0,
        "log_disconnections": 0,
        "log_connections": 0,
        "server_tls_sslmode": "verify-full",
        "server_tls_ca_file": ca_file,
        "server_tls_protocols": "tlsv1.2,tlsv1.3",
    }
    body = "\n".join(f"{k} = {v}" for k, v in settings.items())
    return "[databases]\n" + "\n".join(databases) + "\n\n[pgbouncer]\n" + body + "\n"


# --------------------------------------------------------------------------------------------------
# Task pods
# --------------------------------------------------------------------------------------------------


def pod_template(inputs: ChartInputs, domain: DomainSpec | None) -> dict[str, Any]:
    """A KubernetesExecutor pod template that references nothing namespaced except its ServiceAccount.

    Task pods of Airflow 3 talk only to the execution API (no database, no Fernet key), so the same
    template runs in the ``airflow`` namespace and in every domain namespace.
    """
    account = domain.service_account if domain else inputs.service_accounts["airflow-worker"]
    labels = {"tier": "airflow", "component": "worker", "release": AIRFLOW_RELEASE}
    metadata: dict[str, Any] = {"name": "placeholder-name", "labels": labels}
    if domain:
        labels[DOMAIN_LABEL] = domain.name
        metadata["namespace"] = domain.namespace
    image = inputs.image or f"apache/airflow:{versions.AIRFLOW_VERSION}"
    env = [
        *common_env(inputs),
        *(
            {"name": f"AIRFLOW__{section.upper()}__{key.upper()}", "value": value}
            for section, key, value in _task_settings(inputs)
        ),
    ]
    mounts = [{"name": "logs", "mountPath": f"{AIRFLOW_HOME}/logs"}]
    volumes: list[dict[str, Any]] = [{"name": "logs", "emptyDir": {}}]
    init: list[dict[str, Any]] = []
    if inputs.dags_git_repository:
        mounts.append({"name": "dags", "mountPath": DAGS_MOUNT, "readOnly": True})
        volumes.append({"name": "dags", "emptyDir": {}})
        init.append(_git_sync_init(inputs))
        if inputs.secrets.git_ssh:
            volumes.append({"name": "git-ssh", "secret": {"secretName": inputs.secrets.git_ssh, "defaultMode": 0o400}})
    spec: dict[str, Any] = {
        "serviceAccountName": account,
        "restartPolicy": "Never",
        "securityContext": {
            "runAsUser": 50000,
            "runAsGroup": 0,
            "fsGroup": 0,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "base",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "env": env,
                "volumeMounts": mounts,
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
        "volumes": volumes,
    }
    if init:
        spec["initContainers"] = init
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def _task_settings(inputs: ChartInputs) -> list[tuple[str, str, str]]:
    """The airflow.cfg settings a task needs, as (section, key, value); sent as AIRFLOW__* env."""
    config = airflow_config(inputs)
    out = [("core", "dags_folder", dags_folder(inputs))]
    out += [("logging", k, v) for k, v in config["logging"].items()]
    out += [("secrets", k, v) for k, v in config["secrets"].items()]
    # Task pods of domains are not allowed to reach statsd (mesh): metrics come from the scheduler.
    out.append(("metrics", "statsd_on", "False"))
    return out


def _git_sync_init(inputs: ChartInputs) -> dict[str, Any]:
    env = [
        {"name": "GITSYNC_REPO", "value": inputs.dags_git_repository},
        {"name": "GITSYNC_REF", "value": inputs.dags_git_branch},
        {"name": "GITSYNC_ROOT", "value": "/git"},
        {"name": "GITSYNC_LINK", "value": "repo"},
        {"name": "GITSYNC_DEPTH", "value": "1"},
        {"name": "GITSYNC_ONE_TIME", "value": "true"},
    ]
    mounts = [{"name": "dags", "mountPath": "/git"}]
    if inputs.secrets.git_ssh:
        env += [
            {"name": "GITSYNC_SSH_KEY_FILE", "value": "/etc/git-secret/ssh"},
            {"name": "GITSYNC_SSH_KNOWN_HOSTS", "value": "true" if inputs.dags_git_known_hosts else "false"},
        ]
        mounts.append({"name": "git-ssh", "mountPath": "/etc/git-secret/ssh", "subPath": "gitSshKey", "readOnly": True})
    return {
        "name": "git-sync-init",
        "image": versions.GIT_SYNC_IMAGE,
        "env": env,
        "volumeMounts": mounts,
        "securityContext": {
            "runAsUser": 65533,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def local_settings(domains: Sequence[DomainSpec], service_accounts: Mapping[str, str]) -> str:
    """``airflow_local_settings.py``: the pod mutation hook that places every task pod by its DAG id.

    A DAG whose id starts with ``<domain>_`` runs in ``domain-<domain>`` as ``<domain>-tasks``, whatever
    pod template or override it asked for; any other DAG runs as the platform worker. Identity follows
    the DAG id, the same prefix the domain's IAM role may write task logs under.

    The DAG id is the author's choice, so a cluster ``dag_policy`` binds it to where the file lives:
    only DAGs under ``<domain>/`` in the DAG repository may carry ``<domain>_`` ids, and every DAG
    there must. Who may merge into a folder (CODEOWNERS, branch protection) therefore decides which
    IAM role, namespace and mesh identity its tasks get.
    """
    table = {d.name: [d.namespace, d.service_account] for d in domains}
    platform = [AIRFLOW_NAMESPACE, service_accounts["airflow-worker"]]
    return _LOCAL_SETTINGS.format(
        domains=json.dumps(table, sort_keys=True), platform=json.dumps(platform), label=json.dumps(DOMAIN_LABEL)
    )


_LOCAL_SETTINGS = '''\
# Generated by airflow-mesh (components/airflow_values.py). Do not edit: change the stack's domains.
import json
import os

DOMAINS = json.loads({domains!r})
PLATFORM = json.loads({platform!r})
DOMAIN_LABEL = {label}


def _domain_of(dag_id):
    for name in DOMAINS:
        if dag_id.startswith(name + "_"):
            return name
    return None


def _folder_of(dag):
    """The domain whose folder of the DAG repository holds the DAG file, if any."""
    relative = getattr(dag, "relative_fileloc", None)
    if not relative:
        from airflow.configuration import conf

        relative = os.path.relpath(dag.fileloc, conf.get("core", "dags_folder"))
    first = str(relative).replace(os.sep, "/").split("/")[0]
    return first if first in DOMAINS else None


def dag_policy(dag):
    """A DAG acts for a domain only from that domain's folder, and every DAG there acts for it."""
    claimed, folder = _domain_of(dag.dag_id), _folder_of(dag)
    if claimed != folder:
        from airflow.exceptions import AirflowClusterPolicyViolation

        raise AirflowClusterPolicyViolation(
            f"DAG {{dag.dag_id!r}}: ids starting with '<domain>_' belong in that domain's folder "
            f"(id says {{claimed or 'no domain'}}, file is in {{folder or 'no domain'}}'s folder)"
        )


def pod_mutation_hook(pod):
    """Place KubernetesExecutor task pods by DAG id: <domain>_... runs as that domain, all else as the platform."""
    meta = pod.metadata
    labels = dict(meta.labels or {{}})
    if labels.get("kubernetes_executor") != "True":
        return  # pods of KubernetesPodOperator and friends are placed by their task
    domain = _domain_of((meta.annotations or {{}}).get("dag_id", ""))
    namespace, account = DOMAINS[domain] if domain else PLATFORM
    meta.namespace = namespace
    pod.spec.service_account_name = account
    if domain:
        labels[DOMAIN_LABEL] = domain
    else:
        labels.pop(DOMAIN_LABEL, None)
    meta.labels = labels
'''


# --------------------------------------------------------------------------------------------------
# Authentication and authorization (webserver_config.py of the api-server)
# --------------------------------------------------------------------------------------------------


def roles_mapping(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """``AUTH_ROLES_MAPPING``: IdP group -> Airflow roles."""
    out: dict[str, list[str]] = {}
    for group, role in pairs:
        roles = out.setdefault(group, [])
        if role not in roles:
            roles.append(role)
    return out


def webserver_config(inputs: ChartInputs) -> str:
    """The FAB auth manager's Flask config: OIDC login, group -> role mapping, domain roles.

    The client secret is read from the environment (a Secret reference), never written here.
    """
    issuer = inputs.oidc_issuer_url.rstrip("/")
    return _WEBSERVER_CONFIG.format(
        provider=json.dumps(OIDC_PROVIDER),
        client_id=json.dumps(inputs.oidc_client_id),
        secret_env=json.dumps(OIDC_SECRET_ENV),
        metadata_url=json.dumps(f"{issuer}/.well-known/openid-configuration"),
        scopes=json.dumps(OIDC_SCOPES),
        groups_claim=json.dumps(inputs.oidc_groups_claim),
        mapping=json.dumps(json.dumps(roles_mapping(inputs.role_mappings), sort_keys=True)),
        domain_roles=json.dumps(json.dumps(sorted(d.airflow_role for d in inputs.domains))),
    )


_WEBSERVER_CONFIG = '''\
# Generated by airflow-mesh (components/airflow_values.py). Do not edit: change the stack settings.
import json
import os

from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride
from flask_appbuilder.security.manager import AUTH_OAUTH

AUTH_TYPE = AUTH_OAUTH
# Users are created at first login; their roles come only from AUTH_ROLES_MAPPING and are replaced at
# every login. Someone in no mapped group gets "Public", which has no permission at all.
AUTH_USER_REGISTRATION = True
AUTH_USER_REGISTRATION_ROLE = "Public"
AUTH_ROLES_SYNC_AT_LOGIN = True
AUTH_ROLES_MAPPING = json.loads({mapping})
PERMANENT_SESSION_LIFETIME = 43200

OAUTH_PROVIDERS = [
    {{
        "name": {provider},
        "icon": "fa-openid",
        "token_key": "access_token",
        "remote_app": {{
            "client_id": {client_id},
            "client_secret": os.environ[{secret_env}],
            "server_metadata_url": {metadata_url},
            "client_kwargs": {{"scope": {scopes}}},
        }},
    }}
]

GROUPS_CLAIM = {groups_claim}
DOMAIN_ROLES = json.loads({domain_roles})
_BASE = FabAirflowSecurityManagerOverride
# A domain role sees no DAG by itself: it gets the Viewer and User permissions minus every all-DAGs
# grant (and minus import errors, which show other domains' code); each DAG grants it access with
# its access_control.
_DOMAIN_PERMISSIONS = [
    (action, resource)
    for action, resource in _BASE.VIEWER_PERMISSIONS + _BASE.USER_PERMISSIONS
    if (resource != "DAGs" or action == "menu_access") and resource != "ImportError"
]


class AirflowMeshSecurityManager(FabAirflowSecurityManagerOverride):
    """Domain roles are created and their permissions re-applied at every start (sync_roles)."""

    ROLE_CONFIGS = _BASE.ROLE_CONFIGS + [{{"role": role, "perms": _DOMAIN_PERMISSIONS}} for role in DOMAIN_ROLES]

    def get_oauth_user_info(self, provider, resp):
        claims = resp.get("userinfo") or {{}}
        groups = claims.get(GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        return {{
            "username": claims.get("preferred_username") or claims.get("email") or claims["sub"],
            "email": claims.get("email", ""),
            "first_name": claims.get("given_name", ""),
            "last_name": claims.get("family_name", ""),
            "role_keys": list(groups),
        }}


SECURITY_MANAGER_CLASS = AirflowMeshSecurityManager
'''
