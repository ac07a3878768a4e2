"""The api-server's auth manager (components/airflow/runtime/auth_manager.py) reaches exactly the
api-server, from the recorded plan: its module in the plugins ConfigMap, mounted on ``sys.path``,
named by ``[core] auth_manager`` in the api-server's env only, with the stack's machine data."""

from __future__ import annotations

import ast
import json

from components.airflow import inputs, runtime
from plan import journey_machine
from tests import schemas, stacks


def airflow_values(plan) -> dict:
    return schemas.releases(plan)["airflow"]["inputs"]["values"]


def env_of(section: dict) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in section.get("env", [])}


def test_the_class_named_in_the_config_is_the_modules_and_keeps_access_control_sync():
    """Airflow syncs DAG access_control only if ``[core] auth_manager`` contains ``FabAuthManager``
    (airflow 3.1.7 dag_processing/collection.py)."""
    module, cls = inputs.AUTH_MANAGER_CLASS.rsplit(".", 1)
    assert f"{module}.py" == inputs.AUTH_MANAGER_FILE and "FabAuthManager" in cls
    tree = ast.parse(runtime.auth_manager_source())
    assert cls in {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    assert runtime.data_env(runtime.AUTH_MANAGER_FILE) == journey_machine.AUTH_MANAGER_DATA_ENV


def test_only_the_api_server_loads_it_from_the_config_folder(plans):
    for stack, plan in plans.items():
        values = airflow_values(plan)
        api = env_of(values["apiServer"])
        assert api["AIRFLOW__CORE__AUTH_MANAGER"] == inputs.AUTH_MANAGER_CLASS, stack
        # every other container keeps FAB's own class (airflow.cfg): the module is not mounted there
        assert "AIRFLOW__CORE__AUTH_MANAGER" not in env_of(values)
        for section in ("scheduler", "triggerer", "dagProcessor", "workers"):
            assert "AIRFLOW__CORE__AUTH_MANAGER" not in env_of(values.get(section, {})), (stack, section)
        mounts = {m["subPath"]: m["mountPath"] for m in values["apiServer"]["extraVolumeMounts"] if "subPath" in m}
        assert mounts[inputs.AUTH_MANAGER_FILE] == f"{inputs.CONFIG_DIR}/{inputs.AUTH_MANAGER_FILE}"
        (configmap,) = [
            c
            for c in plan.of_type("kubernetes:core/v1:ConfigMap")
            if c["inputs"]["metadata"]["name"] == inputs.PLUGINS_CONFIGMAP
        ]
        assert configmap["inputs"]["data"][inputs.AUTH_MANAGER_FILE] == runtime.auth_manager_source()


def test_the_machine_data_is_the_stacks_mapping(plans):
    dev = json.loads(env_of(airflow_values(plans["dev"])["apiServer"])[journey_machine.AUTH_MANAGER_DATA_ENV])
    assert dev == {
        "issuer": stacks.settings_for("dev").oidc_issuer_url,
        "audiences": ["api://airflow"],
        "clients": {"0oa-ci-deployer": ["Op"]},
        "scopes": {"airflow.read": ["Viewer"]},
        "leeway": runtime.MACHINE_TOKEN_LEEWAY_S,
    }
    prod = json.loads(env_of(airflow_values(plans["prod"])["apiServer"])[journey_machine.AUTH_MANAGER_DATA_ENV])
    assert prod["issuer"] == "" and prod["clients"] == {} and prod["scopes"] == {}


def _constant(source: str, name: str) -> str:
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return ast.literal_eval(node.value)
    raise LookupError(name)


def test_the_login_guard_refuses_exactly_the_machine_usernames():
    """webserver_config.py refuses people's logins under the names the auth manager gives machines."""
    domain = _constant(runtime.auth_manager_source(), "MACHINE_USER_DOMAIN")
    assert _constant(runtime.webserver_config_source(), "MACHINE_USER_SUFFIX") == f"@{domain}"
