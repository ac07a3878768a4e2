"""Airflow: the chart's release as recorded: values valid for the chart, secrets only by reference,
every dependency explicit, sizing per stack."""

from __future__ import annotations

import json

import pytest

from components import platform, sizing, versions
from components.airflow import inputs as airflow_inputs
from components.settings import SettingsError
from plan import harness
from tests import schemas, stacks

SECRET = "kubernetes:core/v1:Secret"
CHART_DIR = "airflow/1.19.0"
#: Maps the chart leaves free-form (any key is accepted below them).
#: Below these the chart's values.yaml has empty maps that values.schema.json types (resources, security
#: contexts), so the schema check above covers them.
FREE_FORM = (
    *("config", "airflowPodAnnotations", "*.podAnnotations", "*.labels", "*.annotations", "*.resources"),
    "*.service.annotations",
    *("*.*.resources", "securityContexts", "*.securityContexts", "*.*.securityContexts"),
)
#: Documented in values.yaml only as comments (and typed in values.schema.json).
COMMENTED_KEYS = ("dags.gitSync.sshKeySecret", "dags.gitSync.knownHosts")
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-test-only\n-----END OPENSSH PRIVATE KEY-----"
OIDC_SECRET = "oidc-client-secret-for-the-test"
KNOWN_HOSTS = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def release(plan):
    return schemas.releases(plan)["airflow"]


def values(plan):
    return release(plan)["inputs"]["values"]


@pytest.fixture(scope="module")
def ssh_plan():
    """dev with an SSH DAG repository, both secrets given as `pulumi config set --secret` would."""
    return stacks.run(
        "dev",
        {
            "dagsGitRepository": "git@github.com:example-org/airflow-dags.git",
            "dagsGitSshKey": harness.Secure(SSH_KEY),
            "dagsGitKnownHosts": KNOWN_HOSTS,
            "oidcClientSecret": harness.Secure(OIDC_SECRET),
            # Kuma can only let SSH (port 22) out by IP, not by host name; Istio ambient can (it lets
            # everything out, so the stack must accept unenforced egress allow-lists explicitly)
            "meshProvider": "istio",
            "meshAcceptUnenforcedEgress": True,
        },
    )


@pytest.fixture(scope="module")
def celery_plan():
    return stacks.run("staging", {"airflowExecutor": "CeleryExecutor", "domains": None})


def check_against_chart(vals, upstream):
    folder = upstream / CHART_DIR
    assert schemas.values_schema_errors(vals, folder / "values.schema.json") == []
    unknown = schemas.unknown_value_keys(vals, folder / "values.yaml", FREE_FORM)
    schema = json.loads((folder / "values.schema.json").read_text())
    for key in COMMENTED_KEYS:
        node = schema
        for part in key.split("."):
            node = node["properties"][part]
        assert node["type"]
    assert [k for k in unknown if k not in COMMENTED_KEYS] == []


def test_release_is_the_pinned_official_chart_atomic_in_the_airflow_namespace(plan):
    r = release(plan)["inputs"]
    assert (r["chart"], r["version"]) == (versions.AIRFLOW_CHART, versions.AIRFLOW_CHART_VERSION)
    assert r["repositoryOpts"] == {"repo": "https://airflow.apache.org"}
    assert (r["name"], r["namespace"]) == (platform.AIRFLOW_RELEASE, platform.AIRFLOW_NAMESPACE)
    assert r["atomic"] is True and r["timeout"] >= 600 and r["waitForJobs"] is True
    assert r["createNamespace"] is False
    assert release(plan)["provider"].startswith(plan.one("pulumi:providers:kubernetes")["name"])


def test_values_match_the_chart_schema_and_keys(plan, upstream):
    check_against_chart(values(plan), upstream)


def test_ssh_and_celery_variants_match_the_chart_too(ssh_plan, celery_plan, upstream):
    check_against_chart(values(ssh_plan), upstream)
    check_against_chart(values(celery_plan), upstream)
    assert values(celery_plan)["executor"] == "CeleryExecutor"
    celery = values(celery_plan)
    assert celery["redis"] == {
        "enabled": True,
        "passwordSecretName": "airflow-mesh-redis-password",  # generated, rotated; never a chart default
        "serviceAccount": {"create": False, "name": "airflow-redis"},
        "persistence": {"storageClassName": "gp3"},  # the cluster's class: EKS >= 1.30 has no default
        # not root (the chart's redis.uid is 0): the image's redis user, Pod Security restricted
        "securityContexts": {
            "pod": {
                "runAsUser": 999,
                "runAsGroup": 999,
                "fsGroup": 999,
                "runAsNonRoot": True,
                "seccompProfile": {"type": "RuntimeDefault"},
            }
        },
        "resources": sizing.helm_resources("airflow-redis", "standard"),
    }
    assert celery["workers"]["celery"]["persistence"] == {"enabled": False}  # logs go to S3
    assert celery["data"]["brokerUrlSecretName"] == "airflow-mesh-broker-url"
    assert "podTemplate" not in celery
    # the broker is in the access model, so the mesh lets the scheduler and workers (only) reach it
    allowed = {
        (r["inputs"]["spec"]["targetRef"]["labels"].get("component"), r["name"])
        for r in celery_plan.of_type("kubernetes:kuma.io/v1alpha1:MeshTrafficPermission")
    }
    to_redis = sorted(name.split("-allow-")[1] for component, name in allowed if component == "redis")
    assert to_redis == ["airflow-scheduler-airflow-redis-6379", "airflow-worker-airflow-redis-6379"]


def referenced_secrets(vals) -> set[str]:
    """Every Kubernetes Secret the values point the chart at."""
    names = {
        vals["data"]["metadataSecretName"],
        vals["fernetKeySecretName"],
        vals["jwtSecretName"],
        vals["apiSecretKeySecretName"],
        vals["pgbouncer"]["configSecretName"],
        vals["pgbouncer"]["metricsExporterSidecar"]["statsSecretName"],
    }
    names |= {e["valueFrom"]["secretKeyRef"]["name"] for e in vals["apiServer"]["env"] if "valueFrom" in e}
    if "sshKeySecret" in vals["dags"]["gitSync"]:
        names.add(vals["dags"]["gitSync"]["sshKeySecret"])
    if vals["redis"]["enabled"]:
        names |= {vals["redis"]["passwordSecretName"], vals["data"]["brokerUrlSecretName"]}
    return names


def _hidden(data) -> bool:
    """A Secret's data as recorded: all of it, or every value, marked secret."""
    return data == "[secret]" or (isinstance(data, dict) and all(v == "[secret]" for v in data.values()))


def secrets_in(plan, namespace):
    return {
        s["inputs"]["metadata"]["name"]: s
        for s in plan.of_type(SECRET)
        if s["inputs"]["metadata"]["namespace"] == namespace
    }


def test_every_secret_arrives_by_reference_to_a_secret_the_release_waits_for(plans, ssh_plan):
    counts = {}
    for stack, plan in [*plans.items(), ("dev+ssh", ssh_plan)]:
        vals = values(plan)
        names = referenced_secrets(vals)
        created = secrets_in(plan, "airflow")
        assert names <= set(created), f"{stack}: {names - set(created)} referenced but not created"
        for name in names:
            assert created[name]["name"] in release(plan)["dependsOn"]
            assert _hidden(created[name]["inputs"]["stringData"]), f"{stack}: {name} holds plain text"
        counts[stack] = len(names)
    assert counts == {"dev": 7, "prod": 7, "staging": 7, "dev+ssh": 8}


def test_no_secret_value_appears_in_the_release(plans, ssh_plan):
    for plan in [*plans.values(), ssh_plan]:
        text = json.dumps(release(plan)["inputs"])
        assert "[secret]" not in text, "a secret Output reached the values"
        assert "offline-placeholder" not in text
        for r in plan.resources:  # what the mocks generated for passwords and keys
            if r["type"].startswith("random:"):
                assert r["name"] not in text
    text = json.dumps(release(ssh_plan)["inputs"])
    assert OIDC_SECRET not in text and "PRIVATE KEY" not in text
    assert "valueFrom" in text and airflow_inputs.OIDC_SECRET_ENV in text
    assert values(ssh_plan)["createUserJob"]["enabled"] is False
    # the key itself reaches only Kubernetes Secrets, marked secret
    ssh = [s for s in ssh_plan.of_type(SECRET) if s["inputs"]["metadata"]["name"] == "airflow-mesh-git-ssh"]
    assert {s["inputs"]["metadata"]["namespace"] for s in ssh} == {"airflow", "domain-marketing", "domain-finance"}
    assert all(_hidden(s["inputs"]["stringData"]) for s in ssh)


def test_release_waits_for_mesh_permissions_service_accounts_secrets_and_database(plan):
    name = release(plan)["name"]
    needs = plan.requires(name)
    mesh = plan.one("airflow-mesh:mesh:Mesh")["name"]
    permissions = [
        r["name"]
        for r in plan.resources
        if r["custom"] and _under(plan, r, mesh) and ("Permission" in r["type"] or "AuthorizationPolicy" in r["type"])
    ]
    assert set(permissions) <= needs
    accounts = [
        s
        for s in plan.of_type("kubernetes:core/v1:ServiceAccount")
        if s["inputs"]["metadata"]["namespace"] == "airflow"
    ]
    assert {s["inputs"]["metadata"]["name"] for s in accounts} >= set(_chart_accounts(plan).values())
    assert {s["name"] for s in accounts} <= set(release(plan)["dependsOn"])
    airflow = plan.one("airflow-mesh:airflow:Airflow")["name"]
    mine = {s["name"] for s in plan.of_type(SECRET) if _under(plan, s, airflow)}
    assert len(mine) >= 7 and mine <= needs
    assert plan.one("aws:rds/instance:Instance")["name"] in release(plan)["dependsOn"]


def _under(plan, record, ancestor):
    parent = record["parent"]
    while parent:
        if parent == ancestor:
            return True
        parent = plan[parent]["parent"]
    return False


def _chart_accounts(plan) -> dict[str, str]:
    vals = values(plan)
    out = {}
    for section in airflow_inputs.CHART_SERVICE_ACCOUNTS:
        if section == "redis" and not vals["redis"]["enabled"]:
            continue  # the Celery broker exists only with CeleryExecutor
        sa = vals[section]["serviceAccount"]
        assert sa["create"] is False, section
        out[section] = sa["name"]
    return out


def test_every_component_runs_as_the_identity_layers_service_account(plan):
    accounts = _chart_accounts(plan)
    for section, workload in airflow_inputs.CHART_SERVICE_ACCOUNTS.items():
        if section in accounts:
            assert accounts[section] == f"airflow-{workload.removeprefix('airflow-')}"
    assert set(airflow_inputs.CHART_SERVICE_ACCOUNTS) - set(accounts) == {"redis"}
    template = json.loads(values(plan)["podTemplate"])
    assert template["spec"]["serviceAccountName"] == accounts["workers"]
    assert values(plan)["createUserJob"]["serviceAccount"] == {"create": False}


def test_mesh_friendly_jobs_no_default_user_and_in_cluster_execution_api(plan):
    vals = values(plan)
    assert vals["migrateDatabaseJob"]["useHelmHooks"] is False
    assert vals["createUserJob"]["useHelmHooks"] is False and vals["createUserJob"]["enabled"] is False
    url = "http://airflow-api-server.airflow.svc.cluster.local:8080/execution/"
    assert {"name": "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "value": url} in vals["env"]
    assert vals["config"]["core"]["execution_api_server_url"] == url
    template = json.loads(vals["podTemplate"])
    assert {"name": "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "value": url} in template["spec"]["containers"][0]["env"]
    # probes stay plain HTTP/exec so the mesh's probe handling works under strict mTLS
    assert "HTTPS" not in json.dumps(vals)
    assert "sidecar-injection" not in json.dumps(vals) and "dataplane-mode" not in json.dumps(vals)
    assert vals["pgbouncer"]["enabled"] is True and vals["postgresql"] == {"enabled": False}


def test_logs_in_s3_and_secrets_in_secrets_manager_through_irsa(plan):
    vals = values(plan)
    bucket = plan.one("aws:s3/bucket:Bucket")["inputs"]["bucket"]
    logging = vals["config"]["logging"]
    assert logging["remote_logging"] == "True"
    assert logging["remote_base_log_folder"] == f"s3://{bucket}/{platform.LOG_PREFIX}"
    conn_env = {e["name"]: e["value"] for e in vals["env"]}[f"AIRFLOW_CONN_{logging['remote_log_conn_id'].upper()}"]
    conn = json.loads(conn_env)
    assert conn == {"conn_type": "aws", "extra": {"region_name": "us-east-1"}}, "no credentials: IRSA"
    kwargs = json.loads(vals["config"]["secrets"]["backend_kwargs"])
    assert kwargs["connections_prefix"] == f"airflow/{plan.stack}/connections"
    assert kwargs["variables_prefix"] == f"airflow/{plan.stack}/variables"
    assert vals["config"]["secrets"]["backend"].endswith("SecretsManagerBackend")


def test_replicas_and_disruption_budgets_per_stack(plans):
    prod, dev = values(plans["prod"]), values(plans["dev"])
    for section in ("apiServer", "scheduler", "pgbouncer", "triggerer"):
        assert prod[section]["replicas"] >= 2 and prod[section]["podDisruptionBudget"]["enabled"] is True, section
        assert prod[section]["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    for section in ("apiServer", "scheduler"):
        assert dev[section]["replicas"] == 1 and dev[section]["podDisruptionBudget"]["enabled"] is False


def test_dag_delivery_git_sync_in_dev_baked_image_in_prod(plans, ssh_plan):
    dev, prod = values(plans["dev"]), values(plans["prod"])
    sync = dev["dags"]["gitSync"]
    assert sync["enabled"] is True and sync["repo"].startswith("https://") and sync["branch"] == "main"
    assert "sshKeySecret" not in sync
    assert prod["dags"]["gitSync"] == {"enabled": False}
    assert prod["images"]["airflow"]["tag"] == "2026.11.1"
    ssh = values(ssh_plan)["dags"]["gitSync"]
    assert ssh["sshKeySecret"] == "airflow-mesh-git-ssh" and ssh["knownHosts"].startswith("github.com ")


def test_pods_roll_when_generated_keys_rotate(plan):
    vals = values(plan)
    stamp = vals["airflowPodAnnotations"]["airflow-mesh/secrets-rotation"]
    assert stamp.startswith("keys=") and "fernet=" in stamp
    assert vals["pgbouncer"]["podAnnotations"]["airflow-mesh/secrets-rotation"] == stamp


def test_fernet_key_keeps_the_previous_key(plan):
    rotations = {r["name"].rsplit("-", 2)[-2]: r for r in plan.of_type("time:index/rotating:Rotating")}
    slot_a = next(r for r in plan.of_type("time:index/rotating:Rotating") if r["name"].endswith("fernet-a-rotation"))
    slot_b = next(r for r in plan.of_type("time:index/rotating:Rotating") if r["name"].endswith("fernet-b-rotation"))
    keys = next(r for r in plan.of_type("time:index/rotating:Rotating") if r["name"].endswith("keys-rotation"))
    days = keys["inputs"]["rotationDays"]
    assert slot_a["inputs"]["rotationDays"] == slot_b["inputs"]["rotationDays"] == 2 * days
    assert slot_b["options"]["ignoreChanges"] == ["rfc3339"] and slot_a["name"] in slot_b["dependsOn"]
    assert rotations
    fernet = next(s for s in plan.of_type(SECRET) if s["inputs"]["metadata"]["name"] == "airflow-mesh-fernet-key")
    generators = {r["name"] for r in plan.of_type("random:index/randomBytes:RandomBytes") if "fernet" in r["name"]}
    assert len(generators) == 2 and generators <= plan.requires(fernet["name"])


@pytest.mark.parametrize(
    ("overrides", "key", "words"),
    [
        ({"airflowExecutor": "LocalExecutor"}, "airflow-mesh:airflowExecutor", "allowed: KubernetesExecutor"),
        ({"airflowExecutor": "CeleryExecutor"}, "airflow-mesh:airflowExecutor", "need KubernetesExecutor"),
        ({"airflowSchedulerReplicas": 1}, "airflow-mesh:airflowSchedulerReplicas", "prod needs at least 2"),
        ({"airflowApiServerReplicas": 1}, "airflow-mesh:airflowApiServerReplicas", "prod needs at least 2"),
        ({"secretRotationDays": 0}, "airflow-mesh:secretRotationDays", "outside 1-365"),
        ({"airflowRoleMappings": ["data-x=marketing-admins"]}, "airflow-mesh:airflowRoleMappings[0]", "not a role"),
    ],
)
def test_bad_airflow_settings_are_rejected_by_name_before_any_resource(overrides, key, words):
    with pytest.raises(SettingsError) as err:
        stacks.run("prod", overrides)
    assert any(k == key and words in message for k, message in err.value.problems), err.value.problems
    assert err.value.registered_resources == 0
