"""The Python that Airflow itself executes, kept as real modules so linters and tests see it.

- :mod:`.airflow_local_settings`: cluster policies of every Airflow component (where a DAG may act
  for a domain, where its task pods run);
- :mod:`.webserver_config`: the api-server's FAB config (OIDC login, group -> role mapping, domain
  roles);
- :mod:`.execution_scope`: the api-server's plugin that scopes what a task reads and writes through
  the execution API to its own domain (it reads its data through ``airflow_local_settings``).
- :mod:`.auth_manager`: the api-server's auth manager, FAB plus the IdP's machine access tokens on
  the REST API (mounted beside ``airflow_local_settings.py`` in ``$AIRFLOW_HOME/config``).

The chart receives each file's text unchanged (:func:`local_settings_source` as
``airflowLocalSettings``, :func:`webserver_config_source` as ``apiServer.apiServerConfig``; the
functions are not named after the modules, which would shadow them). What differs per stack is
data, not code: the functions here build the JSON each module reads from its ``DATA_ENV``
environment variable, and the values put it in the ``env`` of exactly the containers that load the
file. Nothing here imports the runtime modules (they need Airflow); the variable names are read
from their source.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from components.airflow.inputs import OIDC_PROVIDER, OIDC_SCOPES, OIDC_SECRET_ENV, ChartInputs, DomainSpec
from components.platform import AIRFLOW_NAMESPACE, DOMAIN_LABEL

LOCAL_SETTINGS_FILE = Path(__file__).with_name("airflow_local_settings.py")
WEBSERVER_CONFIG_FILE = Path(__file__).with_name("webserver_config.py")
EXECUTION_SCOPE_FILE = Path(__file__).with_name("execution_scope.py")
AUTH_MANAGER_FILE = Path(__file__).with_name("auth_manager.py")


@cache
def source(path: Path) -> str:
    """The module's text, as the chart receives it."""
    return path.read_text()


@cache
def data_env(path: Path) -> str:
    """The module's ``DATA_ENV = "..."``: the environment variable it reads its data from."""
    for node in ast.parse(source(path)).body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "DATA_ENV" for t in targets) and node.value is not None:
                return ast.literal_eval(node.value)
    raise ValueError(f"{path.name} defines no DATA_ENV")


def _env(path: Path, data: Mapping[str, Any]) -> dict[str, str]:
    return {"name": data_env(path), "value": json.dumps(data, sort_keys=True)}


# --------------------------------------------------------------------------------------------------
# airflow_local_settings.py
# --------------------------------------------------------------------------------------------------


def local_settings_source() -> str:
    """Text of ``airflow_local_settings.py``: the pod mutation hook and the DAG policy."""
    return source(LOCAL_SETTINGS_FILE)


#: Pod label and annotation keys only the platform sets: the KubernetesExecutor's own (it finds and
#: adopts its pods by them: ``pod_generator.py`` ``build_labels_for_k8s_executor_pod``,
#: ``kubernetes_executor_types.py`` ``POD_EXECUTOR_DONE_KEY``) and the unprefixed keys the mesh
#: policies, the chart and telemetry select pods by. Prefixed keys (``kuma.io/...``) are all reserved
#: by the module itself. tests/components/airflow/test_runtime.py checks every access-model selector
#: key is here.
RESERVED_POD_KEYS = (
    "dag_id",
    "task_id",
    "run_id",
    "try_number",
    "map_index",
    "logical_date",
    "execution_date",
    "kubernetes_executor",
    "airflow-worker",
    "airflow_version",
    "airflow_executor_done",
    "airflow_pod_revoked",
    "component",
    "release",
    "tier",
    "app",
    "version",
)


def local_settings_data(
    domains: Sequence[DomainSpec], service_accounts: Mapping[str, str], pod_templates_dir: str | None = None
) -> dict[str, Any]:
    """Its data: each domain's placement, role and secrets prefix, the platform's placement, the
    domain label, the reserved pod keys and where the scheduler finds the domains' pod templates."""
    return {
        "domains": {
            d.name: {
                "namespace": d.namespace,
                "service_account": d.service_account,
                "role": d.airflow_role,
                "secrets_prefix": d.secrets_prefix,
            }
            for d in domains
        },
        "platform": {"namespace": AIRFLOW_NAMESPACE, "service_account": service_accounts["airflow-worker"]},
        "domain_label": DOMAIN_LABEL,
        "reserved_keys": sorted({*RESERVED_POD_KEYS, DOMAIN_LABEL}),
        "pod_templates_dir": pod_templates_dir if domains else None,
    }


def local_settings_env(
    domains: Sequence[DomainSpec], service_accounts: Mapping[str, str], pod_templates_dir: str | None = None
) -> dict[str, str]:
    """The ``env`` entry that carries :func:`local_settings_data` (every Airflow container loads the file)."""
    return _env(LOCAL_SETTINGS_FILE, local_settings_data(domains, service_accounts, pod_templates_dir))


def execution_scope_source() -> str:
    """Text of the api-server plugin ``execution_scope.py`` (mounted as ``inputs.PLUGIN_FILE``)."""
    return source(EXECUTION_SCOPE_FILE)


# --------------------------------------------------------------------------------------------------
# webserver_config.py
# --------------------------------------------------------------------------------------------------


def roles_mapping(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """``AUTH_ROLES_MAPPING``: IdP group -> Airflow roles."""
    out: dict[str, list[str]] = {}
    for group, role in pairs:
        roles = out.setdefault(group, [])
        if role not in roles:
            roles.append(role)
    return out


def webserver_config_source() -> str:
    """Text of the api-server's ``webserver_config.py``."""
    return source(WEBSERVER_CONFIG_FILE)


#: oauth2-proxy's sign-out endpoint (its ``/oauth2`` proxy prefix), on the Airflow host.
SIGN_OUT_PATH = "/oauth2/sign_out"


def logout_data(inputs: ChartInputs) -> dict[str, str]:
    """Where Airflow's logout sends the browser: oauth2-proxy's sign-out, then the IdP's logout (the
    configured one, or the discovered one on ``idp_host``, the host oauth2-proxy may redirect to),
    then back to Airflow's front page (register it at the IdP as a post-logout redirect URI)."""
    return {
        "sign_out_path": SIGN_OUT_PATH,
        "end_session_endpoint": inputs.oidc_end_session_endpoint,
        "idp_host": urlsplit(inputs.oidc_end_session_endpoint or inputs.oidc_issuer_url).hostname or "",
        "post_logout_redirect_uri": f"https://{inputs.hostname}/",
    }


def webserver_config_data(inputs: ChartInputs) -> dict[str, Any]:
    """Its data: the OIDC client (never its secret, only the variable holding it), the role
    mapping, the domain roles and where logout goes (:func:`logout_data`)."""
    issuer = inputs.oidc_issuer_url.rstrip("/")
    return {
        "provider": OIDC_PROVIDER,
        "client_id": inputs.oidc_client_id,
        "secret_env": OIDC_SECRET_ENV,
        "metadata_url": f"{issuer}/.well-known/openid-configuration",
        "scopes": OIDC_SCOPES,
        "groups_claim": inputs.oidc_groups_claim,
        "roles_mapping": roles_mapping(inputs.role_mappings),
        "domain_roles": sorted(d.airflow_role for d in inputs.domains),
        "logout": logout_data(inputs),
    }


def webserver_config_env(inputs: ChartInputs) -> dict[str, str]:
    """The api-server ``env`` entry that carries :func:`webserver_config_data`."""
    return _env(WEBSERVER_CONFIG_FILE, webserver_config_data(inputs))


# --------------------------------------------------------------------------------------------------
# auth_manager.py
# --------------------------------------------------------------------------------------------------


def auth_manager_source() -> str:
    """Text of the api-server's auth manager module (mounted as ``inputs.AUTH_MANAGER_FILE``)."""
    return source(AUTH_MANAGER_FILE)


#: Clock skew tolerated on machine tokens' ``exp``/``iat``, seconds.
MACHINE_TOKEN_LEEWAY_S = 30


def auth_manager_data(inputs: ChartInputs) -> dict[str, Any]:
    """Its data: the machine issuer ("" when no machine client is mapped: every token goes to FAB),
    the accepted audiences and the roles of each client id and scope."""
    clients: dict[str, list[str]] = {}
    scopes: dict[str, list[str]] = {}
    for principal, role in inputs.machine_mappings:
        kind, _, name = principal.partition(":")
        target = clients if kind == "client" else scopes
        target.setdefault(name, [])
        if role not in target[name]:
            target[name].append(role)
    return {
        # Compared with the token's iss as is (go-oidc and PyJWT do the same): no slash is added or removed.
        "issuer": inputs.machine_issuer_url if inputs.machine_mappings else "",
        "audiences": list(inputs.machine_audiences),
        "clients": clients,
        "scopes": scopes,
        "leeway": MACHINE_TOKEN_LEEWAY_S,
    }


def auth_manager_env(inputs: ChartInputs) -> dict[str, str]:
    """The api-server ``env`` entry that carries :func:`auth_manager_data`."""
    return _env(AUTH_MANAGER_FILE, auth_manager_data(inputs))
