"""The api-server's ``webserver_config.py`` in a real FAB app, and OIDC logins through FAB's OAuth callback.

``create_app(enable_plugins=False)`` is what ``FabAuthManager.get_fastapi_app`` runs in the
api-server (providers/fab/auth_manager/fab_auth_manager.py); it reads ``[fab] config_file``
(``$AIRFLOW_HOME/webserver_config.py``), builds the configured ``SECURITY_MANAGER_CLASS`` and syncs
roles (``_sync_appbuilder_roles``). A login is a GET of FAB's own callback view
(flask_appbuilder/security/views.py ``AuthOAuthView.oauth_authorized``) with only the token
exchange with the IdP replaced: ``authorize_access_token`` returns what authlib returns for an
OpenID Connect code flow, the ID token's claims under ``userinfo``. Everything after that (the
security manager's ``oauth_user_info``, ``auth_user_oauth``, ``AUTH_ROLES_MAPPING``, registration,
role sync at login) is FAB's and the generated config's code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
from airflow.providers_manager import ProvidersManager

from tests_airflow.probe_io import guarded

_STATE_KEY = "probe-oauth-state-key"
#: The app ``check`` built, reused by ``dag_access`` (one FAB app per probe process).
_APP: list[Any] = []


def _logins(meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Login cases: name -> ID-token claims (the groups claim named by the stack's settings)."""
    claim = meta["groups_claim"]
    mapped = meta["role_mappings"]
    admin_group = next(g for g, role in mapped if role == "Admin")
    cases: dict[str, dict[str, Any]] = {
        "admin_group": {claim: [admin_group]},
        "admin_group_as_string": {claim: admin_group},
        "unmapped_group": {claim: ["probe-group-nobody-maps"]},
        "no_groups_claim": {},
    }
    if meta["domains"]:
        cases["domain_group"] = {claim: [meta["domains"][0]["oidc_groups"][0]]}
    return {
        name: {"sub": f"sub-{name}", "preferred_username": f"probe-{name}", "email": f"{name}@example.com", **extra}
        for name, extra in cases.items()
    }


def _login(app: Any, provider: str, claims: dict[str, Any]) -> dict[str, Any]:
    sm = app.appbuilder.sm
    remote = sm.oauth_remotes[provider]
    remote.authorize_access_token = lambda **_: {"access_token": "probe", "token_type": "Bearer", "userinfo": claims}
    endpoint = next(r for r in app.url_map.iter_rules() if r.endpoint.endswith(".oauth_authorized"))
    url = endpoint.rule.replace("<provider>", provider)
    state = jwt.encode({"next": []}, _STATE_KEY, algorithm="HS256")
    with app.test_client() as client:
        with client.session_transaction() as session:
            session["oauth_state"] = _STATE_KEY
        response = client.get(url, query_string={"state": state})
    with app.app_context():
        user = sm.find_user(username=claims["preferred_username"])
        roles = sorted(r.name for r in user.roles) if user else None
    return {"status": response.status_code, "location": response.headers.get("Location"), "roles": roles}


def check(meta: dict[str, Any]) -> dict[str, Any]:
    """The app's security manager, every role with its permissions, and the outcome of each login."""
    ProvidersManager().initialize_providers_configuration()
    from airflow.providers.fab.www.app import create_app

    app = create_app(enable_plugins=False)
    _APP.append(app)
    sm = app.appbuilder.sm
    with app.app_context():
        providers = list(sm.oauth_remotes)
        roles = {
            role.name: sorted([p.action.name, p.resource.name] for p in role.permissions) for role in sm.get_all_roles()
        }
        facts: dict[str, Any] = {
            "security_manager": type(sm).__name__,
            "auth_type": sm.auth_type,
            "providers": providers,
            "registration_role": sm.auth_user_registration_role,
            "roles_sync_at_login": sm.auth_roles_sync_at_login,
            "roles": roles,
        }
    cases = _logins(meta)
    # One fact per login (probe_io.guarded): a login that raises hides neither the others nor the roles.
    logins = {name: guarded(lambda c=claims: _login(app, providers[0], c)) for name, claims in cases.items()}
    # The same person again, now in no mapped group: AUTH_ROLES_SYNC_AT_LOGIN must take Admin away.
    demoted = {**cases["admin_group"], meta["groups_claim"]: []}
    logins["admin_group_then_removed"] = guarded(lambda: _login(app, providers[0], demoted))
    facts["logins"] = logins
    return facts


def _global_writes(manager: Any, user: Any) -> dict[str, bool]:
    """Writes that are checked against no DAG at all (auth manager ``is_authorized_*``). The asset ones
    start DAG runs: ``POST /assets/{id}/materialize`` triggers the asset's producing DAG and
    ``POST /assets/events`` the DAGs scheduled on it, both guarded by ``requires_access_asset("POST")``
    only (api_fastapi/core_api/routes/public/assets.py)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import (
        AssetDetails,
        ConnectionDetails,
        PoolDetails,
        VariableDetails,
    )

    return {
        "asset_event_or_materialize": manager.is_authorized_asset(
            method="POST", details=AssetDetails(id="1"), user=user
        ),
        "connection_create": manager.is_authorized_connection(
            method="POST", details=ConnectionDetails(conn_id="probe"), user=user
        ),
        "pool_create": manager.is_authorized_pool(method="POST", details=PoolDetails(name="probe"), user=user),
        "variable_create": manager.is_authorized_variable(
            method="POST", details=VariableDetails(key="probe"), user=user
        ),
    }


def dag_access(meta: dict[str, Any], dags_root: Path) -> dict[str, Any]:
    """Which sample DAGs (``probe_runtime.sample_dags``, accepted by the policy) each logged-in user may
    read, as the FAB auth manager decides it (fab_auth_manager.py ``is_authorized_dag``) once the
    DAGs' permissions are synced the way the dag-processor syncs them (dag_processing/collection.py
    ``_sync_dag_perms``: ``sync_perm_for_dag(dag_id, dag.access_control)``)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
    from airflow.models.dagbag import BundleDagBag

    app = _APP[0]
    sm = app.appbuilder.sm
    bag = BundleDagBag(dag_folder=str(dags_root), bundle_path=dags_root, load_op_links=False)
    manager = get_auth_manager()
    with app.app_context():
        for dag_id, dag in bag.dags.items():
            sm.sync_perm_for_dag(dag_id, dag.access_control)
        readable: dict[str, list[str]] = {}
        global_writes: dict[str, list[str]] = {}
        # admin_group's user was demoted by the last login case; admin_group_as_string's is still Admin.
        for case in ("admin_group_as_string", "domain_group", "unmapped_group"):
            user = sm.find_user(username=f"probe-{case}")
            if user is None:
                continue
            readable[case] = sorted(
                d for d in bag.dag_ids if manager.is_authorized_dag(method="GET", details=DagDetails(id=d), user=user)
            )
            global_writes[case] = sorted(name for name, allowed in _global_writes(manager, user).items() if allowed)
    return {
        "global_writes": global_writes,
        "access_control": {d: dag.access_control for d, dag in bag.dags.items()},
        "readable": readable,
        "domain_role": meta["domains"][0]["airflow_role"] if meta["domains"] else None,
    }


def logout(meta: dict[str, Any]) -> dict[str, Any]:
    """FAB's logout view of the app ``check`` built (webserver_config.py ``AirflowMeshAuthOAuthView``),
    after a real login through FAB's OAuth callback, for three discovery documents of the issuer: one
    with an ``end_session_endpoint`` on the issuer's host, one with it elsewhere, one without (the
    document is what authlib caches: ``load_server_metadata`` skips the fetch when ``_loaded_at`` is set)."""
    import time

    app = _APP[0]
    sm = app.appbuilder.sm
    provider = next(iter(sm.oauth_remotes))
    remote = sm.oauth_remotes[provider]
    issuer = meta["oidc_issuer_url"].rstrip("/")
    documents = {
        "discovered": {"end_session_endpoint": f"{issuer}/v1/logout"},
        "foreign_host": {"end_session_endpoint": "https://idp.elsewhere.example/logout"},
        "none": {},
    }
    admin_group = next(g for g, role in meta["role_mappings"] if role == "Admin")
    claims = {
        "sub": "sub-logout",
        "preferred_username": "probe-logout",
        "email": "logout@example.com",
        meta["groups_claim"]: [admin_group],
    }
    remote.authorize_access_token = lambda **_: {"access_token": "probe", "token_type": "Bearer", "userinfo": claims}
    callback = next(r for r in app.url_map.iter_rules() if r.endpoint.endswith(".oauth_authorized"))
    logout_rule = next(r for r in app.url_map.iter_rules() if r.endpoint.endswith(".logout"))
    out: dict[str, Any] = {"rule": logout_rule.rule, "view": app.view_functions[logout_rule.endpoint].__qualname__}
    for case, document in documents.items():
        remote.server_metadata.clear()
        remote.server_metadata.update({**document, "_loaded_at": time.time()})
        with app.test_client() as client:
            with client.session_transaction() as session:
                session["oauth_state"] = _STATE_KEY
            state = jwt.encode({"next": []}, _STATE_KEY, algorithm="HS256")
            client.get(callback.rule.replace("<provider>", provider), query_string={"state": state})
            client.set_cookie("_token", "airflow-jwt")
            before = client.get("/users/userinfo/").status_code
            response = client.get(logout_rule.rule)
            after = client.get("/users/userinfo/")
            out[case] = {
                "userinfo_before": before,
                "status": response.status_code,
                "location": response.headers.get("Location"),
                "set_cookie": response.headers.getlist("Set-Cookie"),
                "userinfo_after": after.status_code,
                "userinfo_after_location": after.headers.get("Location"),
            }
    return out
