"""``webserver_config.py`` of airflow-mesh: the FAB auth manager's Flask config of the api-server.

OIDC login, IdP group -> Airflow role mapping, and the data domains' roles. The chart mounts this
file's text (the ``apiServer.apiServerConfig`` value) into the api-server only.

The stack's data is not in this file: it is the JSON object in the environment variable
:data:`DATA_ENV`, set in the api-server's ``env``::

    {"provider": "<FAB provider name>", "client_id": "...", "secret_env": "<env var of the secret>",
     "metadata_url": "<issuer>/.well-known/openid-configuration", "scopes": "openid email profile",
     "groups_claim": "groups", "roles_mapping": {"<IdP group>": ["<role>", ...]},
     "domain_roles": ["<role>", ...],
     "logout": {"sign_out_path": "/oauth2/sign_out", "end_session_endpoint": "<https URL or empty>",
                "idp_host": "<host oauth2-proxy may redirect to>", "post_logout_redirect_uri": "https://<host>/"}}

The OIDC client secret itself is read from the environment variable it names (a Secret reference),
never written down. Without the data the import fails and the api-server does not start.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride
from flask import after_this_request, redirect, request, session
from flask_appbuilder import expose
from flask_appbuilder.security.manager import AUTH_OAUTH
from flask_appbuilder.security.views import AuthOAuthView
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

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
# FAB's session lasts as long as oauth2-proxy's (cookie_expire 12h), never longer; its cookie is Secure
# (FAB sets it only with [fab] cookie_secure: providers/fab/www/app.py) and the browser sends it only
# over the TLS edge. The api-server's EdgeSession middleware (runtime/auth_manager.py) adds Secure to
# any other cookie too.
PERMANENT_SESSION_LIFETIME = 43200
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_SAMESITE = "Lax"

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


LOGOUT: dict[str, str] = _DATA["logout"]
#: Airflow's own JWT cookie (airflow/api_fastapi/auth/managers/base_auth_manager.py COOKIE_NAME_JWT_TOKEN).
AIRFLOW_TOKEN_COOKIE = "_token"
#: oauth2-proxy replaces this in the ``rd`` of ``/oauth2/sign_out`` with the session's ID token
#: (oauthproxy.go ``SignOut``, ``idTokenPlaceholder``): most IdPs honour post_logout_redirect_uri only
#: with an id_token_hint, and only oauth2-proxy holds the ID token the browser signed in with.
ID_TOKEN_PLACEHOLDER = "{id_token}"
_log = logging.getLogger(__name__)


def end_session_url(endpoint: str) -> str:
    """The IdP's logout URL: back to Airflow afterwards, the client and the ID token named."""
    query = urlencode({"client_id": _DATA["client_id"], "post_logout_redirect_uri": LOGOUT["post_logout_redirect_uri"]})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}&id_token_hint={ID_TOKEN_PLACEHOLDER}"


def sign_out_url(endpoint: str) -> str:
    """``/oauth2/sign_out?rd=...``: oauth2-proxy clears its cookies, then sends the browser to the IdP's
    logout (``endpoint``), or straight back to Airflow when the IdP has none."""
    target = end_session_url(endpoint) if endpoint else LOGOUT["post_logout_redirect_uri"]
    return f"{LOGOUT['sign_out_path']}?rd={quote(target, safe='')}"


def end_session_endpoint(remote: Any) -> str:
    """The stack's ``oidcEndSessionEndpoint``, else ``end_session_endpoint`` from the issuer's discovery
    document (authlib fetched and cached it for the login). Empty when there is none, or when it is on a
    host oauth2-proxy does not allow (it would silently redirect to ``/`` instead)."""
    if LOGOUT["end_session_endpoint"]:
        return LOGOUT["end_session_endpoint"]
    try:
        endpoint = remote.load_server_metadata().get("end_session_endpoint") or ""
    except Exception:  # the IdP is down: still end Airflow's and oauth2-proxy's sessions
        _log.exception("OIDC discovery failed; logout cannot end the IdP session")
        return ""
    if endpoint and urlsplit(endpoint).hostname != LOGOUT["idp_host"]:
        _log.error("end_session_endpoint %s is not on %s; set oidcEndSessionEndpoint", endpoint, LOGOUT["idp_host"])
        return ""
    return endpoint


class AirflowMeshAuthOAuthView(AuthOAuthView):
    """FAB's OAuth views with a logout that ends every session: FAB's (database row and cookie),
    Airflow's JWT cookie, oauth2-proxy's and the IdP's. FAB's own only calls ``logout_user``
    (flask_appbuilder/security/views.py ``AuthView.logout``), so the next request signs straight back in."""

    @expose("/logout/")
    def logout(self) -> Response:
        endpoint = end_session_endpoint(self.appbuilder.sm.oauth_remotes[_DATA["provider"]])
        logout_user()
        session.clear()
        response = redirect(sign_out_url(endpoint))
        response.delete_cookie(AIRFLOW_TOKEN_COOKIE, secure=True, httponly=True)
        return response


#: oauth2-proxy's person headers (pass_user_headers), stripped from client requests at the gateway.
EDGE_HEADERS = {"email": "X-Forwarded-Email", "user": "X-Forwarded-User", "preferred": "X-Forwarded-Preferred-Username"}


def _same_person(username: str, email: str, edge: dict[str, str]) -> bool:
    """Twin of runtime/auth_manager.py ``same_person`` (this file cannot import it: it is loaded by
    FAB's ``from_pyfile``, wherever FAB's app is built): the email when FAB has one, else the username."""
    if email and not email.lower().endswith("@email.notfound"):  # FAB's stand-in for no email (auth_user_oauth)
        return email.lower() == edge.get("email", "").lower()
    return username.lower() in {v.lower() for k, v in edge.items() if k in ("user", "preferred")}


def _clear_token(response: Response) -> Response:
    """Clear Airflow's JWT cookie of the refused person, unless this response sets a new one (a login)."""
    if not any(c.startswith(f"{AIRFLOW_TOKEN_COOKIE}=") for c in response.headers.getlist("Set-Cookie")):
        response.delete_cookie(AIRFLOW_TOKEN_COOKIE, secure=True, httponly=True, samesite="Lax")
    return response


class AirflowMeshSecurityManager(FabAirflowSecurityManagerOverride):
    """Domain roles are created and their permissions re-applied at every start (sync_roles); logout
    ends every session (:class:`AirflowMeshAuthOAuthView`); a FAB session is the edge person's only."""

    authoauthview = AirflowMeshAuthOAuthView

    @staticmethod
    def before_request() -> None:
        """FAB's per-request hook (init_appbuilder.py registers ``sm.before_request``; the base sets
        ``g.user``), first signing out a FAB session whose user is not the person oauth2-proxy
        authenticated on this request: oauth2-proxy's session can end or change hands (expiry, another
        person on a shared browser) while FAB's cookie lives on. The request goes on anonymous (FAB
        sends it to the login, which signs in the edge's person; the OAuth state stays in the session)."""
        edge = {k: v.strip() for k, name in EDGE_HEADERS.items() if (v := request.headers.get(name, "")).strip()}
        if (
            edge
            and current_user.is_authenticated
            and not _same_person(current_user.username, current_user.email or "", edge)
        ):
            _log.warning("signed out the FAB session of %s: the edge's person is %s", current_user.username, edge)
            logout_user()
            after_this_request(_clear_token)
        _BASE.before_request()

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
        whose IdP lets them pick that name would sign in as the machine and hold its roles. The user's email
        follows the IdP's at every login (FAB keeps the first one), as the edge binding compares it."""
        import logging  # local: this guard stays self-contained

        name = str(userinfo.get("username") or userinfo.get("email") or "")
        if name.lower().endswith(MACHINE_USER_SUFFIX):
            logging.getLogger(__name__).error("refused an OAuth login under the machine username %s", name)
            return None
        user = super().auth_user_oauth(userinfo, rotate_session_id)
        email = str(userinfo.get("email") or "")
        if user and email and user.email != email:
            # FAB keeps the email of the first login (it syncs only roles); the api-server compares it with
            # the edge's person (runtime/auth_manager.py same_person), so a changed email must follow.
            user.email = email
            self.update_user(user)
        return user


SECURITY_MANAGER_CLASS = AirflowMeshSecurityManager
