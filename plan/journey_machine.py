"""The machine API call (issue 14, journey 5), hop by hop from the recorded objects.

``python -m plan explain --from client:<client id> --to /api/v2/dags`` (or ``--from scope:<scope>``):
a CI job sends ``Authorization: Bearer <IdP access token>``. The token is assumed to be what the
stack accepts (the machine issuer, an accepted audience, valid signature and time); each hop says
whether the *recorded* configuration lets such a token of that client through, and which object
decides:

- the gateway: the HTTPS route must keep ``Authorization`` (it removes forged identity headers);
- oauth2-proxy (its config file in the Helm values): bearer tokens verified at all
  (``skip_jwt_bearer_tokens``), the audience accepted (the client id, ``oidc_extra_audiences`` or an
  ``extra_jwt_issuers`` entry), the token's subject passing ``email_domains`` or the authenticated
  emails file, its groups passing ``allowed_groups``. oauth2-proxy v7.15.3 gives a token without
  email its ``sub`` as email and checks groups on bearer sessions too (components/edge/oauth2_proxy.py
  ``machine_options`` cites the code); at Okta a client-credentials token's ``sub`` is its client id,
  which is what a ``client:`` principal is checked as. A ``scope:`` principal has no known subject.
  With ``pass_authorization_header`` off oauth2-proxy injects no Authorization of its own and leaves
  the client's in place (pkg/apis/options/legacy_options.go ``getRequestHeaders``), so Airflow gets it.
- Airflow (the api-server's env in the Airflow release values): ``[core] auth_manager`` is the
  program's, and its data maps the client or scope to roles (components/airflow/runtime/auth_manager.py).
"""

from __future__ import annotations

import json
from typing import Any

from components.airflow.inputs import AUTH_MANAGER_CLASS
from components.platform import API_SERVER_PORT, OAUTH2_PROXY_PORT
from components.timeouts import ApiCall
from plan import journey_mesh, journey_timeouts
from plan.hops import Hop

#: The auth manager's data variable (components/airflow/runtime/auth_manager.py ``DATA_ENV``).
AUTH_MANAGER_DATA_ENV = "AIRFLOW_MESH_AUTH_MANAGER"


def api_server_env(plan: Any) -> dict[str, str]:
    """The api-server's plain ``env`` entries as recorded in the Airflow release's values."""
    values = journey_timeouts._release_values(plan, "airflow")
    return {e["name"]: e["value"] for e in values.get("apiServer", {}).get("env", []) if "value" in e}


def gateway_keeps_authorization(plan: Any, path: str) -> Hop:
    """The HTTPS route must not remove ``Authorization`` (it removes forged identity headers): read
    from the recorded HTTPRoutes' RequestHeaderModifier filters."""
    removed: list[tuple[str, str]] = []
    for route in plan.of_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"):
        for rule in route["inputs"].get("spec", {}).get("rules", []):
            for f in rule.get("filters", []):
                for header in (f.get("requestHeaderModifier") or {}).get("remove", []):
                    removed.append((route["inputs"]["metadata"]["name"], header))
    strips = [name for name, header in removed if header.lower() == "authorization"]
    step = f"HTTPS route {path} keeps Authorization"
    if strips:
        return Hop("gateway", step, False, f"HTTPRoute {strips[0]} RequestHeaderModifier removes it")
    return Hop("gateway", step, True, "HTTPRoute airflow-route (PathPrefix /)", "identity headers removed, not this")


def oauth2_proxy_bearer(plan: Any, kind: str, name: str, audience: str, edge_group: str) -> list[Hop]:
    """oauth2-proxy's decisions on a machine token of ``kind`` (client/scope) ``name`` with ``audience``."""
    options = journey_timeouts.oauth2_proxy_options(plan)
    values = journey_timeouts._release_values(plan, "oauth2-proxy")
    who = f"{kind}:{name}"
    if not options.get("skip_jwt_bearer_tokens"):
        return [Hop("oauth2-proxy", f"{who} bearer token", False, "oauth2-proxy skip_jwt_bearer_tokens unset")]
    accepted = [*options.get("oidc_extra_audiences", [])]
    accepted += [entry.split("=", 1)[1] for entry in options.get("extra_jwt_issuers", [])]
    hops = [
        Hop(
            "oauth2-proxy",
            f"{who} token audience {audience}",
            audience in accepted,
            "oauth2-proxy oidc_extra_audiences / extra_jwt_issuers",
            ", ".join(accepted) or "only the client id (oauth2-proxy/oauth2-proxy#1350)",
        )
    ]
    domains = options.get("email_domains", [])
    if "*" in domains:
        hops.append(Hop("oauth2-proxy", f"{who} subject vs email_domains", True, "oauth2-proxy email_domains *"))
    else:
        listed = (values.get("authenticatedEmailsFile") or {}).get("restricted_access", "").split()
        known = kind == "client" and name.lower() in {e.lower() for e in listed}
        note = "sub = client id (Okta)" if kind == "client" else "a scope names no subject"
        decider = "oauth2-proxy authenticated emails file" if listed else "oauth2-proxy email_domains"
        hops.append(Hop("oauth2-proxy", f"{who} subject vs email_domains", known, decider, note))
    allowed = options.get("allowed_groups")
    if allowed:
        ok = bool(edge_group) and edge_group in allowed
        note = f"the IdP adds {edge_group!r} to machine tokens" if edge_group else "machine tokens carry no groups"
        hops.append(Hop("oauth2-proxy", f"{who} groups vs allowed_groups", ok, "oauth2-proxy allowed_groups", note))
    return hops


def airflow_roles(plan: Any, kind: str, name: str) -> Hop:
    """The api-server's decision: its auth manager class and the roles its data gives ``kind:name``."""
    env = api_server_env(plan)
    step = f"{kind}:{name} -> Airflow roles"
    manager = env.get("AIRFLOW__CORE__AUTH_MANAGER", "")
    if manager != AUTH_MANAGER_CLASS:
        return Hop("airflow", step, False, f"auth manager {manager or 'FAB'}", "IdP tokens: Invalid JWT token")
    data = json.loads(env.get(AUTH_MANAGER_DATA_ENV, "{}"))
    roles = data.get("clients" if kind == "client" else "scopes", {}).get(name, [])
    decider = f"{AUTH_MANAGER_CLASS.rsplit('.', 1)[1]} {AUTH_MANAGER_DATA_ENV}"
    return Hop("airflow", step, bool(roles), decider, ", ".join(roles) if roles else "unmapped: no role, 403")


def machine_request(explainer: Any, principal: str, path: str) -> list[Hop]:
    """A machine ``client:<id>`` or ``scope:<scope>`` calling ``https://<host><path>`` with a bearer token."""
    kind, _, name = principal.partition(":")
    settings = explainer.settings
    audience = (settings.machine_token_audiences or ["(no machine audience configured)"])[0]
    return [
        explainer._nlb(),
        gateway_keeps_authorization(explainer.plan, path),
        journey_mesh.gateway_addressing(explainer.plan, explainer.provider),
        explainer.mesh("edge-gateway", "edge-oauth2-proxy", OAUTH2_PROXY_PORT),
        *oauth2_proxy_bearer(explainer.plan, kind, name, audience, settings.machine_edge_group),
        explainer.mesh("edge-oauth2-proxy", "airflow-api-server", API_SERVER_PORT),
        airflow_roles(explainer.plan, kind, name),
        *journey_timeouts.person_api_call(
            explainer.plan, ApiCall(explainer.settings.api_call_timeout_seconds), explainer.provider
        ),
    ]
