"""Domain isolation attacked with Airflow 3.1.7's own code: DAG files parsed by a real DagBag, their
executor_config through the serializer the scheduler reads, pods built by the KubernetesExecutor's
``construct_pod``, live-log lookups by the executor's own namespace rule (issue 13, classes 1 and 5).

Run as ``python -m tests_airflow.probe_isolation VARIANT_DIR OUT_JSON`` in ``.venv-airflow`` (one
process: Airflow's settings and policies are process-wide). The probe records facts, the tests in
``tests_airflow/test_isolation.py`` hold the expectations. The ``AIRFLOW_HOME`` layout is the one
``tests_airflow/probe.py`` builds; the scheduler's mount of the domains' pod templates is the
bundle's ``pod_templates/`` folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests_airflow import probe_io
from tests_airflow.probe_io import guarded

#: Python source of one hostile or benign DAG: ``{dag_id}``, ``{task}`` (a task expression), ``{head}``.
_DAG = """\
from kubernetes.client import models as k8s
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
{head}
with DAG(dag_id={dag_id!r}, schedule=None{dag_kwargs}):
    {task}
"""


def _override(meta: str = "", spec: str = "") -> str:
    """A task whose executor_config holds ``V1Pod(metadata=V1ObjectMeta(<meta>), spec=V1PodSpec(<spec>))``."""
    pod = f"k8s.V1Pod(metadata=k8s.V1ObjectMeta({meta}), spec=k8s.V1PodSpec({spec or 'containers=[]'}))"
    return f'EmptyOperator(task_id="t", executor_config={{"pod_override": {pod}}})'


def _base(extra: str = "") -> str:
    return f'containers=[k8s.V1Container(name="base"{extra})]'


def attacks(label: str) -> dict[str, dict[str, str]]:
    """Hostile DAG files of the ``marketing`` domain (the first example of issue 13 and its class):
    name -> {"file", "dag_id", "task", "head", "dag_kwargs"}. Each must be an import error."""
    vol = "volumes=[k8s.V1Volume(name='v', {src})], " + _base()
    cases = {
        "annotation_dag_id": _override(meta='annotations={"dag_id": "finance_x"}'),
        "label_kubernetes_executor_false": _override(meta='labels={"kubernetes_executor": "False"}'),
        "label_dag_id": _override(meta='labels={"dag_id": "finance_x"}'),
        "domain_label": _override(meta=f'labels={{"{label}": "finance"}}'),
        "namespace": _override(meta='namespace="domain-finance"'),
        "service_account_name": _override(spec='service_account_name="finance-tasks", ' + _base()),
        "deprecated_service_account": _override(spec='service_account="finance-tasks", ' + _base()),
        "automount_token": _override(spec="automount_service_account_token=True, " + _base()),
        "host_network": _override(spec="host_network=True, " + _base()),
        "kuma_annotation": _override(meta='annotations={"kuma.io/sidecar-injection": "disabled"}'),
        "istio_annotation": _override(meta='annotations={"sidecar.istio.io/inject": "false"}'),
        "linkerd_annotation": _override(meta='annotations={"linkerd.io/inject": "disabled"}'),
        "consul_annotation": _override(meta='annotations={"consul.hashicorp.com/connect-inject": "false"}'),
        "eks_role_annotation": _override(meta='annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"}'),
        "mesh_selector_label": _override(meta='labels={"component": "api-server", "release": "airflow"}'),
        "projected_token_volume": _override(
            spec=vol.format(
                src="projected=k8s.V1ProjectedVolumeSource(sources=[k8s.V1VolumeProjection("
                "service_account_token=k8s.V1ServiceAccountTokenProjection(path='t', audience='sts.amazonaws.com'))])"
            )
        ),
        "secret_volume": _override(spec=vol.format(src="secret=k8s.V1SecretVolumeSource(secret_name='airflow-jwt')")),
        "host_path_volume": _override(spec=vol.format(src="host_path=k8s.V1HostPathVolumeSource(path='/')")),
        "env_from_secret": _override(
            spec=_base(
                ", env=[k8s.V1EnvVar(name='K', value_from=k8s.V1EnvVarSource("
                "secret_key_ref=k8s.V1SecretKeySelector(name='airflow-fernet-key', key='fernet-key')))]"
            )
        ),
        "container_command": _override(spec=_base(", command=['sh', '-c', 'id']")),
        "init_container": _override(spec=_base() + ", init_containers=[k8s.V1Container(name='i', image='x')]"),
        "pod_template_file": 'EmptyOperator(task_id="t", executor_config={"pod_template_file": '
        '"/opt/airflow/pod_templates/finance.yaml"})',
        "other_executor": 'EmptyOperator(task_id="t", executor="LocalExecutor")',
        "mapped_task_override": 'EmptyOperator.partial(task_id="t", executor_config={"pod_override": k8s.V1Pod('
        'metadata=k8s.V1ObjectMeta(namespace="domain-finance"))}).expand(doc=["a", "b"])',
    }
    out = {
        name: {"file": f"marketing/{name}.py", "dag_id": "marketing_campaign", "task": task}
        for name, task in cases.items()
    }
    # The file says it lives in finance's folder: DagBag copies the module's __file__ into dag.fileloc.
    out["forged_dunder_file"] = {
        "file": "marketing/forged_file.py",
        "dag_id": "finance_x",
        "task": 'EmptyOperator(task_id="t")',
        "head": "__file__ = __file__.replace('/marketing/', '/finance/')",
    }
    out["symlink_into_finance"] = {
        "file": "marketing/link.py",
        "dag_id": "finance_linked",
        "symlink": "finance/real.py",
    }
    out["foreign_access_control"] = {
        "file": "marketing/grant.py",
        "dag_id": "marketing_shared",
        "task": 'EmptyOperator(task_id="t")',
        "dag_kwargs": ', access_control={"finance": {"DAGs": {"can_read", "can_edit"}}}',
    }
    out["platform_grants_domain_role"] = {
        "file": "platform_shared.py",
        "dag_id": "platform_shared",
        "task": 'EmptyOperator(task_id="t")',
        "dag_kwargs": ', access_control={"marketing": {"DAGs": {"can_read", "can_edit"}}}',
    }
    return out


#: Benign DAGs: must parse, and get their placement written by the policy.
BENIGN = {
    "marketing_campaign": (
        "marketing/campaign.py",
        _override(
            meta='labels={"team": "growth"}',
            spec=_base(", resources=k8s.V1ResourceRequirements(requests={'cpu': '2'})"),
        ),
    ),
    "marketing_plain": ("marketing/nested/plain.py", 'EmptyOperator(task_id="t")'),
    "finance_real": ("finance/real.py", 'EmptyOperator(task_id="t")'),
    "platform_report": ("platform_report.py", 'EmptyOperator(task_id="t")'),
}


def write_dags(root: Path, label: str) -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {k: dict(v, intent="reject") for k, v in attacks(label).items()}
    for dag_id, (rel, task) in BENIGN.items():
        cases[f"benign_{dag_id}"] = {"file": rel, "dag_id": dag_id, "task": task, "intent": "accept"}
    for case in sorted(cases.values(), key=lambda c: "symlink" in c):
        path = root / case["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        if "symlink" in case:
            path.symlink_to(root / case["symlink"])
            continue
        path.write_text(
            _DAG.format(
                dag_id=case["dag_id"],
                task=case["task"],
                head=case.get("head", ""),
                dag_kwargs=case.get("dag_kwargs", ""),
            )
        )
    return cases


def parse(root: Path, cases: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each file parsed the way the dag-processor parses one (``BundleDagBag(dag_folder=file,
    bundle_path=root)``), then every accepted DAG through ``SerializedDAG`` (what the scheduler reads)."""
    from airflow.models.dagbag import BundleDagBag
    from airflow.serialization.serialized_objects import SerializedDAG

    facts, dags = {}, {}
    for name, case in cases.items():
        bag = BundleDagBag(dag_folder=str(root / case["file"]), bundle_path=root, load_op_links=False)
        facts[name] = {
            "intent": case["intent"],
            "dag_ids": sorted(bag.dag_ids),
            "import_errors": [str(e) for e in bag.import_errors.values()],
        }
        for dag_id, dag in bag.dags.items():
            dags[dag_id] = SerializedDAG.from_dict(SerializedDAG.to_dict(dag))
            facts[name]["access_control"] = {
                r: {res: sorted(a) for res, a in g.items()} for r, g in (dag.access_control or {}).items()
            }
    return facts, dags


def _pod(dag_id: str, executor_config: dict[str, Any]) -> Any:
    """The pod ``kubernetes_executor_utils.py`` ``run_next`` builds for a task with this executor_config."""
    from airflow.providers.cncf.kubernetes.executors.kubernetes_executor_utils import get_base_pod_from_template
    from airflow.providers.cncf.kubernetes.kube_config import KubeConfig
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator

    kube_config = KubeConfig()
    return PodGenerator.construct_pod(
        dag_id=dag_id,
        task_id="t",
        pod_id=f"{dag_id}-t".replace("_", "-"),
        try_number=1,
        kube_image=kube_config.kube_image,
        date=None,
        args=["python", "-m", "airflow.sdk.execution_time.execute_workload", "--json-string", "{}"],
        pod_override_object=PodGenerator.from_obj(executor_config),
        base_worker_pod=get_base_pod_from_template(executor_config.get("pod_template_file"), kube_config),
        namespace=kube_config.executor_namespace,
        scheduler_job_id="1",
        run_id="manual__probe",
        with_mutation_hook=True,
    )


def _outcome(build: Any) -> dict[str, Any]:
    from types import SimpleNamespace

    from airflow.providers.cncf.kubernetes.executors.kubernetes_executor import KubernetesExecutor

    try:
        pod, config = build()
    except Exception as e:
        return {"refused": f"{type(e).__name__}: {e.__cause__ or e}"}
    ti = SimpleNamespace(executor_config=config)
    return {
        "namespace": pod.metadata.namespace,
        "service_account": pod.spec.service_account_name,
        "labels": dict(pod.metadata.labels or {}),
        # Where the executor looks for the running pod to stream its live log.
        "log_lookup_namespace": KubernetesExecutor._get_pod_namespace(ti),
    }


def pods(dags: dict[str, Any], label: str) -> dict[str, Any]:
    """Accepted DAGs' pods from their serialized executor_config, and pods whose executor_config never
    went through the policy (written straight into the metadata DB, say): the hook's own line."""
    from kubernetes.client import models as k8s

    out = {}
    for dag_id, dag in dags.items():
        config = dag.get_task("t").executor_config
        out[f"parsed_{dag_id}"] = _outcome(lambda d=dag_id, c=config: (_pod(d, c), c))
    hostile = {
        "annotation_dag_id": k8s.V1ObjectMeta(annotations={"dag_id": "finance_x"}),
        "label_kubernetes_executor_false": k8s.V1ObjectMeta(labels={"kubernetes_executor": "False"}),
        "domain_label": k8s.V1ObjectMeta(labels={label: "finance"}),
        "namespace": k8s.V1ObjectMeta(namespace="domain-finance"),
    }
    for name, meta in hostile.items():
        config = {"pod_override": k8s.V1Pod(metadata=meta)}
        out[f"unparsed_{name}"] = _outcome(lambda c=config: (_pod("marketing_campaign", c), c))
    sa = {"pod_override": k8s.V1Pod(spec=k8s.V1PodSpec(containers=[], service_account_name="finance-tasks"))}
    out["unparsed_service_account"] = _outcome(lambda: (_pod("marketing_campaign", sa), sa))
    claim = {
        "pod_override": k8s.V1Pod(metadata=k8s.V1ObjectMeta(namespace="domain-marketing", labels={label: "marketing"}))
    }
    out["unparsed_platform_claims_domain"] = _outcome(lambda: (_pod("platform_report", claim), claim))
    return out


def run(variant: Path, work: Path) -> dict[str, Any]:
    """Facts of the attacker DAGs on ``variant`` (see the module docstring)."""
    from tests_airflow import probe

    probe.prepare(variant.parent, variant, work)
    data = json.loads(os.environ["AIRFLOW_MESH_LOCAL_SETTINGS"])
    # The scheduler's mount of the domains' pod templates (values: scheduler.extraVolumeMounts).
    if data.get("pod_templates_dir"):
        data["pod_templates_dir"] = str(variant / "pod_templates")
    os.environ["AIRFLOW_MESH_LOCAL_SETTINGS"] = json.dumps(data)
    cases = write_dags(work / "dags", data["domain_label"])
    # One fact per check (probe_io.guarded); the pods are built from the DAGs the parse accepted, so a
    # parse that raised leaves only the pods that never went through it.
    dags: dict[str, Any] = {}

    def parsed() -> dict[str, Any]:
        found, accepted = parse(work / "dags", cases)
        dags.update(accepted)
        return found

    return {
        "label": data["domain_label"],
        "parse": guarded(parsed),
        "pods": guarded(lambda: pods(dags, data["domain_label"])),
    }


if __name__ == "__main__":
    probe_io.cli("probe_isolation", run)
