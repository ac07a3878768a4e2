"""A person's session at the edge, read back from the recorded plan: does the largest session the stack
accepts pass NGINX (issue 14, journey 3), and does Logout end every session (journey 4)?

Session: the oauth2-proxy store (its chart values), the ``Cookie`` line the browser sends back against
NGINX's header line limit, and the callback's response headers against the ProxySettingsPolicy's
``proxy_buffer_size`` (sizes: components/settings/session_size.py, from oauth2-proxy's encoding).

Logout: Airflow's Logout button (``/api/v2/auth/logout``) -> the HTTPRoute's redirect to FAB's logout
-> webserver_config.py's logout view -> oauth2-proxy's ``/oauth2/sign_out`` whose ``rd`` must pass its
redirect check (a port of pkg/app/redirect/validator.go ``IsValidRedirect`` and pkg/util/util.go
``IsEndpointAllowed``: an ``rd`` it refuses silently becomes ``/`` and the IdP session survives) ->
the IdP's logout -> back to Airflow.

Binding: whose session Airflow serves once a person is in. The gateway removes client copies of the
person headers, oauth2-proxy sets them (``pass_user_headers``), the api-server refuses an Airflow
session of another person (its plugin registers ``EdgeSession``; FAB's ``before_request``), and no
Airflow session outlives oauth2-proxy's ``cookie_expire``.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from components.airflow.inputs import PLUGIN_FILE, PLUGINS_CONFIGMAP
from components.edge import routes
from components.edge.oauth2_proxy import COOKIE_NAME
from components.settings import session_rules, session_size
from plan import harness
from plan.hops import Hop
from plan.journey_timeouts import _release_values, oauth2_proxy_options, seconds

#: validator.go ``invalidRedirectRegex``: a relative path that browsers would take as another host.
_INVALID_REDIRECT = re.compile(r"[/\\](?:[\s\v]*|\.{1,2})[/\\]")
WEBSERVER_CONFIG_ENV = "AIRFLOW_MESH_WEBSERVER_CONFIG"


def is_valid_redirect(redirect: str, allowed_domains: list[str]) -> bool:
    """oauth2-proxy's decision on an ``rd``: a safe relative path, or an http(s) URL on an allowed host
    (exact, ``.domain`` / ``*.domain`` suffix) with the allowed port (none: only default ports)."""
    if redirect.startswith("/"):
        return not redirect.startswith("//") and not _INVALID_REDIRECT.search(redirect)
    if not redirect.startswith(("http://", "https://")):
        return False
    url = urlsplit(redirect)
    for allowed in allowed_domains:
        host, _, port = allowed.partition(":")
        exact = url.hostname in (host.removeprefix("."), host.removeprefix("*."))
        suffix = (host.startswith(".") and (url.hostname or "").endswith(host)) or (
            host.startswith("*.") and (url.hostname or "").endswith(host[1:])
        )
        if (exact or suffix) and (port == "*" or port == str(url.port or "")):
            return True
    return False


def _policy(plan: harness.Plan) -> dict[str, Any]:
    (policy,) = [r for r in plan.resources if r["type"].endswith(":ProxySettingsPolicy")]
    return policy["inputs"]


def login_session(plan: harness.Plan, settings: Any) -> list[Hop]:
    """The largest accepted session (the settings) through the recorded store and NGINX buffers."""
    shape = session_rules.session_shape(settings)
    storage = _release_values(plan, "oauth2-proxy").get("sessionStorage", {}).get("type", "cookie")
    wire = session_size.session(shape, storage, COOKIE_NAME)
    what = f"{shape.groups} groups x {shape.group_name_bytes} B, tokens {shape.token_bytes} B"
    room = session_size.cookie_room()
    policy = _policy(plan)
    buffering = policy["spec"].get("buffering", {})
    size = routes.nginx_size(buffering.get("bufferSize", str(session_size.NGINX_DEFAULT_PROXY_BUFFER_BYTES)))
    need = wire.response_headers()
    problems = routes.buffering_problems(buffering)
    name = f"ProxySettingsPolicy {policy['metadata']['name']}"
    return [
        Hop(
            "oauth2-proxy",
            f"session store {storage}: {len(wire.cookies)} cookie(s)",
            True,
            "chart sessionStorage",
            what,
        ),
        Hop(
            "gateway",
            f"Cookie line {wire.cookie_header} B <= {room} B",
            wire.cookie_header <= room,
            "NGINX large_client_header_buffers 8k (default; NGF exposes no setting)",
            f"{session_size.OTHER_COOKIES_BYTES} B kept for Airflow's own cookies",
        ),
        Hop(
            "gateway",
            f"callback or sign-out headers {need} B <= proxy_buffer_size {size} B",
            need <= size and not problems,
            f"{name} buffering",
            "; ".join(problems) or "nginx/nginx-gateway-fabric#4050",
        ),
    ]


def _webserver_data(plan: harness.Plan) -> dict[str, Any]:
    env = _release_values(plan, "airflow")["apiServer"]["env"]
    (entry,) = [e for e in env if e["name"] == WEBSERVER_CONFIG_ENV]
    return json.loads(entry["value"])


def person_logout(plan: harness.Plan) -> list[Hop]:
    """Airflow's Logout, hop by hop, to the IdP's logout and back (see the module docstring)."""
    route = _route(plan)
    route_name = route["inputs"]["metadata"]["name"]
    redirects = {
        match["path"]["value"]: f["requestRedirect"]["path"]["replaceFullPath"]
        for rule in route["inputs"]["spec"]["rules"]
        for match in rule.get("matches", [])
        for f in rule.get("filters", [])
        if f["type"] == "RequestRedirect" and "path" in f["requestRedirect"]
    }
    to_fab = redirects.get(routes.UI_LOGOUT_PATH)
    bypass = [p for p in routes.LOGOUT_PATHS if redirects.get(p) != routes.FAB_LOGOUT_PATH]
    config = _release_values(plan, "airflow")["apiServer"]["apiServerConfig"]
    ours = "authoauthview = AirflowMeshAuthOAuthView" in config
    logout = _webserver_data(plan).get("logout", {})
    endpoint = logout.get("end_session_endpoint") or f"https://{logout.get('idp_host', '')}/<discovered logout>"
    allowed = oauth2_proxy_options(plan).get("whitelist_domains", [])
    idp_ok = is_valid_redirect(endpoint, allowed)
    home = logout.get("post_logout_redirect_uri", "")
    return [
        Hop(
            "gateway",
            f"{routes.UI_LOGOUT_PATH} -> {to_fab}",
            not bypass,
            f"HTTPRoute {route_name} (RequestRedirect)",
            f"not redirected: {', '.join(bypass)} (FastAPI /auth/logout only deletes Airflow's cookies)"
            if bypass
            else "",
        ),
        Hop(
            "airflow",
            f"{routes.FAB_LOGOUT_PATH} ends FAB's session and _token",
            ours,
            "webserver_config.py AirflowMeshAuthOAuthView.logout",
            f"then {logout.get('sign_out_path')}?rd=<IdP logout>",
        ),
        Hop(
            "oauth2-proxy",
            f"sign_out clears {COOKIE_NAME}*, rd -> {urlsplit(endpoint).hostname}",
            idp_ok,
            "oauth2-proxy whitelist_domains",
            ", ".join(allowed) if idp_ok else "refused rd becomes / and the IdP session survives",
        ),
        Hop(
            "idp",
            f"end_session_endpoint -> {home}",
            bool(home) and is_valid_redirect(home, allowed),
            "oidcEndSessionEndpoint" if logout.get("end_session_endpoint") else "issuer discovery",
            "register it at the IdP as a post-logout redirect URI",
        ),
    ]


def session_binding(plan: harness.Plan) -> list[Hop]:
    """Whose session Airflow serves: the edge's person on every request (see the module docstring)."""
    route = _route(plan)
    removed = {
        h.lower()
        for rule in route["inputs"]["spec"]["rules"]
        if "backendRefs" in rule
        for f in rule.get("filters", [])
        if f["type"] == "RequestHeaderModifier"
        for h in f["requestHeaderModifier"].get("remove", [])
    }
    person = ("x-forwarded-email", "x-forwarded-user", "x-forwarded-preferred-username")
    forged = [h for h in person if h not in removed]
    options = oauth2_proxy_options(plan)
    plugins = [
        r["inputs"]["data"]
        for r in plan.resources
        if r["type"].endswith(":ConfigMap") and r["inputs"]["metadata"]["name"] == PLUGINS_CONFIGMAP
    ]
    registered = bool(plugins) and "EdgeSession" in plugins[0].get(PLUGIN_FILE, "")
    values = _release_values(plan, "airflow")
    fab_hook = "def before_request" in values["apiServer"]["apiServerConfig"]
    edge_s = seconds(options.get("cookie_expire", "168h"))
    config = values.get("config", {})
    jwt_s = int(config.get("api_auth", {}).get("jwt_expiration_time", 86400))
    fab_s = int(config.get("fab", {}).get("session_lifetime_minutes", 43200)) * 60
    return [
        Hop(
            "gateway",
            "client copies of the person headers removed",
            not forged,
            f"HTTPRoute {route['inputs']['metadata']['name']} (RequestHeaderModifier)",
            f"forgeable: {', '.join(forged)}" if forged else "",
        ),
        Hop(
            "oauth2-proxy",
            "X-Forwarded-Email/-User name the person of this request",
            options.get("pass_user_headers") is True,
            "oauth2-proxy pass_user_headers",
        ),
        Hop(
            "airflow",
            "_token and FAB session of another person refused and cleared",
            registered and fab_hook,
            f"ConfigMap {PLUGINS_CONFIGMAP} ({PLUGIN_FILE}: EdgeSession), webserver_config.py before_request",
            "" if registered and fab_hook else "the next person acts as the previous one until the JWT expires",
        ),
        Hop(
            "airflow",
            f"_token {jwt_s} s and FAB session {fab_s} s <= oauth2-proxy cookie_expire {edge_s:.0f} s",
            jwt_s <= edge_s and fab_s <= edge_s,
            "[api_auth] jwt_expiration_time, [fab] session_lifetime_minutes",
        ),
    ]


def _route(plan: harness.Plan) -> dict[str, Any]:
    (route,) = [r for r in plan.resources if r["type"].endswith(":HTTPRoute") and r["name"].endswith("-route")]
    return route
