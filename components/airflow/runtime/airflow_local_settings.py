"""``airflow_local_settings.py`` of airflow-mesh: where a DAG may act for a data domain, and where its
task pods run.

Airflow imports this file (the chart mounts its text, the ``airflowLocalSettings`` value) in every
component. Two cluster policies (Airflow docs: "Cluster Policies"):

- :func:`pod_mutation_hook` places every KubernetesExecutor task pod by its DAG id: a DAG whose id
  starts with ``<domain>_`` runs in ``domain-<domain>`` as ``<domain>-tasks``, whatever pod template
  or override it asked for; any other DAG runs as the platform worker. Identity follows the DAG id,
  the same prefix the domain's IAM role may write task logs under.
- :func:`dag_policy` binds the DAG id to where the file lives: only DAGs under ``<domain>/`` in the
  DAG repository may carry ``<domain>_`` ids, and every DAG there must. Who may merge into a folder
  (CODEOWNERS, branch protection) therefore decides which IAM role, namespace and mesh identity its
  tasks get.

The stack's data is not in this file: it is the JSON object in the environment variable
:data:`DATA_ENV`, set by the chart's ``env`` for every Airflow container::

    {"domains": {"<domain>": ["<namespace>", "<service account>"], ...},
     "platform": ["<namespace>", "<service account>"],
     "domain_label": "<pod label carrying the domain>"}

Without it the import fails (``KeyError``) and Airflow does not start, rather than run every task
as the platform.
"""

from __future__ import annotations

import json
import os
from typing import Any

#: Environment variable holding the stack's data (see the module docstring).
DATA_ENV = "AIRFLOW_MESH_LOCAL_SETTINGS"

_DATA = json.loads(os.environ[DATA_ENV])
#: Domain name -> [namespace, ServiceAccount] of its task pods.
DOMAINS: dict[str, list[str]] = _DATA["domains"]
#: [namespace, ServiceAccount] of every task pod that belongs to no domain.
PLATFORM: list[str] = _DATA["platform"]
#: Label a domain's task pods carry; the mesh policies select on it.
DOMAIN_LABEL: str = _DATA["domain_label"]


def _domain_of(dag_id: str) -> str | None:
    for name in DOMAINS:
        if dag_id.startswith(name + "_"):
            return name
    return None


def _folder_of(dag: Any) -> str | None:
    """The domain whose folder of the DAG repository holds the DAG file, if any."""
    relative = getattr(dag, "relative_fileloc", None)
    if not relative:
        from airflow.configuration import conf

        relative = os.path.relpath(dag.fileloc, conf.get("core", "dags_folder"))
    first = str(relative).replace(os.sep, "/").split("/")[0]
    return first if first in DOMAINS else None


def dag_policy(dag: Any) -> None:
    """A DAG acts for a domain only from that domain's folder, and every DAG there acts for it."""
    claimed, folder = _domain_of(dag.dag_id), _folder_of(dag)
    if claimed != folder:
        from airflow.exceptions import AirflowClusterPolicyViolation

        raise AirflowClusterPolicyViolation(
            f"DAG {dag.dag_id!r}: ids starting with '<domain>_' belong in that domain's folder "
            f"(id says {claimed or 'no domain'}, file is in {folder or 'no domain'}'s folder)"
        )


def pod_mutation_hook(pod: Any) -> None:
    """Place KubernetesExecutor task pods by DAG id: <domain>_... runs as that domain, all else as the platform."""
    meta = pod.metadata
    labels = dict(meta.labels or {})
    if labels.get("kubernetes_executor") != "True":
        return  # pods of KubernetesPodOperator and friends are placed by their task
    domain = _domain_of((meta.annotations or {}).get("dag_id", ""))
    namespace, account = DOMAINS[domain] if domain else PLATFORM
    meta.namespace = namespace
    pod.spec.service_account_name = account
    if domain:
        labels[DOMAIN_LABEL] = domain
    else:
        labels.pop(DOMAIN_LABEL, None)
    meta.labels = labels
