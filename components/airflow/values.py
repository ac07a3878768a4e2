"""Helm values of the official Airflow chart, built by small pure functions from typed inputs.

Nothing here creates resources or reads configuration: :func:`chart_values` turns a
:class:`ChartInputs` into the values dict, so tests can call it directly. Secrets never appear here,
only the names of the Kubernetes Secrets that hold them.
"""

from __future__ import annotations

import json
from typing import Any

from components import sizing
from components.airflow import runtime
from components.airflow.config import airflow_config, common_env
from components.airflow.inputs import (
    AUTH_MANAGER_CLASS,
    AUTH_MANAGER_FILE,
    CHART_SERVICE_ACCOUNTS,
    CONFIG_DIR,
    OIDC_SECRET_ENV,
    PGBOUNCER_CA_DIR,
    PLUGIN_FILE,
    PLUGINS_CONFIGMAP,
    PLUGINS_DIR,
    POD_TEMPLATES_CONFIGMAP,
    POD_TEMPLATES_DIR,
    ChartInputs,
)
from components.airflow.pods import pod_template
from components.airflow.secrets import ASYNC_CONNECTION_KEY
from components.platform import AIRFLOW_RELEASE, STORAGE_CLASS
from components.settings.types import image_parts

#: sha256 of pgbouncer.ini on PgBouncer's pods: a changed config rolls them (components/airflow/secrets.py).
PGBOUNCER_CONFIG_ANNOTATION = "airflow-mesh/pgbouncer-config"


def chart_values(inputs: ChartInputs, rotation_stamp: Any = "", pgbouncer_checksum: Any = "") -> dict[str, Any]:
    """The release's values. ``rotation_stamp`` (any Input) rolls every pod when a generated key changes;
    ``pgbouncer_checksum`` (sha256 of pgbouncer.ini) rolls PgBouncer's when its config does."""
    kubernetes = inputs.executor == "KubernetesExecutor"
    values: dict[str, Any] = {
        "executor": inputs.executor,
        # Pod Security `restricted` for every Airflow pod (POD_SECURITY says why each field is restated).
        "securityContexts": {"pod": POD_SECURITY, "containers": CONTAINER_SECURITY},
        # The chart would grant the scheduler a ClusterRole; the domains' Roles are created per namespace.
        "multiNamespaceMode": False,
        "postgresql": {"enabled": False},
        "redis": {"enabled": False}
        if kubernetes
        else {
            "enabled": True,
            "passwordSecretName": inputs.secrets.redis_password,
            # The chart runs Redis as root (values.yaml `redis.uid: 0`, templates/_helpers.yaml
            # "localPodSecurityContext"); the redis image's own user is 999 and its entrypoint only
            # switches to it when started as root (docker-library/redis docker-entrypoint.sh).
            "securityContexts": {"pod": _pod_security(uid=999, gid=999)},
            "resources": _resources(inputs, "airflow-redis"),
            "serviceAccount": _service_account(inputs, "redis"),
            # The broker keeps queued tasks across restarts on the cluster's gp3 class.
            "persistence": {"storageClassName": STORAGE_CLASS},
        },
        # The broker name under every executor (SecretNames.broker_url says why).
        "data": {"metadataSecretName": inputs.secrets.metadata, "brokerUrlSecretName": inputs.secrets.broker_url},
        # The async metadata URL asyncpg can take behind PgBouncer (secrets.async_metadata_connection),
        # as env in every Airflow container beside the chart's own AIRFLOW__DATABASE__SQL_ALCHEMY_CONN.
        "secret": [
            {
                "envName": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC",
                "secretName": inputs.secrets.metadata,
                "secretKey": ASYNC_CONNECTION_KEY,
            }
        ],
        "fernetKeySecretName": inputs.secrets.fernet,
        "jwtSecretName": inputs.secrets.jwt,
        "apiSecretKeySecretName": inputs.secrets.api,
        "airflowPodAnnotations": {"airflow-mesh/secrets-rotation": rotation_stamp},
        "env": [
            *common_env(inputs),
            runtime.local_settings_env(inputs.domains, inputs.service_accounts, _templates_dir(inputs)),
        ],
        "config": airflow_config(inputs),
        "airflowLocalSettings": runtime.local_settings_source(),
        "dags": dags(inputs),
        "apiServer": api_server(inputs),
        "scheduler": scheduler(inputs),
        "dagProcessor": _component(inputs, "dagProcessor", _ha(inputs)),
        "triggerer": {**_component(inputs, "triggerer", _ha(inputs)), "persistence": _NO_LOG_VOLUME},
        "workers": {
            "serviceAccount": _service_account(inputs, "workers"),
            # Celery workers only (KubernetesExecutor task pods take theirs from the pod template).
            "resources": _resources(inputs, "airflow-worker"),
            "celery": {"persistence": _NO_LOG_VOLUME},
        },
        # Metrics go to the OpenTelemetry Collector ([metrics] otel_on in config.py): no statsd exporter.
        "statsd": {"enabled": False},
        "pgbouncer": pgbouncer(inputs, rotation_stamp, pgbouncer_checksum),
        # A regular Job, not a Helm hook: Pulumi's Release waits for it (and hooks would run before
        # the mesh sidecar's permissions exist on first install).
        # The chart names that Job ``<release>-run-airflow-migrations`` on every revision, and a Job's pod
        # template is immutable: with the chart's 300 s TTL, an upgrade within 5 minutes that changes the
        # template (new image, a key rotation's annotation) fails to patch it (apache/airflow#27561).
        # TTL 0: the finished Job is deleted at once, and Helm creates a resource that is missing on
        # upgrade (pkg/kube/client.go Update), so every upgrade runs a fresh Job. It is never found
        # running either: the atomic release returns only when the components are ready, and their
        # wait-for-airflow-migrations init containers pass only after this Job migrated the database.
        "migrateDatabaseJob": {
            "useHelmHooks": False,
            "ttlSecondsAfterFinished": 0,
            "serviceAccount": _service_account(inputs, "migrateDatabaseJob"),
            "resources": _resources(inputs, "airflow-migrations"),
        },
        # People log in through OIDC only: no default admin with a known password, ever.
        "createUserJob": {"enabled": False, "useHelmHooks": False, "serviceAccount": {"create": False}},
    }
    if inputs.image:
        # A digest pin takes precedence over the tag in the chart (values.yaml `images.airflow.digest`).
        repository, tag, digest = image_parts(inputs.image)
        values["images"] = {"airflow": {"repository": repository, "tag": tag, "digest": digest}}
    if kubernetes:
        values["podTemplate"] = json.dumps(pod_template(inputs, None), indent=2)
    _mesh_pod_annotations(values, inputs)
    return values


#: Chart section -> the key of its pods' annotations (chart 1.19.0 values.yaml; the migration Job's
#: ``annotations`` are its pod template's, ``jobAnnotations`` the Job's own).
_POD_ANNOTATIONS_KEY = {
    "apiServer": "podAnnotations",
    "scheduler": "podAnnotations",
    "dagProcessor": "podAnnotations",
    "triggerer": "podAnnotations",
    "workers": "podAnnotations",
    "pgbouncer": "podAnnotations",
    "migrateDatabaseJob": "annotations",
    "redis": "podAnnotations",
}


def _mesh_pod_annotations(values: dict[str, Any], inputs: ChartInputs) -> None:
    """Put each component's mesh pod annotations (``inputs.pod_annotations``) on its pods, beside the
    annotations the values already carry. KubernetesExecutor task pods get theirs in the pod templates."""
    for section, key in _POD_ANNOTATIONS_KEY.items():
        wanted = inputs.pod_annotations.get(CHART_SERVICE_ACCOUNTS[section])
        if wanted:
            target = values.setdefault(section, {})
            target[key] = {**target.get(key, {}), **wanted}


#: The chart gives the triggerer (and Celery workers) a 100Gi log volume per replica by default. Off:
#: task and trigger logs go to S3 (remote logging), and the local files only serve the logs of what
#: runs right now, which an emptyDir does. A volume per replica would cost 100Gi of gp3 each and, EBS
#: being zonal, pin every replica to the zone its volume was made in, undoing the zone spread.
#: Without persistence the chart makes them Deployments instead of StatefulSets.
_NO_LOG_VOLUME = {"enabled": False}


#: Pod Security `restricted` (Kubernetes docs "Pod Security Standards") for the Airflow pods. A global
#: ``securityContexts.pod`` REPLACES the chart's default ``{runAsUser: uid, fsGroup: gid}`` (chart
#: 1.19.0 templates/_helpers.yaml "airflowPodSecurityContext"), so the image's user 50000 and group 0
#: (the image's files are group-0 writable) are restated beside runAsNonRoot and the seccomp profile.
RUNTIME_DEFAULT = {"type": "RuntimeDefault"}
CONTAINER_SECURITY: dict[str, Any] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def _pod_security(uid: int, gid: int | None = None, fs_group: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"runAsUser": uid, "runAsNonRoot": True, "seccompProfile": RUNTIME_DEFAULT}
    if gid is not None:
        out["runAsGroup"] = gid
        out["fsGroup"] = gid if fs_group is None else fs_group
    return out


POD_SECURITY = _pod_security(uid=50000, gid=0)
#: git-sync's image user (chart values.yaml ``dags.gitSync.uid``); a container ``securityContexts``
#: REPLACES the chart's ``runAsUser: uid`` default ("localContainerSecurityContext").
GIT_SYNC_UID = 65533
#: PgBouncer and its exporter run as nobody (chart values.yaml ``pgbouncer.uid``); their pod context is
#: the chart's "localPodSecurityContext", which ignores the global ``securityContexts.pod``.
PGBOUNCER_UID = 65534


def _resources(inputs: ChartInputs, pod: str) -> dict[str, dict[str, str]]:
    return sizing.helm_resources(pod, inputs.size_tier)  # type: ignore[arg-type]


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
        # Requests per sizing tier (components/sizing.py): what the system node group is sized by.
        "resources": _resources(inputs, f"airflow-{_COMPONENT_LABEL[section]}"),
    }
    if section in ("scheduler", "dagProcessor", "triggerer"):
        out["logGroomerSidecar"] = {"resources": _resources(inputs, "airflow-log-groomer")}
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
                runtime.webserver_config_env(inputs),
                # FAB plus the IdP's machine tokens on /api/v2 (runtime/auth_manager.py); api-server only.
                {"name": "AIRFLOW__CORE__AUTH_MANAGER", "value": AUTH_MANAGER_CLASS},
                runtime.auth_manager_env(inputs),
            ],
            "apiServerConfig": runtime.webserver_config_source(),
            # HTTP to the mesh where it reads annotations (the chart's values schema forbids appProtocol), so
            # its inbound access log carries method, path, status, user and groups (docs/observability.md);
            # the mesh neither cuts nor repeats a request (components/mesh/kuma/resilience.py).
            "service": {"annotations": dict(inputs.api_server_service_annotations)},
            # The execution API's domain scope (runtime/execution_scope.py), one file in the plugins folder.
            "extraVolumes": [{"name": "airflow-mesh-plugins", "configMap": {"name": PLUGINS_CONFIGMAP}}],
            "extraVolumeMounts": [
                {
                    "name": "airflow-mesh-plugins",
                    "mountPath": f"{PLUGINS_DIR}/{PLUGIN_FILE}",
                    "subPath": PLUGIN_FILE,
                    "readOnly": True,
                },
                {
                    "name": "airflow-mesh-plugins",
                    "mountPath": f"{CONFIG_DIR}/{AUTH_MANAGER_FILE}",
                    "subPath": AUTH_MANAGER_FILE,
                    "readOnly": True,
                },
            ],
        }
    )
    return out


def _templates_dir(inputs: ChartInputs) -> str | None:
    """Where the scheduler finds the domains' pod templates (the task policy points domain tasks at them)."""
    return POD_TEMPLATES_DIR if inputs.domains and inputs.executor == "KubernetesExecutor" else None


def scheduler(inputs: ChartInputs) -> dict[str, Any]:
    out = _component(inputs, "scheduler", inputs.scheduler_replicas)
    if inputs.domains and inputs.executor == "KubernetesExecutor":
        out["extraVolumes"] = [{"name": "domain-pod-templates", "configMap": {"name": POD_TEMPLATES_CONFIGMAP}}]
        out["extraVolumeMounts"] = [{"name": "domain-pod-templates", "mountPath": POD_TEMPLATES_DIR, "readOnly": True}]
    return out


def pgbouncer(inputs: ChartInputs, rotation_stamp: Any, config_checksum: Any = "") -> dict[str, Any]:
    replicas = _ha(inputs)
    out = _component(inputs, "pgbouncer", replicas)
    out.update(
        {
            "enabled": True,
            # Our own pgbouncer.ini and users.txt: the chart would build them from values (password included).
            "configSecretName": inputs.secrets.pgbouncer_config,
            "securityContexts": {"pod": _pod_security(uid=PGBOUNCER_UID)},
            "metricsExporterSidecar": {
                "statsSecretName": inputs.secrets.pgbouncer_stats,
                "resources": _resources(inputs, "airflow-pgbouncer-exporter"),
            },
            "extraVolumes": [{"name": "rds-ca", "configMap": {"name": inputs.secrets.rds_ca_configmap}}],
            "extraVolumeMounts": [{"name": "rds-ca", "mountPath": PGBOUNCER_CA_DIR, "readOnly": True}],
            "podAnnotations": {
                "airflow-mesh/secrets-rotation": rotation_stamp,
                PGBOUNCER_CONFIG_ANNOTATION: config_checksum,
            },
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
        "resources": _resources(inputs, "airflow-git-sync"),
        "securityContexts": {"container": {"runAsUser": GIT_SYNC_UID, **CONTAINER_SECURITY}},
    }
    if inputs.secrets.git_ssh:
        sync["sshKeySecret"] = inputs.secrets.git_ssh
        if inputs.dags_git_known_hosts:
            sync["knownHosts"] = inputs.dags_git_known_hosts
    return {"gitSync": sync}
