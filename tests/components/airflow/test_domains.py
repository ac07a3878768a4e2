"""AirflowDomains: the scheduler launches a domain's task pods in its namespace with Roles bound only
there; each domain has a pod template with its ServiceAccount; its Airflow role is created."""

from __future__ import annotations

import json

import yaml

from components.airflow import inputs as airflow_inputs
from components.platform import DOMAIN_LABEL
from tests import schemas

ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"


def domain_names(plan) -> set[str]:
    return {ns.removeprefix("domain-") for ns in _namespaces(plan) if ns.startswith("domain-")}


def _namespaces(plan) -> set[str]:
    return {n["inputs"]["metadata"]["name"] for n in plan.of_type("kubernetes:core/v1:Namespace")}


def _airflow_children(plan, typ):
    airflow = plan.one("airflow-mesh:airflow:Airflow")["name"]
    return [r for r in plan.of_type(typ) if r["parent"] and r["parent"].startswith(airflow)]


def test_scheduler_may_launch_pods_only_in_the_domain_namespaces(plan):
    domains = domain_names(plan)
    assert domains, "every committed stack declares domains"
    bindings = _airflow_children(plan, BINDING)
    launch = [b["inputs"] for b in bindings if b["inputs"]["roleRef"]["name"] == "airflow-pod-launcher"]
    assert {b["metadata"]["namespace"] for b in launch} == {f"domain-{d}" for d in domains}
    for b in launch:
        assert b["subjects"] == [{"kind": "ServiceAccount", "name": "airflow-scheduler", "namespace": "airflow"}]
        assert b["roleRef"]["kind"] == "Role"
    readers = [b["inputs"] for b in bindings if b["inputs"]["roleRef"]["name"] == "airflow-log-reader"]
    assert {b["subjects"][0]["name"] for b in readers} == {"airflow-api-server"}
    for role in _airflow_children(plan, ROLE):
        assert role["inputs"]["metadata"]["namespace"].startswith("domain-")
        verbs = {v for rule in role["inputs"]["rules"] for v in rule["verbs"]}
        assert "*" not in verbs and "escalate" not in verbs and "bind" not in verbs
        assert {r for rule in role["inputs"]["rules"] for r in rule["resources"]} <= {"pods", "pods/log", "events"}
    assert not _airflow_children(plan, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    values = schemas.releases(plan)["airflow"]["inputs"]["values"]
    assert values["multiNamespaceMode"] is False, "the chart would bind a ClusterRole"


def test_rbac_objects_are_valid_kubernetes(plan):
    for typ in (ROLE, BINDING):
        for record in _airflow_children(plan, typ):
            api, kind = typ.removeprefix("kubernetes:").rsplit(":", 1)
            assert schemas.kubernetes_errors({"apiVersion": api, "kind": kind, **record["inputs"]}) == []


def test_each_domain_has_a_pod_template_with_its_service_account(plan):
    (configmap,) = [
        c
        for c in _airflow_children(plan, "kubernetes:core/v1:ConfigMap")
        if c["inputs"]["metadata"]["name"] == airflow_inputs.POD_TEMPLATES_CONFIGMAP
    ]
    templates = {k.removesuffix(".yaml"): yaml.safe_load(v) for k, v in configmap["inputs"]["data"].items()}
    assert set(templates) == domain_names(plan)
    for domain, pod in templates.items():
        assert pod["metadata"]["namespace"] == f"domain-{domain}"
        assert pod["spec"]["serviceAccountName"] == f"{domain}-tasks"
        assert pod["metadata"]["labels"][DOMAIN_LABEL] == domain
        assert schemas.kubernetes_errors(pod) == []
    values = schemas.releases(plan)["airflow"]["inputs"]["values"]
    mount = values["scheduler"]["extraVolumeMounts"][0]
    assert mount["mountPath"] == airflow_inputs.POD_TEMPLATES_DIR
    assert values["scheduler"]["extraVolumes"][0]["configMap"]["name"] == airflow_inputs.POD_TEMPLATES_CONFIGMAP
    assert configmap["name"] in schemas.releases(plan)["airflow"]["dependsOn"]


def test_domain_roles_are_created_and_mapped_from_their_groups(plan):
    api_server = schemas.releases(plan)["airflow"]["inputs"]["values"]["apiServer"]
    (data,) = [json.loads(e["value"]) for e in api_server["env"] if e["name"] == "AIRFLOW_MESH_WEBSERVER_CONFIG"]
    mapping, roles = data["roles_mapping"], data["domain_roles"]
    assert set(roles) == domain_names(plan)  # the committed stacks name each role after its domain
    for role in roles:
        assert any(role in mapped for mapped in mapping.values()), role
    assert "SECURITY_MANAGER_CLASS = AirflowMeshSecurityManager" in api_server["apiServerConfig"]
