"""``airflow_local_settings.py`` of airflow-mesh: which data domain a DAG acts for, and where its task
pods run. The threat model these controls serve is ``docs/threat-model.md``.

Airflow imports this file (the chart mounts its text, the ``airflowLocalSettings`` value) in every
component. Identity is decided once, from the one fact a DAG author cannot choose: the folder of the
DAG repository the parsed file really lives in (CODEOWNERS and branch protection decide who may merge
there). Three cluster policies (Airflow docs: "Cluster Policies") apply it:

- :func:`dag_policy` (dag-processor, at parse time): the folder is the one the DagBag listed and
  opened, resolved (symlinks, ``..``), never ``dag.fileloc`` (the module's ``__file__``, which DAG code
  can reassign: ``models/dagbag.py`` ``_process_modules`` sets ``dag.fileloc = mod.__file__``). Only
  DAGs under ``<domain>/`` may carry ``<domain>_`` ids, and every DAG there must; the DAG's
  ``access_control`` grants its own domain's role and no other domain's.
- :func:`task_policy` (same place): writes the task's ``executor_config`` itself, ``pod_override``
  with the namespace, ServiceAccount and domain label of the folder, and rejects any author-supplied
  executor_config that touches identity (see :func:`override_problems`). The KubernetesExecutor reads
  the namespace from that ``pod_override`` to find a running pod's live log
  (``kubernetes_executor.py`` ``_get_pod_namespace``), so placement and lookup agree.
- :func:`pod_mutation_hook` (scheduler, when the pod is built): enforces it again from what the
  executor passes to ``PodGenerator.construct_pod`` (the task instance's ``dag_id``), never from the
  pod's labels or annotations, which ``pod_override`` is merged over before the hook runs
  (``pod_generator.py`` ``construct_pod``: ``[base_worker_pod, dynamic_pod, pod_override_object]``).

A policy violation is an ``AirflowClusterPolicyViolation``: the file shows as an import error and
none of its DAGs is scheduled. A hook violation fails the task before any pod exists.

The stack's data is the JSON object in the environment variable :data:`DATA_ENV` (every Airflow
container has it)::

    {"domains": {"<domain>": {"namespace": "...", "service_account": "...", "role": "<Airflow role>",
                              "secrets_prefix": "<prefix of its connections and variables>"}, ...},
     "platform": {"namespace": "...", "service_account": "..."},
     "domain_label": "<pod label the mesh selects a domain's pods by>",
     "reserved_keys": ["<label/annotation keys only the platform may set>", ...],
     "pod_templates_dir": "<folder holding <domain>.yaml pod templates>" or null}

Without it the import fails (``KeyError``) and Airflow does not start, rather than run every task as
the platform.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

#: Environment variable holding the stack's data (see the module docstring).
DATA_ENV = "AIRFLOW_MESH_LOCAL_SETTINGS"

_DATA = json.loads(os.environ[DATA_ENV])
#: Domain name -> {"namespace", "service_account", "role", "secrets_prefix"}.
DOMAINS: dict[str, dict[str, str]] = _DATA["domains"]
#: {"namespace", "service_account"} of every task pod that belongs to no domain.
PLATFORM: dict[str, str] = _DATA["platform"]
#: Label a domain's task pods carry; the mesh policies select on it.
DOMAIN_LABEL: str = _DATA["domain_label"]
#: Label and annotation keys a DAG author may never set: the executor's own (it finds its pods by
#: them), the platform's selectors, and every prefixed key (``kuma.io/*``, ``sidecar.istio.io/*``,
#: ``linkerd.io/*``, ``consul.hashicorp.com/*``, ``eks.amazonaws.com/*``, ... are all prefixed).
RESERVED_KEYS: frozenset[str] = frozenset(_DATA["reserved_keys"])
POD_TEMPLATES_DIR: str | None = _DATA.get("pod_templates_dir")

#: What a DAG author may put in ``pod_override`` (camelCase, as the Kubernetes API spells it).
#: Everything else is rejected, so a field Kubernetes adds later is refused until reviewed.
ALLOWED_SPEC = frozenset(
    {
        "containers",
        "volumes",
        "nodeSelector",
        "tolerations",
        "affinity",
        "topologySpreadConstraints",
        "priorityClassName",
        "terminationGracePeriodSeconds",
        "activeDeadlineSeconds",
    }
)
ALLOWED_CONTAINER = frozenset({"name", "image", "imagePullPolicy", "resources", "env", "volumeMounts", "workingDir"})
ALLOWED_ENV_SOURCES = frozenset({"fieldRef", "resourceFieldRef", "configMapKeyRef"})
ALLOWED_VOLUMES = frozenset({"emptyDir", "configMap"})
#: The only executor_config key a DAG author may use (``pod_template_file`` picks another identity).
ALLOWED_EXECUTOR_CONFIG = frozenset({"pod_override"})
#: Grant a domain DAG gives its own domain's role (FAB ``access_control``): see and trigger it.
OWN_GRANT = {"DAGs": {"can_read", "can_edit"}}


def domain_of_dag(dag_id: str) -> str | None:
    """The domain whose ``<domain>_`` prefix ``dag_id`` carries (longest match), else None."""
    found = [name for name in DOMAINS if dag_id.startswith(name + "_")]
    return max(found, key=len) if found else None


def domain_of_key(key: str) -> str | None:
    """The domain whose secrets prefix (``<prefix>/...``) a connection id or variable key is under."""
    for name, domain in DOMAINS.items():
        if key.startswith(domain["secrets_prefix"].strip("/") + "/"):
            return name
    return None


def placement(domain: str | None) -> tuple[str, str]:
    """(namespace, ServiceAccount) of the task pods of ``domain`` (None: the platform)."""
    where = DOMAINS[domain] if domain else PLATFORM
    return where["namespace"], where["service_account"]


def _violation(message: str) -> Exception:
    from airflow.exceptions import AirflowClusterPolicyViolation

    return AirflowClusterPolicyViolation(message)


def _caller_locals(*names: str) -> dict[str, Any] | None:
    """Locals of the nearest calling frame that has all ``names`` (Airflow's own caller, not DAG code)."""
    frame = sys._getframe(1)
    while frame is not None:
        if all(n in frame.f_locals for n in names):
            return frame.f_locals
        frame = frame.f_back
    return None


def _top_folder(path: str, root: str) -> str | None:
    """First folder of ``path`` below ``root`` ('' for a file directly in root); None if outside."""
    rel = os.path.relpath(path, root)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return None
    parts = rel.split(os.sep)
    return parts[0] if len(parts) > 1 else ""


def folder_domain(filepath: str, root: str) -> str | None:
    """Domain owning the folder ``filepath`` is in below ``root``, checked both as written and with
    symlinks and ``..`` resolved; raises if the two disagree or the file is outside ``root``."""
    lexical = _top_folder(os.path.normpath(os.path.abspath(filepath)), os.path.normpath(os.path.abspath(root)))
    real = _top_folder(os.path.realpath(filepath), os.path.realpath(root))
    if lexical is None or real is None:
        raise _violation(f"{filepath}: outside the DAG folder {root} once symlinks and '..' are resolved")
    if lexical != real:
        raise _violation(f"{filepath}: lies in folder {lexical!r} but resolves into folder {real!r}")
    return real if real in DOMAINS else None


def parsed_domain(dag: Any) -> str | None:
    """Domain of the file the DagBag is parsing ``dag`` from (its ``_process_modules`` frame:
    ``filepath`` is the path it listed and opened, ``self.bundle_path`` the bundle root)."""
    found = _caller_locals("self", "filepath", "mods")
    if found is None:
        raise _violation(f"DAG {dag.dag_id!r}: not parsed by a DagBag, so where its file lives is unknown")
    bag, filepath = found["self"], str(found["filepath"])
    root = str(getattr(bag, "bundle_path", None) or getattr(bag, "dag_folder", ""))
    claimed = os.path.abspath(str(dag.fileloc))
    if claimed != os.path.abspath(filepath) and not claimed.startswith(os.path.abspath(filepath) + os.sep):
        raise _violation(f"DAG {dag.dag_id!r}: parsed from {filepath} but claims to live in {dag.fileloc}")
    return folder_domain(filepath, root)


def dag_policy(dag: Any) -> None:
    """A DAG acts for a domain only from that domain's folder, every DAG there acts for it, and only
    its own domain's role is granted access to it."""
    folder, claimed = parsed_domain(dag), domain_of_dag(dag.dag_id)
    if claimed != folder:
        raise _violation(
            f"DAG {dag.dag_id!r}: ids starting with '<domain>_' belong in that domain's folder "
            f"(id says {claimed or 'no domain'}, file is in {folder or 'no domain'}'s folder)"
        )
    own_role = DOMAINS[folder]["role"] if folder else None
    roles = {d["role"] for d in DOMAINS.values()}
    granted = dict(dag.access_control or {})
    foreign = sorted(r for r in granted if r in roles and r != own_role)
    if foreign:
        raise _violation(f"DAG {dag.dag_id!r}: access_control grants other domains' roles {foreign}")
    if own_role:
        granted[own_role] = {resource: set(actions) for resource, actions in OWN_GRANT.items()}
    dag.access_control = granted or None


def override_problems(pod: Any, allowed: dict[str, str] | None = None) -> list[str]:
    """What in a ``pod_override`` (a V1Pod) touches identity: anything outside the ALLOWED_* lists, a
    reserved or prefixed label/annotation key, a volume other than emptyDir/configMap, an env var read
    from a Secret. ``allowed`` lists identity values that are not a problem when equal (the hook passes
    what the policy itself wrote: ``namespace``, ``serviceAccountName``, the domain label)."""
    from kubernetes.client import ApiClient

    allowed = allowed or {}
    body = ApiClient().sanitize_for_serialization(pod) or {}
    out: list[str] = []
    for key, value in body.get("metadata", {}).items():
        if key in ("labels", "annotations"):
            for k, v in value.items():
                if ("/" in k or k in RESERVED_KEYS) and allowed.get(k) != v:
                    out.append(f"metadata.{key}[{k!r}]")
        elif allowed.get(key) != value:
            out.append(f"metadata.{key}")
    for key, value in body.get("spec", {}).items():
        if key not in ALLOWED_SPEC and allowed.get(key) != value:
            out.append(f"spec.{key}")
    for c in body.get("spec", {}).get("containers", []):
        out += [f"containers[{c.get('name')}].{k}" for k in c if k not in ALLOWED_CONTAINER]
        for e in c.get("env", []):
            if set(e.get("valueFrom", {})) - ALLOWED_ENV_SOURCES:
                out.append(f"containers[{c.get('name')}].env[{e['name']}].valueFrom")
    for v in body.get("spec", {}).get("volumes", []):
        if not set(v) - {"name"} <= ALLOWED_VOLUMES:
            out.append(f"spec.volumes[{v.get('name')}]")
    return out


def task_policy(task: Any) -> None:
    """Write the task's placement into its executor_config; refuse identity-bearing overrides."""
    from kubernetes.client import models as k8s

    dag_id = task.dag.dag_id if task.dag else ""
    domain = parsed_domain(task.dag) if task.dag else None
    config = task.executor_config or {}
    if not isinstance(config, dict) or set(config) - ALLOWED_EXECUTOR_CONFIG:
        raise _violation(f"{dag_id}.{task.task_id}: executor_config may only hold 'pod_override'")
    if getattr(task, "executor", None):
        raise _violation(f"{dag_id}.{task.task_id}: tasks run on the platform's executor, not {task.executor!r}")
    pod = config.get("pod_override") or k8s.V1Pod(metadata=k8s.V1ObjectMeta(), spec=k8s.V1PodSpec(containers=[]))
    if not isinstance(pod, k8s.V1Pod):
        raise _violation(f"{dag_id}.{task.task_id}: pod_override must be a kubernetes V1Pod")
    problems = override_problems(pod)
    if problems:
        raise _violation(f"{dag_id}.{task.task_id}: pod_override may not set {', '.join(problems)}")
    namespace, account = placement(domain)
    pod.metadata = pod.metadata or k8s.V1ObjectMeta()
    pod.spec = pod.spec or k8s.V1PodSpec(containers=[])
    pod.metadata.namespace, pod.spec.service_account_name = namespace, account
    if domain:
        pod.metadata.labels = {**(pod.metadata.labels or {}), DOMAIN_LABEL: domain}
    placed: dict[str, Any] = {"pod_override": pod}
    if domain and POD_TEMPLATES_DIR:
        placed["pod_template_file"] = os.path.join(POD_TEMPLATES_DIR, f"{domain}.yaml")
    if hasattr(task, "partial_kwargs"):  # a mapped task: executor_config is read from partial_kwargs
        task.partial_kwargs["executor_config"] = placed
    else:
        task.executor_config = placed


def _pod_problems(pod: Any) -> list[str]:
    """What no task pod may have, whatever built it (template, override): host namespaces, host
    paths, projected ServiceAccount tokens, privileged containers."""
    from kubernetes.client import ApiClient

    spec = (ApiClient().sanitize_for_serialization(pod) or {}).get("spec", {})
    out = [f"spec.{k}" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    for v in spec.get("volumes", []):
        sources = v.get("projected", {}).get("sources", [])
        if "hostPath" in v or any("serviceAccountToken" in s for s in sources):
            out.append(f"spec.volumes[{v.get('name')}]")
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        if (c.get("securityContext") or {}).get("privileged"):
            out.append(f"containers[{c.get('name')}].securityContext.privileged")
    return out


def pod_mutation_hook(pod: Any) -> None:
    """Place a KubernetesExecutor task pod from the dag_id the executor passed to ``construct_pod``,
    after checking that its ``pod_override`` sets no identity but the one :func:`task_policy` wrote."""
    call = _caller_locals("dag_id", "pod_override_object", "base_worker_pod")
    if call is None:
        raise RuntimeError("pod_mutation_hook: not called from PodGenerator.construct_pod; refusing to place a pod")
    domain = domain_of_dag(str(call["dag_id"]))
    namespace, account = placement(domain)
    allowed = {"namespace": namespace, "serviceAccountName": account, **({DOMAIN_LABEL: domain} if domain else {})}
    override = call["pod_override_object"]
    problems = (override_problems(override, allowed) if override is not None else []) + _pod_problems(pod)
    if problems:
        raise ValueError(f"task pod of DAG {call['dag_id']!r} refused: {', '.join(problems)}")
    pod.metadata.namespace = namespace
    pod.spec.service_account_name, pod.spec.service_account = account, None
    labels = dict(pod.metadata.labels or {})
    if domain:
        labels[DOMAIN_LABEL] = domain
    else:
        labels.pop(DOMAIN_LABEL, None)
    pod.metadata.labels = labels
