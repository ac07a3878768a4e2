"""Runtime facts from Airflow 3.1.7: cluster policies in a DagBag, the executor's pods after the mutation
hook, remote task logs to S3 and the Secrets Manager backend (both under moto), example DAGs.

Imported by ``tests_airflow/probe.py`` after the variant's ``AIRFLOW_HOME`` is in place, so
``airflow.settings`` has already imported the generated ``airflow_local_settings`` and registered
its ``dag_policy`` and ``pod_mutation_hook`` exactly as in a component.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import yaml
from airflow.configuration import conf
from moto import mock_aws

_DAG = """\
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(dag_id={dag_id!r}, schedule=None, access_control={access!r}):
    EmptyOperator(task_id="t")
"""


def _grant(role: str) -> dict[str, dict[str, set[str]]]:
    """access_control giving ``role`` read and edit (trigger) on the DAG, as README tells authors to."""
    return {role: {"DAGs": {"can_read", "can_edit"}}}


def sample_dags(meta: dict[str, Any], root: Path) -> dict[str, dict[str, Any]]:
    """Write DAG files into ``root`` and say, per file, which DAG id it holds and why it is there.

    ``intent`` is what the dag_policy must do: ``accept`` (a DAG where it belongs) or ``reject`` (an
    id claiming a domain the folder is not, or a domain folder's DAG not claiming it). Domain DAGs
    grant their domain's role access (README: "grant the domain's role access with access_control");
    two DAGs also grant the first domain's role although they are not its DAGs, which the policy
    refuses (FINDINGS.md F3, issue 13).
    """
    domains = [(d["name"], d["airflow_role"]) for d in meta["domains"]]
    cases: dict[str, tuple[str, str, Any]] = {"platform_report.py": ("platform_report", "accept", None)}
    for i, (name, role) in enumerate(domains[:2]):
        other = domains[(i + 1) % len(domains)][0] if len(domains) > 1 else None
        cases[f"{name}/etl.py"] = (f"{name}_etl", "accept", _grant(role))
        cases[f"{name}/nested/deep.py"] = (f"{name}_deep", "accept", _grant(role))
        cases[f"{name}/unprefixed.py"] = (f"plain_in_{name}", "reject", _grant(role))
        cases[f"claims_{name}_at_root.py"] = (f"{name}_at_root", "reject", _grant(role))
        if other:
            cases[f"{other}/claims_{name}.py"] = (f"{name}_from_{other}", "reject", _grant(role))
    if domains:
        first_role = domains[0][1]
        cases[f"platform_grants_{first_role}.py"] = ("platform_shared", "reject", _grant(first_role))
        if len(domains) > 1:
            second = domains[1][0]
            cases[f"{second}/grants_{first_role}.py"] = (f"{second}_shared", "reject", _grant(first_role))
    for rel, (dag_id, _, access) in cases.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_DAG.format(dag_id=dag_id, access=access))
    return {rel: {"dag_id": dag_id, "intent": intent} for rel, (dag_id, intent, _) in cases.items()}


def dagbag(meta: dict[str, Any], root: Path) -> dict[str, Any]:
    """Each sample file parsed the way the dag-processor parses one (dag_processing/processor.py
    ``_parse_file``: ``BundleDagBag(dag_folder=file, bundle_path=bundle)``), the bundle being the
    DAG folder (the chart's default ``dags-folder`` LocalDagBundle)."""
    from airflow.models.dagbag import BundleDagBag

    out = {}
    for rel, case in sample_dags(meta, root).items():
        bag = BundleDagBag(dag_folder=str(root / rel), bundle_path=root, load_op_links=False)
        out[rel] = {
            **case,
            "dag_ids": sorted(bag.dag_ids),
            "import_errors": [str(e) for e in bag.import_errors.values()],
        }
    return out


def examples_in_task_runner() -> list[str]:
    """DAG ids the task runner's DagBag holds for an empty bundle (execution_time/task_runner.py ``parse``)."""
    import tempfile

    from airflow.models.dagbag import BundleDagBag

    with tempfile.TemporaryDirectory() as empty:
        return sorted(BundleDagBag(dag_folder=empty, bundle_path=Path(empty), load_op_links=False).dag_ids)


def _domain_label(template: dict[str, Any], domain: str) -> str | None:
    return next((k for k, v in template["metadata"].get("labels", {}).items() if v == domain), None)


def pods(meta: dict[str, Any], variant: Path) -> dict[str, Any]:
    """Pods built by the KubernetesExecutor's own code (executors/kubernetes_executor_utils.py
    ``run_next``: ``get_base_pod_from_template`` then ``PodGenerator.construct_pod(...,
    with_mutation_hook=True)``), for platform and domain DAGs, with and without hostile overrides."""
    if not (variant / "pod_template_file.yaml").is_file():
        return {"skipped": "no pod template: not a KubernetesExecutor release"}
    from airflow.providers.cncf.kubernetes.executors.kubernetes_executor_utils import get_base_pod_from_template
    from airflow.providers.cncf.kubernetes.kube_config import KubeConfig
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
    from kubernetes.client import ApiClient
    from kubernetes.client import models as k8s

    kube_config = KubeConfig()
    cases: dict[str, tuple[str, str | None, Any]] = {"platform_dag": ("platform_report", None, None)}
    for d in meta["domains"]:
        name = d["name"]
        own = variant / "pod_templates" / f"{name}.yaml"
        label = _domain_label(yaml.safe_load(own.read_text()), name) if own.is_file() else None
        cases[f"{name}_dag"] = (f"{name}_etl", None, None)
        if own.is_file():
            cases[f"{name}_dag_own_template"] = (f"{name}_etl", str(own), None)
        hostile = k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(namespace="kube-system", labels={label or "domain": "someone-else"}),
            spec=k8s.V1PodSpec(service_account_name="airflow-api-server", containers=[k8s.V1Container(name="base")]),
        )
        cases[f"{name}_dag_hostile_override"] = (f"{name}_etl", None, hostile)
        # The hook leaves pods without kubernetes_executor=True alone (KubernetesPodOperator's);
        # an executor_config pod_override can set that label too (reconcile_pods: override wins).
        opt_out = k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(namespace="airflow", labels={"kubernetes_executor": "False"}),
            spec=k8s.V1PodSpec(service_account_name="airflow-worker", containers=[k8s.V1Container(name="base")]),
        )
        cases[f"{name}_dag_opts_out_of_hook"] = (f"{name}_etl", None, opt_out)
        impostor = k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(labels={label or "domain": name}),
            spec=k8s.V1PodSpec(service_account_name=f"{name}-tasks", containers=[k8s.V1Container(name="base")]),
        )
        cases[f"platform_dag_claiming_{name}"] = ("platform_report", None, impostor)
    out: dict[str, Any] = {}
    for case, (dag_id, template, override) in cases.items():
        try:
            pod = PodGenerator.construct_pod(
                dag_id=dag_id,
                task_id="t",
                pod_id=f"{dag_id}-t".replace("_", "-"),
                try_number=1,
                kube_image=kube_config.kube_image,
                date=None,
                args=["python", "-m", "airflow.sdk.execution_time.execute_workload", "--json-string", "{}"],
                pod_override_object=override,
                base_worker_pod=get_base_pod_from_template(template, kube_config),
                namespace=kube_config.executor_namespace,
                scheduler_job_id="1",
                run_id="manual__probe",
                with_mutation_hook=True,
            )
        except Exception as e:  # the hook refused the pod: no pod is created, the task fails
            out[case] = {"dag_id": dag_id, "refused": f"{type(e).__name__}: {e.__cause__ or e}"}
            continue
        body = ApiClient().sanitize_for_serialization(pod)
        out[case] = {
            "dag_id": dag_id,
            "namespace": pod.metadata.namespace,
            "service_account": pod.spec.service_account_name,
            "labels": body["metadata"].get("labels", {}),
        }
    return out


def executor() -> dict[str, Any]:
    """What the KubernetesExecutor reads from the config (providers/cncf/kubernetes/kube_config.py)."""
    if "KubernetesExecutor" not in conf.get("core", "executor"):
        return {"skipped": conf.get("core", "executor")}
    from airflow.providers.cncf.kubernetes.kube_config import KubeConfig

    kube = KubeConfig()
    return {
        "executor_namespace": kube.executor_namespace,
        "multi_namespace_mode": kube.multi_namespace_mode,
        "namespaces": kube.multi_namespace_mode_namespace_list,
        "delete_worker_pods": kube.delete_worker_pods,
        "pod_template_file": kube.pod_template_file,
    }


def _bucket(s3: Any, name: str, region: str) -> None:
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **extra)


def remote_logging(work: Path) -> dict[str, Any]:
    """The task log handler Airflow builds from our config (config_templates/airflow_local_settings.py:
    ``REMOTE_TASK_LOG``), then one log uploaded and read back through it against moto's S3."""
    region = conf.get("aws", "region_name", fallback=None) or boto3.session.Session().region_name or "us-east-1"
    with mock_aws():
        from airflow.config_templates import airflow_local_settings as logging_settings

        remote = logging_settings.REMOTE_TASK_LOG
        facts: dict[str, Any] = {"handler": type(remote).__name__ if remote else None}
        if remote is None:
            return facts
        target = urlparse(remote.remote_base)
        s3 = boto3.client("s3", region_name=region)
        _bucket(s3, target.netloc, region)
        relative = "dag_id=probe/run_id=manual__probe/task_id=t/attempt=1.log"
        local = Path(remote.base_log_folder) / relative
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text("probe log line\n")
        remote.upload(relative, None)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=target.netloc).get("Contents", [])]
        facts |= {
            "remote_base": remote.remote_base,
            "delete_local_copy": remote.delete_local_copy,
            "conn_id": conf.get("logging", "remote_log_conn_id"),
            "keys": keys,
            "read_back": remote.s3_read(f"{remote.remote_base.rstrip('/')}/{relative}"),
            "local_left": local.exists(),
        }
        return facts


def log_keys(meta: dict[str, Any]) -> dict[str, str]:
    """S3 object ARN of a first-try task log per domain (DAG ``<domain>_etl``) and for a platform DAG:
    the scheduler renders the relative path (executors/workloads.py ``ExecuteTask.make`` ->
    utils/helpers.py ``log_filename_template_renderer``) and S3RemoteLogIO joins it to
    ``remote_base`` (providers/amazon/aws/log/s3_task_handler.py ``upload``)."""
    from types import SimpleNamespace

    from airflow.utils.helpers import log_filename_template_renderer

    render = log_filename_template_renderer()
    base = urlparse(conf.get("logging", "remote_base_log_folder"))
    out = {}
    for owner, dag_id in [("platform", "platform_report"), *((d["name"], f"{d['name']}_etl") for d in meta["domains"])]:
        ti = SimpleNamespace(dag_id=dag_id, run_id="manual__probe", task_id="t", map_index=-1, try_number=1)
        key = "/".join(p.strip("/") for p in (base.path, render(ti=ti)) if p.strip("/"))
        out[owner] = f"arn:aws:s3:::{base.netloc}/{key}"
    return out


def secrets_backend(meta: dict[str, Any]) -> dict[str, Any]:
    """The configured secrets backend built by Airflow (configuration.py ``initialize_secrets_backends``)
    with our kwargs; a connection and a variable stored under the prefixes are read through it."""
    from airflow.configuration import initialize_secrets_backends

    with mock_aws():
        backends = initialize_secrets_backends()
        custom = backends[0]
        facts: dict[str, Any] = {
            "backends": [type(b).__name__ for b in backends],
            "kwargs": json.loads(conf.get("secrets", "backend_kwargs") or "{}"),
        }
        if not hasattr(custom, "connections_prefix"):
            return facts
        client = custom.client
        conn = {"conn_type": "http", "host": "partner.example.com", "login": "probe"}
        client.create_secret(Name=f"{custom.connections_prefix}/probe_conn", SecretString=json.dumps(conn))
        client.create_secret(Name=f"{custom.variables_prefix}/probe_var", SecretString="probe-value")
        found = custom.get_connection("probe_conn")
        facts |= {
            "region": client.meta.region_name,
            "connections_prefix": custom.connections_prefix,
            "variables_prefix": custom.variables_prefix,
            "connection_host": found.host if found else None,
            "variable": custom.get_variable("probe_var"),
        }
        return facts
