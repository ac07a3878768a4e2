"""KubernetesExecutor task pod templates: the platform's and one per data domain.

Task pods of Airflow 3 talk only to the execution API (no database, no Fernet key), so one template
shape serves the ``airflow`` namespace and every domain namespace.
"""

from __future__ import annotations

from typing import Any

from components import sizing, versions
from components.airflow.config import airflow_config, common_env, dags_folder
from components.airflow.inputs import AIRFLOW_HOME, DAGS_MOUNT, ChartInputs, DomainSpec
from components.platform import AIRFLOW_RELEASE, DOMAIN_LABEL, NODE_ROLE_LABEL, TASK_NODE_ROLE, TASK_TAINT


def pod_template(inputs: ChartInputs, domain: DomainSpec | None) -> dict[str, Any]:
    """A KubernetesExecutor pod template that references nothing namespaced except its ServiceAccount.

    Task pods of Airflow 3 talk only to the execution API (no database, no Fernet key), so the same
    template runs in the ``airflow`` namespace and in every domain namespace.
    """
    account = domain.service_account if domain else inputs.service_accounts["airflow-worker"]
    labels = {"tier": "airflow", "component": "worker", "release": AIRFLOW_RELEASE}
    # A running task is never consolidated away (Karpenter honours this annotation on pods; its node
    # still goes at expireAfter + terminationGracePeriod, components/capacity/nodes.py).
    metadata: dict[str, Any] = {
        "name": "placeholder-name",
        "labels": labels,
        "annotations": {
            "karpenter.sh/do-not-disrupt": "true",
            # The mesh's pod annotations for this identity's exits (ChartInputs.pod_annotations).
            **inputs.pod_annotations.get(f"domain-{domain.name}" if domain else "airflow-worker", {}),
        },
    }
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
        # Task nodes (Karpenter NodePools, components/capacity): only task pods select and tolerate them.
        "nodeSelector": {NODE_ROLE_LABEL: TASK_NODE_ROLE},
        "tolerations": [{**TASK_TAINT, "operator": "Equal"}],
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
                # What Karpenter sizes task nodes by (components/sizing.py); tasks that need more ask for it
                # with executor_config.
                "resources": sizing.TASK_POD.helm(),
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
    # load_examples too: a task pod mounts no airflow.cfg, and config.yml's default is True, so any
    # DagBag built in the pod (not the task runner's BundleDagBag) would load the examples.
    out = [("core", "dags_folder", dags_folder(inputs)), ("core", "load_examples", "False")]
    out += [("logging", k, v) for k, v in config["logging"].items()]
    out += [("secrets", k, v) for k, v in config["secrets"].items()]
    # Task pods export their own metrics (ti_successes, ti_failures) and spans to the collector.
    out += [(section, k, v) for section in ("metrics", "traces") for k, v in config[section].items()]
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
        "resources": sizing.helm_resources("airflow-git-sync", inputs.size_tier),  # type: ignore[arg-type]
        "securityContext": {
            "runAsUser": 65533,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
