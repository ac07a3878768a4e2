"""``webserver_config.py`` of airflow-mesh: the FAB auth manager's Flask config of the api-server.

OIDC login, IdP group -> Airflow role mapping, and the data domains' roles. The chart mounts this
file's text (the ``apiServer.apiServerConfig`` value) into the api-server only.

The stack's data is not in this file: it is the JSON object in the environment variable
:data:`DATA_ENV`, set in the api-server's ``env``::

    {"provider": "<FAB provider name>", "client_id": "...", "secret_env": "<env var of the secret>",
     "metadata_url": "<issuer>/.well-known/openid-configuration", "scopes": "openid email profile",
     "groups_claim": "groups", "roles_mapping": {"<IdP group>": ["<role>", ...]},
     "domain_roles": ["<role>", ...]}

The OIDC client secret itself is read from the environment variable it names (a Secret reference),
never written down. Without the data the import fails and the api-server does not start.
"""

from __future__ import annotations

import json
import os
from typing import Any

from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride
from flask_appbuilder.security.manager import AUTH_OAUTH

#: Environment variable holding the stack's data (see the module docstring).
DATA_ENV = "AIRFLOW_MESH_WEBSERVER_CONFIG"
_DATA: dict[str, Any] = json.loads(os.environ[DATA_ENV])

AUTH_TYPE = AUTH_OAUTH
# Users are created at first login; their roles come only from AUTH_ROLES_MAPPING and are replaced at
# every login. Someone in no mapped group gets "Public", which has no permission at all.
AUTH_USER_REGISTRATION = True
AUTH_USER_REGISTRATION_ROLE = "Public"
AUTH_ROLES_SYNC_AT_LOGIN = True
AUTH_ROLES_MAPPING: dict[str, list[str]] = _DATA["roles_mapping"]
PERMANENT_SESSION_LIFETIME = 43200

OAUTH_PROVIDERS = [
    {
        "name": _DATA["provider"],
        "icon": "fa-openid",
        "token_key": "access_token",
        "remote_app": {
            "client_id": _DATA["client_id"],
            "client_secret": os.environ[_DATA["secret_env"]],
            "server_metadata_url": _DATA["metadata_url"],
            "client_kwargs": {"scope": _DATA["scopes"]},
        },
    }
]

GROUPS_CLAIM: str = _DATA["groups_claim"]
#: Machine clients' FAB usernames end with this (runtime/auth_manager.py ``MACHINE_USER_DOMAIN``).
MACHINE_USER_SUFFIX = "@machine.invalid"
DOMAIN_ROLES: list[str] = _DATA["domain_roles"]
_BASE = FabAirflowSecurityManagerOverride
# A domain role sees no DAG by itself: it gets the Viewer and User permissions minus every all-DAGs
# grant (and minus import errors, which show other domains' code); each DAG of its folder grants it
# access through access_control (airflow_local_settings.dag_policy). It never writes a resource that
# is not DAG-scoped but starts or changes DAG runs: FAB's User role may create asset events, and
# both POST /api/v2/assets/events (runs every DAG scheduled on the asset) and POST
# /api/v2/assets/{id}/materialize (a run of the producing DAG) check only that
# (core_api/routes/public/assets.py: requires_access_asset(method="POST"); issue 13, example 3).
_NEVER_FOR_DOMAINS = {("can_create", "Assets"), ("can_edit", "Assets"), ("can_delete", "Assets")}
_DOMAIN_PERMISSIONS = [
    (action, resource)
    for action, resource in _BASE.VIEWER_PERMISSIONS + _BASE.USER_PERMISSIONS
    if (resource != "DAGs" or action == "menu_access")
    and resource != "ImportError"
    and (action, resource) not in _NEVER_FOR_DOMAINS
]


class AirflowMeshSecurityManager(FabAirflowSecurityManagerOverride):
    """Domain roles are created and their permissions re-applied at every start (sync_roles)."""

    ROLE_CONFIGS = [*_BASE.ROLE_CONFIGS, *({"role": role, "perms": _DOMAIN_PERMISSIONS} for role in DOMAIN_ROLES)]

    def get_oauth_user_info(self, provider: str, resp: dict[str, Any]) -> dict[str, Any]:
        claims = resp.get("userinfo") or {}
        groups = claims.get(GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        return {
            "username": claims.get("preferred_username") or claims.get("email") or claims["sub"],
            "email": claims.get("email", ""),
            "first_name": claims.get("given_name", ""),
            "last_name": claims.get("family_name", ""),
            "role_keys": list(groups),
        }

    def auth_user_oauth(self, userinfo: dict[str, Any], rotate_session_id: bool = True) -> Any:
        """FAB's OAuth login, refused under a machine client's username (``<client id>@machine.invalid``,
        runtime/auth_manager.py): FAB finds the user by username alone (case-insensitively), so a person
        whose IdP lets them pick that name would sign in as the machine and hold its roles."""
        import logging  # local: this guard stays self-contained

        name = str(userinfo.get("username") or userinfo.get("email") or "")
        if name.lower().endswith(MACHINE_USER_SUFFIX):
            logging.getLogger(__name__).error("refused an OAuth login under the machine username %s", name)
            return None
        return super().auth_user_oauth(userinfo, rotate_session_id)


SECURITY_MANAGER_CLASS = AirflowMeshSecurityManager
