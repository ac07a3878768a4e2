"""Cluster policies in a real DagBag, the executor's pods after the mutation hook, remote logs, secrets, task pods.

Where a pod must land is read from the pod templates the program emits for each domain (the
ConfigMap the scheduler mounts): the hook and the templates are generated separately, so a
disagreement is a real fault.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

import pytest
import yaml

from tests_airflow.support import VARIANTS, bundle_file, facts, meta

KUBERNETES = [v for v in VARIANTS if bundle_file(v, "pod_template_file.yaml").is_file()]


def _template(variant: str, name: str) -> dict[str, Any]:
    return yaml.safe_load(bundle_file(variant, name).read_text())


@pytest.mark.parametrize("variant", VARIANTS)
def test_dag_policy_accepts_dags_in_their_domain_folder_and_rejects_the_rest(probes, variant):
    """Parsed like the dag-processor parses one file; a rejection is the policy's
    AirflowClusterPolicyViolation as an import error, never a crash of the parse."""
    outcome = {
        rel: ("accept" if case["dag_ids"] == [case["dag_id"]] and not case["import_errors"] else "reject")
        for rel, case in facts(probes, variant, "dagbag").items()
    }
    intent = {rel: case["intent"] for rel, case in facts(probes, variant, "dagbag").items()}
    assert outcome == intent
    for case in facts(probes, variant, "dagbag").values():
        assert all("AirflowClusterPolicyViolation" in e for e in case["import_errors"])


@pytest.mark.parametrize("variant", KUBERNETES)
def test_executor_pods_land_where_the_domain_templates_say(probes, variant):
    pods = facts(probes, variant, "pods")
    platform = _template(variant, "pod_template_file.yaml")
    expected_platform = (meta(variant)["release_namespace"], platform["spec"]["serviceAccountName"])
    for domain in meta(variant)["domains"]:
        own = _template(variant, f"pod_templates/{domain['name']}.yaml")
        place = (own["metadata"]["namespace"], own["spec"]["serviceAccountName"])
        label = next(k for k, v in own["metadata"]["labels"].items() if v == domain["name"])
        for case in ("dag", "dag_own_template"):
            pod = pods[f"{domain['name']}_{case}"]
            assert (pod["namespace"], pod["service_account"]) == place, case
            assert pod["labels"].get(label) == domain["name"], case
        # An override that sets identity (namespace, ServiceAccount, the domain label) is refused by
        # the hook, whoever wrote it: no pod at all rather than a pod somewhere else (issue 13).
        assert "refused" in pods[f"{domain['name']}_dag_hostile_override"]
        assert "refused" in pods[f"platform_dag_claiming_{domain['name']}"]
    assert (pods["platform_dag"]["namespace"], pods["platform_dag"]["service_account"]) == expected_platform


@pytest.mark.parametrize("variant", KUBERNETES)
def test_a_domain_dag_cannot_opt_out_of_the_mutation_hook(probes, variant):
    """FINDINGS.md F7 (issue 13, example 1): an override that sets ``kubernetes_executor`` (and the
    namespace) is refused by the hook, whatever else it says: no pod rather than a pod elsewhere."""
    pods = facts(probes, variant, "pods")
    for domain in meta(variant)["domains"]:
        pod = pods[f"{domain['name']}_dag_opts_out_of_hook"]
        assert "refused" in pod and "kubernetes_executor" in pod["refused"], pod


@pytest.mark.parametrize("variant", KUBERNETES)
def test_executor_watches_every_namespace_its_pods_land_in(probes, variant):
    """Pods in a namespace the executor does not watch are never seen to finish (kube_config.py)."""
    executor = facts(probes, variant, "executor")
    landed = {p["namespace"] for p in facts(probes, variant, "pods").values() if "namespace" in p}
    assert executor["multi_namespace_mode"] is True
    assert landed <= set(executor["namespaces"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_remote_task_logs_go_to_the_log_bucket(probes, variant):
    """config_templates/airflow_local_settings.py builds S3RemoteLogIO from [logging]; one log
    uploaded through it lands under the stack's prefix and reads back (moto S3)."""
    logs = facts(probes, variant, "remote_logging")
    config = facts(probes, variant, "config")
    assert logs["handler"] == "S3RemoteLogIO"
    assert logs["read_back"] == "probe log line\n"
    prefix = logs["remote_base"].split("/", 3)[3]
    assert [k for k in logs["keys"] if not k.startswith(prefix + "/")] == []
    assert ("logging", "remote_log_conn_id") in {(s, k) for s, k, _ in config["set"]}


@pytest.mark.parametrize("variant", [v for v in VARIANTS if meta(v)["domains"]])
def test_each_domain_may_write_its_own_task_logs_and_no_other_domains(probes, variant):
    """The log keys Airflow renders ([logging] log_filename_template) against the IAM role policies the
    plan records: some policy lets a domain write its DAG's log and no other domain's (IAM's ``*``
    matches any characters, like fnmatchcase)."""
    keys = facts(probes, variant, "log_keys")
    grants = json.loads(bundle_file(variant, "log_grants.json").read_text())
    domains = [d["name"] for d in meta(variant)["domains"]]

    def allowed(patterns: list[str], arn: str) -> bool:
        return any(fnmatchcase(arn, p) for p in patterns)

    for domain in domains:
        scoped = [
            name
            for name, patterns in grants.items()
            if allowed(patterns, keys[domain]) and not any(allowed(patterns, keys[o]) for o in domains if o != domain)
        ]
        assert scoped, f"no IAM policy lets {domain} write {keys[domain]} without other domains' logs"


@pytest.mark.parametrize("variant", VARIANTS)
def test_secrets_manager_backend_reads_under_our_prefixes(probes, variant):
    found = facts(probes, variant, "secrets_backend")
    kwargs = found["kwargs"]
    assert found["backends"][0] == "SecretsManagerBackend"
    assert found["region"] == kwargs["region_name"]
    assert (found["connections_prefix"], found["variables_prefix"]) == (
        kwargs["connections_prefix"],
        kwargs["variables_prefix"],
    )
    assert found["connection_host"] == "partner.example.com"
    assert found["variable"] == "probe-value"


@pytest.mark.parametrize("variant", KUBERNETES)
def test_task_pods_resolve_logging_secrets_and_execution_api_like_the_components(probes, variant):
    """A task pod gets no airflow.cfg: what it needs must arrive as env (probe_config.task_pod)."""
    config = facts(probes, variant, "config")
    ours = {(s, k) for s, k, _ in config["set"]}
    assert ("core", "execution_api_server_url") in ours
    for name, pod in facts(probes, variant, "task_pod").items():
        assert pod["remote_logging"] is True, name
        assert pod["remote_base_log_folder"] == facts(probes, variant, "remote_logging")["remote_base"], name
        assert pod["secrets_backend"].endswith("SecretsManagerBackend"), name
        assert pod["secrets_backend_kwargs"] == facts(probes, variant, "secrets_backend")["kwargs"], name
        assert pod["execution_api_server_url"].endswith("/execution/"), name


@pytest.mark.parametrize("variant", VARIANTS)
def test_task_runner_loads_no_example_dags(probes, variant):
    """execution_time/task_runner.py parses through BundleDagBag, which forces include_examples off
    (models/dagbag.py BundleDagBag.__init__)."""
    assert facts(probes, variant, "task_runner_examples") == []


@pytest.mark.parametrize("variant", KUBERNETES)
def test_task_pod_config_says_no_example_dags(probes, variant):
    """Only the task runner's hard-coded include_examples=False keeps examples out today; any other
    DagBag in a task pod (``airflow dags list``, a DagBag in task code) reads [core] load_examples."""
    pods = facts(probes, variant, "task_pod")
    assert {name: p["load_examples"] for name, p in pods.items() if p["load_examples"]} == {}
