"""Airflow's generated files and values, as pure functions: the pod mutation hook, the FAB config,
PgBouncer's config, the Fernet key pair and the task pod templates."""

from __future__ import annotations

import base64
import json
import sys
import types
from types import SimpleNamespace

import pytest

from components import airflow_secrets, airflow_values
from components.airflow import chart_inputs
from components.platform import DOMAIN_LABEL
from plan import harness
from tests import schemas

DOMAINS = (
    airflow_values.DomainSpec("marketing", "domain-marketing", "marketing-tasks", "marketing"),
    airflow_values.DomainSpec("finance", "domain-finance", "finance-tasks", "finance"),
)


@pytest.fixture(scope="module")
def inputs() -> airflow_values.ChartInputs:
    """The dev stack's chart inputs, from its real settings and access model."""
    from components import access_model

    s = harness.settings_for("dev")
    return chart_inputs(s, access_model.build(s))


# --------------------------------------------------------------------------------------------------
# The pod mutation hook (airflow_local_settings.py)
# --------------------------------------------------------------------------------------------------


def local_settings_scope() -> dict:
    scope: dict = {}
    exec(compile(airflow_values.local_settings(DOMAINS, {"airflow-worker": "airflow-worker"}), "local", "exec"), scope)
    return scope


def hook():
    return local_settings_scope()["pod_mutation_hook"]


class AirflowClusterPolicyViolation(Exception):  # noqa: N818 (Airflow's name)
    """Stand-in for airflow.exceptions.AirflowClusterPolicyViolation (Airflow is not installed here)."""


@pytest.fixture
def airflow_exceptions(monkeypatch):
    module = SimpleNamespace(AirflowClusterPolicyViolation=AirflowClusterPolicyViolation)
    monkeypatch.setitem(sys.modules, "airflow", SimpleNamespace(exceptions=module))
    monkeypatch.setitem(sys.modules, "airflow.exceptions", module)


@pytest.mark.parametrize(
    ("dag_id", "file", "allowed"),
    [
        ("marketing_daily", "marketing/daily.py", True),
        ("marketing_daily", "marketing/sub/daily.py", True),
        ("platform_cleanup", "platform/cleanup.py", True),
        ("finance_close", "marketing/close.py", False),  # claims finance from marketing's folder
        ("finance_close", "shared/close.py", False),  # claims a domain from outside every domain's folder
        ("daily", "marketing/daily.py", False),  # in a domain's folder without its prefix
    ],
)
def test_a_dag_acts_for_a_domain_only_from_that_domains_folder(airflow_exceptions, dag_id, file, allowed):
    policy = local_settings_scope()["dag_policy"]
    dag = SimpleNamespace(dag_id=dag_id, relative_fileloc=file, fileloc="/opt/airflow/dags/repo/" + file)
    if allowed:
        policy(dag)
    else:
        with pytest.raises(AirflowClusterPolicyViolation, match=dag_id):
            policy(dag)


def task_pod(dag_id, labels=None, executor=True):
    meta = SimpleNamespace(
        namespace="airflow",
        labels={**({"kubernetes_executor": "True"} if executor else {}), **(labels or {})},
        annotations={"dag_id": dag_id},
    )
    return SimpleNamespace(metadata=meta, spec=SimpleNamespace(service_account_name="airflow-worker"))


def test_domain_dags_run_in_their_namespace_as_their_service_account():
    pod = task_pod("marketing_daily_spend")
    hook()(pod)
    assert pod.metadata.namespace == "domain-marketing"
    assert pod.spec.service_account_name == "marketing-tasks"
    assert pod.metadata.labels[DOMAIN_LABEL] == "marketing"


def test_identity_follows_the_dag_id_not_the_template_the_dag_asked_for():
    pod = task_pod("marketing_sneaky", {DOMAIN_LABEL: "finance"})
    pod.spec.service_account_name = "finance-tasks"
    hook()(pod)
    assert (pod.metadata.namespace, pod.spec.service_account_name) == ("domain-marketing", "marketing-tasks")
    platform = task_pod("platform_cleanup", {DOMAIN_LABEL: "finance"})
    hook()(platform)
    assert (platform.metadata.namespace, platform.spec.service_account_name) == ("airflow", "airflow-worker")
    assert DOMAIN_LABEL not in platform.metadata.labels
    # "finance" alone, or "financeX_...", is not the finance domain's prefix
    for dag in ("finance", "financeteam_x"):
        other = task_pod(dag)
        hook()(other)
        assert other.metadata.namespace == "airflow"


def test_pods_not_launched_by_the_executor_are_left_alone():
    pod = task_pod("marketing_x", executor=False)
    hook()(pod)
    assert pod.metadata.namespace == "airflow" and DOMAIN_LABEL not in pod.metadata.labels


# --------------------------------------------------------------------------------------------------
# FAB auth manager config (webserver_config.py)
# --------------------------------------------------------------------------------------------------


class _FakeBase:
    VIEWER_PERMISSIONS = [
        ("can_read", "DAGs"),
        ("menu_access", "DAGs"),
        ("can_read", "DAG Runs"),
        ("can_read", "ImportError"),
        ("can_read", "Website"),
    ]
    USER_PERMISSIONS = [("can_edit", "DAGs"), ("can_create", "DAG Runs")]
    ROLE_CONFIGS = [{"role": "Viewer", "perms": VIEWER_PERMISSIONS}]


def load_webserver_config(inputs, monkeypatch):
    """Execute the generated config against stand-ins for FAB (the real ones need a running Airflow)."""
    override = types.ModuleType("override")
    override.FabAirflowSecurityManagerOverride = _FakeBase
    manager = types.ModuleType("manager")
    manager.AUTH_OAUTH = 4
    monkeypatch.setitem(sys.modules, "airflow.providers.fab.auth_manager.security_manager.override", override)
    monkeypatch.setitem(sys.modules, "flask_appbuilder.security.manager", manager)
    monkeypatch.setenv(airflow_values.OIDC_SECRET_ENV, "from-the-secret")
    scope: dict = {}
    exec(compile(airflow_values.webserver_config(inputs), "webserver_config.py", "exec"), scope)
    return scope


def test_oidc_login_maps_groups_to_roles_and_gives_the_unmapped_nothing(inputs, monkeypatch):
    config = load_webserver_config(inputs, monkeypatch)
    assert config["AUTH_TYPE"] == 4 and config["AUTH_ROLES_SYNC_AT_LOGIN"] is True
    assert config["AUTH_USER_REGISTRATION_ROLE"] == "Public"
    assert config["AUTH_ROLES_MAPPING"] == {
        "data-platform-admins": ["Admin"],
        "data-engineers": ["Op"],
        "data-analysts": ["Viewer"],
        "data-marketing": ["marketing"],
        "data-finance": ["finance"],
    }
    (provider,) = config["OAUTH_PROVIDERS"]
    app = provider["remote_app"]
    assert app["client_secret"] == "from-the-secret", "read from the environment at start, not written down"
    assert app["server_metadata_url"] == "https://example.okta.com/oauth2/default/.well-known/openid-configuration"
    assert "from-the-secret" not in airflow_values.webserver_config(inputs)
    manager = config["SECURITY_MANAGER_CLASS"]
    info = manager.get_oauth_user_info(
        None, "oidc", {"userinfo": {"sub": "00u1", "email": "ana@example.com", "groups": ["data-marketing"]}}
    )
    assert info["role_keys"] == ["data-marketing"] and info["username"] == "ana@example.com"
    assert manager.get_oauth_user_info(None, "oidc", {"userinfo": {"sub": "00u2"}})["role_keys"] == []


def test_domain_roles_are_created_with_no_access_to_all_dags(inputs, monkeypatch):
    config = load_webserver_config(inputs, monkeypatch)
    roles = {c["role"]: c["perms"] for c in config["SECURITY_MANAGER_CLASS"].ROLE_CONFIGS}
    assert {"Viewer", "marketing", "finance"} <= set(roles)
    domain = set(roles["marketing"])
    assert ("menu_access", "DAGs") in domain and ("can_read", "Website") in domain
    assert not {("can_read", "DAGs"), ("can_edit", "DAGs"), ("can_read", "ImportError")} & domain


# --------------------------------------------------------------------------------------------------
# Keys, PgBouncer, pod templates
# --------------------------------------------------------------------------------------------------


def test_fernet_keys_put_the_newest_first_and_keep_the_previous():
    old, new = base64.b64encode(b"o" * 32).decode(), base64.b64encode(b"n" * 32).decode()
    keys = airflow_secrets.fernet_keys(("2026-01-01T00:00:00Z", old), ("2026-03-02T00:00:00Z", new))
    first, second = keys.split(",")
    assert base64.urlsafe_b64decode(first) == b"n" * 32 and base64.urlsafe_b64decode(second) == b"o" * 32
    fernet = pytest.importorskip("cryptography.fernet")
    token = fernet.Fernet(second).encrypt(b"conn")
    assert fernet.MultiFernet([fernet.Fernet(k) for k in keys.split(",")]).decrypt(token) == b"conn"


def test_pgbouncer_verifies_rds_and_airflow_connects_through_it():
    ini = airflow_values.pgbouncer_ini("db.example.rds.amazonaws.com", 5432, "airflow", "airflow", "/ca.pem", False)
    assert "server_tls_sslmode = verify-full" in ini and "server_tls_ca_file = /ca.pem" in ini
    assert "airflow-metadata = host=db.example.rds.amazonaws.com dbname=airflow port=5432" in ini
    assert "password" not in ini
    url = airflow_secrets.metadata_connection("airflow", "p@ss/word")
    assert url.startswith("postgresql://airflow:p%40ss%2Fword@airflow-pgbouncer.airflow.svc.cluster.local:6543/")


def test_task_pod_templates_are_valid_pods_that_reference_nothing_of_the_airflow_namespace(inputs):
    for domain in (None, *inputs.domains):
        pod = airflow_values.pod_template(inputs, domain)
        assert schemas.kubernetes_errors(pod) == []
        text = json.dumps(pod)
        assert "configMap" not in text and "secretKeyRef" not in text
        if domain:
            assert pod["metadata"]["namespace"] == domain.namespace
            assert pod["spec"]["serviceAccountName"] == domain.service_account
            assert pod["metadata"]["labels"][DOMAIN_LABEL] == domain.name
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert env["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"].startswith("s3://")
    assert env["AIRFLOW__METRICS__STATSD_ON"] == "False"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/airflow/dags/repo"


def test_executor_watches_exactly_airflow_and_the_domain_namespaces(inputs):
    config = airflow_values.airflow_config(inputs)["kubernetes_executor"]
    assert config["multi_namespace_mode"] == "True"
    assert config["multi_namespace_mode_namespace_list"] == "airflow,domain-marketing,domain-finance"
