"""The Python Airflow executes (components/airflow/runtime/), imported as the real modules with
fixture data in their environment variable and stand-ins for Airflow and FAB (not installed here)."""

from __future__ import annotations

import ast
import importlib
import json
import sys
import types
from types import SimpleNamespace

import pytest

from components.airflow import inputs as airflow_inputs
from components.airflow import runtime
from components.airflow.component import chart_inputs
from components.platform import DOMAIN_LABEL
from tests import schemas, stacks

DOMAINS = (
    airflow_inputs.DomainSpec("marketing", "domain-marketing", "marketing-tasks", "marketing", "marketing"),
    airflow_inputs.DomainSpec("finance", "domain-finance", "finance-tasks", "finance", "finance"),
)
LOCAL_SETTINGS = "components.airflow.runtime.airflow_local_settings"
WEBSERVER_CONFIG = "components.airflow.runtime.webserver_config"


@pytest.fixture(scope="module")
def inputs() -> airflow_inputs.ChartInputs:
    """The dev stack's chart inputs, from its real settings and access model."""
    from components import access_model

    s = stacks.settings_for("dev")
    return chart_inputs(s, access_model.build(s))


def fresh_import(name: str, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> types.ModuleType:
    """Import ``name`` anew with ``env`` set, as Airflow does at start."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delitem(sys.modules, name, raising=False)
    module = importlib.import_module(name)
    monkeypatch.delitem(sys.modules, name)  # the next import reads its data again
    return module


# --------------------------------------------------------------------------------------------------
# airflow_local_settings.py: the pod mutation hook and the DAG policy
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def local_settings(monkeypatch):
    entry = runtime.local_settings_env(DOMAINS, {"airflow-worker": "airflow-worker"}, "/opt/airflow/pod_templates")
    return fresh_import(LOCAL_SETTINGS, monkeypatch, {entry["name"]: entry["value"]})


class AirflowClusterPolicyViolation(Exception):  # noqa: N818 (Airflow's name)
    """Stand-in for airflow.exceptions.AirflowClusterPolicyViolation (Airflow is not installed here)."""


@pytest.fixture
def airflow_exceptions(monkeypatch):
    module = SimpleNamespace(AirflowClusterPolicyViolation=AirflowClusterPolicyViolation)
    monkeypatch.setitem(sys.modules, "airflow", SimpleNamespace(exceptions=module))
    monkeypatch.setitem(sys.modules, "airflow.exceptions", module)


def test_the_chart_gets_the_module_text_and_the_data_comes_from_the_environment(local_settings, inputs):
    from components.airflow.values import chart_values

    values = chart_values(inputs)
    assert values["airflowLocalSettings"] == runtime.LOCAL_SETTINGS_FILE.read_text()
    assert values["apiServer"]["apiServerConfig"] == runtime.WEBSERVER_CONFIG_FILE.read_text()
    expected = runtime.local_settings_env(inputs.domains, inputs.service_accounts, airflow_inputs.POD_TEMPLATES_DIR)
    assert expected in values["env"]
    assert runtime.webserver_config_env(inputs) in values["apiServer"]["env"]
    assert local_settings.DATA_ENV == runtime.data_env(runtime.LOCAL_SETTINGS_FILE) == "AIRFLOW_MESH_LOCAL_SETTINGS"
    assert local_settings.DOMAINS["finance"] == {
        "namespace": "domain-finance",
        "service_account": "finance-tasks",
        "role": "finance",
        "secrets_prefix": "finance",
    }
    assert local_settings.PLATFORM == {"namespace": "airflow", "service_account": "airflow-worker"}
    assert local_settings.DOMAIN_LABEL == DOMAIN_LABEL and DOMAIN_LABEL in local_settings.RESERVED_KEYS


def test_without_its_data_the_module_refuses_to_load(monkeypatch):
    """Fail closed: no hook would run every domain's tasks as the platform worker."""
    monkeypatch.delenv("AIRFLOW_MESH_LOCAL_SETTINGS", raising=False)
    monkeypatch.delitem(sys.modules, LOCAL_SETTINGS, raising=False)
    with pytest.raises(KeyError, match="AIRFLOW_MESH_LOCAL_SETTINGS"):
        importlib.import_module(LOCAL_SETTINGS)


def test_every_label_the_mesh_selects_pods_by_is_reserved(inputs):
    """A pod_override must not set a label a mesh policy, Service or the executor trusts; the list the
    module reads is checked against every selector of the access model (Kuma, Istio, Linkerd and
    Consul policies are generated from it)."""
    from components import access_model

    model = access_model.build(stacks.settings_for("dev"))
    data = runtime.local_settings_data(inputs.domains, inputs.service_accounts)
    selector_keys = {k for w in model.workloads.values() for k in w.selector}
    unprefixed = {k for k in selector_keys if "/" not in k}
    assert unprefixed <= set(data["reserved_keys"]), unprefixed - set(data["reserved_keys"])


@pytest.mark.parametrize(
    ("dag_id", "domain"),
    [
        ("marketing_daily", "marketing"),
        ("finance_close", "finance"),
        ("finance", None),  # the bare name is not the prefix
        ("financeteam_x", None),
        ("platform_cleanup", None),
    ],
)
def test_a_dag_id_names_a_domain_only_by_its_prefix(local_settings, dag_id, domain):
    assert local_settings.domain_of_dag(dag_id) == domain


def test_connection_and_variable_keys_belong_to_a_domain_by_its_secrets_prefix(local_settings):
    assert local_settings.domain_of_key("marketing/warehouse") == "marketing"
    assert local_settings.domain_of_key("finance/ledger") == "finance"
    assert local_settings.domain_of_key("financeledger") is None
    assert local_settings.domain_of_key("aws_irsa") is None


def test_the_folder_is_taken_after_resolving_symlinks_and_dot_dot(local_settings, airflow_exceptions, tmp_path):
    """The folder decides identity, so a path that reads as one folder and resolves into another, or
    out of the DAG folder, is refused (the DagBag opens the resolved file)."""
    root = tmp_path / "dags"
    for folder in ("marketing", "finance", "shared"):
        (root / folder).mkdir(parents=True)
    (root / "finance" / "close.py").write_text("")
    (root / "marketing" / "daily.py").write_text("")
    (root / "marketing" / "borrowed.py").symlink_to(root / "finance" / "close.py")
    (root / "marketing" / "finance_dir").symlink_to(root / "finance")
    (root / "marketing" / "outside.py").symlink_to(tmp_path / "elsewhere.py")
    (tmp_path / "elsewhere.py").write_text("")
    folder = local_settings.folder_domain
    assert folder(str(root / "marketing" / "daily.py"), str(root)) == "marketing"
    assert folder(str(root / "finance" / "close.py"), str(root)) == "finance"
    assert folder(str(root / "top.py"), str(root)) is None
    for bad in (
        root / "marketing" / "borrowed.py",
        root / "marketing" / "finance_dir" / "close.py",
        root / "marketing" / "outside.py",
        root / "marketing" / ".." / ".." / "elsewhere.py",
    ):
        with pytest.raises(AirflowClusterPolicyViolation):
            folder(str(bad), str(root))


# --------------------------------------------------------------------------------------------------
# webserver_config.py: the FAB auth manager config
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


@pytest.fixture
def webserver_config(inputs, monkeypatch):
    """The real module against stand-ins for FAB (the real ones need a running Airflow)."""
    override = types.ModuleType("override")
    override.FabAirflowSecurityManagerOverride = _FakeBase
    manager = types.ModuleType("manager")
    manager.AUTH_OAUTH = 4
    monkeypatch.setitem(sys.modules, "airflow.providers.fab.auth_manager.security_manager.override", override)
    monkeypatch.setitem(sys.modules, "flask_appbuilder.security.manager", manager)
    stand_ins = {
        "flask": {"after_this_request": None, "redirect": None, "request": None, "session": {}},
        "flask_appbuilder": {"expose": lambda _path: lambda view: view},
        "flask_appbuilder.security.views": {"AuthOAuthView": object},
        "flask_login": {"current_user": None, "logout_user": None},
        "werkzeug.wrappers": {"Response": object},
    }
    for name, attributes in stand_ins.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        monkeypatch.setitem(sys.modules, name, module)
    entry = runtime.webserver_config_env(inputs)
    return fresh_import(
        WEBSERVER_CONFIG,
        monkeypatch,
        {entry["name"]: entry["value"], airflow_inputs.OIDC_SECRET_ENV: "from-the-secret"},
    )


def test_oidc_login_maps_groups_to_roles_and_gives_the_unmapped_nothing(webserver_config, inputs):
    config = webserver_config
    assert config.AUTH_TYPE == 4 and config.AUTH_ROLES_SYNC_AT_LOGIN is True
    assert config.AUTH_USER_REGISTRATION_ROLE == "Public"
    assert config.AUTH_ROLES_MAPPING == {
        "data-platform-admins": ["Admin"],
        "data-engineers": ["Op"],
        "data-analysts": ["Viewer"],
        "data-marketing": ["marketing"],
        "data-finance": ["finance"],
    }
    (provider,) = config.OAUTH_PROVIDERS
    app = provider["remote_app"]
    assert app["client_secret"] == "from-the-secret", "read from the environment at start, not written down"
    assert app["server_metadata_url"] == "https://example.okta.com/oauth2/default/.well-known/openid-configuration"
    written = runtime.webserver_config_source() + json.dumps(runtime.webserver_config_data(inputs))
    assert "from-the-secret" not in written
    manager = config.SECURITY_MANAGER_CLASS
    info = manager.get_oauth_user_info(
        None, "oidc", {"userinfo": {"sub": "00u1", "email": "ana@example.com", "groups": ["data-marketing"]}}
    )
    assert info["role_keys"] == ["data-marketing"] and info["username"] == "ana@example.com"
    assert manager.get_oauth_user_info(None, "oidc", {"userinfo": {"sub": "00u2"}})["role_keys"] == []


def test_domain_roles_are_created_with_no_access_to_all_dags(webserver_config):
    roles = {c["role"]: c["perms"] for c in webserver_config.SECURITY_MANAGER_CLASS.ROLE_CONFIGS}
    assert {"Viewer", "marketing", "finance"} <= set(roles)
    domain = set(roles["marketing"])
    assert ("menu_access", "DAGs") in domain and ("can_read", "Website") in domain
    assert not {("can_read", "DAGs"), ("can_edit", "DAGs"), ("can_read", "ImportError")} & domain


def test_runtime_data_is_in_the_env_of_exactly_the_containers_that_load_the_files(plans):
    """The chart mounts airflow_local_settings.py wherever it mounts airflow.cfg and adds the global
    ``env`` to the same containers (chart 1.19.0 ``_helpers.yaml``: ``airflow_config_mount``,
    ``custom_airflow_environment``); webserver_config.py only into the api-server."""
    for plan in plans.values():
        values = schemas.releases(plan)["airflow"]["inputs"]["values"]
        names = [e["name"] for e in values["env"]]
        assert names.count("AIRFLOW_MESH_LOCAL_SETTINGS") == 1 and "AIRFLOW_MESH_WEBSERVER_CONFIG" not in names
        api = [e["name"] for e in values["apiServer"]["env"]]
        assert api.count("AIRFLOW_MESH_WEBSERVER_CONFIG") == 1
        pod = json.loads(values["podTemplate"]) if "podTemplate" in values else {"spec": {"containers": []}}
        assert "AIRFLOW_MESH" not in json.dumps(pod), "task pods do not load the files"


def test_runtime_modules_import_nothing_of_the_project():
    """Inside the Airflow image there is no ``components`` package: the files must stand alone."""
    for path in (runtime.LOCAL_SETTINGS_FILE, runtime.WEBSERVER_CONFIG_FILE, runtime.EXECUTION_SCOPE_FILE):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(n.split(".")[0] in {"components", "plan", "policy"} for n in names), path.name


def test_logout_goes_through_oauth2_proxy_to_the_idp_with_the_id_token(webserver_config):
    """The IdP's logout is oauth2-proxy's ``rd``, encoded once; ``{id_token}`` survives the encoding for
    oauth2-proxy to fill in, and the IdP sends the browser back to Airflow's front page."""
    from urllib.parse import parse_qs, urlsplit

    config = webserver_config
    url = config.sign_out_url("https://example.okta.com/oauth2/default/v1/logout")
    assert url.startswith("/oauth2/sign_out?rd=")
    (rd,) = parse_qs(urlsplit(url).query)["rd"]
    idp = urlsplit(rd)
    assert (idp.hostname, idp.path) == ("example.okta.com", "/oauth2/default/v1/logout")
    assert parse_qs(idp.query)["post_logout_redirect_uri"] == ["https://airflow.dev.data.example.com/"]
    assert "id_token_hint={id_token}" in rd
    # no end-session endpoint: Airflow and oauth2-proxy still end theirs, and the browser comes home
    assert parse_qs(urlsplit(config.sign_out_url("")).query)["rd"] == ["https://airflow.dev.data.example.com/"]


def test_discovered_logout_endpoint_is_used_only_on_the_allowed_host(webserver_config):
    class Remote:
        def __init__(self, metadata):
            self.metadata = metadata

        def load_server_metadata(self):
            if isinstance(self.metadata, Exception):
                raise self.metadata
            return self.metadata

    end = webserver_config.end_session_endpoint
    okta = "https://example.okta.com/oauth2/default/v1/logout"
    assert end(Remote({"end_session_endpoint": okta})) == okta
    assert end(Remote({"end_session_endpoint": "https://elsewhere.example.net/logout"})) == ""
    assert end(Remote({})) == ""  # an IdP without RP-initiated logout (Google)
    assert end(Remote(OSError("IdP down"))) == ""
