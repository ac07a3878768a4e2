"""``airflow_mesh_auth_manager.py``: the api-server's auth manager, FAB plus the IdP's machine tokens.

Airflow 3.1.7's REST API (``/api/v2``) accepts only Airflow's own JWTs: ``core_api/security.py``
``get_user`` hands the bearer token to the auth manager's ``get_user_from_token``, which validates it
with Airflow's key (``base_auth_manager.py`` ``_get_token_validator``) and answers 403 "Invalid JWT
token" to anything else, so a CI job's IdP access token that passed the edge stopped here.
:class:`AirflowMeshFabAuthManager` adds one path in front of that:

- a token whose (unverified) ``iss`` is the machine issuer is validated by Airflow's own
  :class:`~airflow.api_fastapi.auth.tokens.JWTValidator` against the issuer's JWKS (``jwks_uri`` of
  its discovery document), with the accepted audiences, the issuer, ``exp`` and ``iat`` required and
  asymmetric algorithms only; then its client id (``client_id`` RFC 9068, ``cid`` Okta, ``azp``,
  ``appid`` Entra v1) and scopes (``scope`` or ``scp``) are mapped to Airflow roles. A machine with
  no mapped role is refused (403), never given a default role. It acts as the FAB user
  ``<client id>@machine.invalid`` whose roles are set to the mapping on every call (so FAB's permission
  checks, DAG ``access_control`` and the audit log work unchanged; deactivating that user in FAB
  refuses the client at once);
- every other token goes to FAB unchanged (Airflow's own tokens: the UI, ``/auth/token``).

The class name contains ``FabAuthManager`` on purpose: Airflow syncs DAG ``access_control`` only
when ``[core] auth_manager`` contains that string (``dag_processing/collection.py``; also
``utils/db_cleanup.py``). Only the api-server loads it (``AIRFLOW__CORE__AUTH_MANAGER`` in its env,
the file mounted into ``$AIRFLOW_HOME/config``, which Airflow puts on ``sys.path``:
``settings.prepare_syspath_for_config_and_plugins``); the other components keep FAB's class.

It also binds the browser's Airflow session to the person the edge authenticated
(:class:`EdgeSession`, a root ASGI middleware the api-server's plugin registers): oauth2-proxy ends
its session without Airflow knowing (expiry, cookie-secret rotation, another person signing in on
the same browser), while Airflow's ``_token`` cookie lives on until its own expiry, so the next person
would act as the previous one. Every cookie the api-server sets is made ``Secure`` there too.

The stack's data is the JSON object in the environment variable :data:`DATA_ENV`, read at first
use: ``{"issuer": "<https issuer>" or "", "audiences": [...], "clients": {"<client id>": ["<role>"]},
"scopes": {"<scope>": ["<role>"]}, "leeway": <seconds>}``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from functools import cached_property
from typing import Any

import httpx
import jwt
from airflow.api_fastapi.auth.tokens import JWKS, JWTValidator
from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager
from airflow.providers.fab.auth_manager.models import User

log = logging.getLogger(__name__)
#: Environment variable holding the stack's data (see the module docstring).
DATA_ENV = "AIRFLOW_MESH_AUTH_MANAGER"
#: Claims that name the OAuth client, most specific first.
CLIENT_CLAIMS = ("client_id", "cid", "azp", "appid")
#: Signature algorithms an IdP signs access tokens with; never HMAC (the key would be public).
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
#: Machine users are ``<client id>@machine.invalid`` (RFC 2606 reserves ``.invalid``); webserver_config.py
#: refuses a person's login under such a name, or a person could take over a machine's user and roles.
MACHINE_USER_DOMAIN = "machine.invalid"


def machine_data() -> dict[str, Any]:
    """The stack's machine-client data (raises ``KeyError`` if the api-server's env lacks it)."""
    return json.loads(os.environ[DATA_ENV])


def client_of(claims: dict[str, Any]) -> str:
    """The OAuth client id a token names, or ``""``."""
    for claim in CLIENT_CLAIMS:
        value = claims.get(claim)
        if isinstance(value, str) and value:
            return value
    return ""


def scopes_of(claims: dict[str, Any]) -> set[str]:
    """Granted scopes: ``scope`` (space-separated, RFC 9068) or ``scp`` (Okta's list, Entra's string)."""
    found: set[str] = set()
    for claim in ("scope", "scp"):
        value = claims.get(claim)
        if isinstance(value, str):
            found |= set(value.split())
        elif isinstance(value, list):
            found |= {v for v in value if isinstance(v, str)}
    return found


def roles_for(claims: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """Airflow roles of a validated machine token: its client's and its scopes', sorted; [] if unmapped."""
    roles = set(data.get("clients", {}).get(client_of(claims), []))
    for scope in scopes_of(claims):
        roles |= set(data.get("scopes", {}).get(scope, []))
    return sorted(roles)


class AirflowMeshFabAuthManager(FabAuthManager):
    """FAB's auth manager that also accepts the IdP's machine access tokens on the REST API."""

    #: The HTTP client used for discovery and keys (tests give it a transport).
    http_client: httpx.AsyncClient | None = None

    @cached_property
    def machine(self) -> dict[str, Any]:
        return machine_data()

    async def get_user_from_token(self, token: str) -> User:
        issuer = self.machine.get("issuer") or ""
        if not issuer or _unverified_issuer(token) != issuer:
            return await super().get_user_from_token(token)
        validator = await self._machine_validator()
        try:
            claims = await validator.avalidated_claims(token)
        except KeyError:
            # JWKS.get_key: no key with the token's kid. After a key rotation the IdP signs with a key
            # published since the last fetch, and Airflow's JWKS refetches only hourly: refetch once now,
            # at most every refresh_retry_interval_secs (tokens.py JWKS._should_fetch_jwks).
            jwks = validator.jwks
            if jwks is None or time.monotonic() - jwks.last_fetch_attempt_at < jwks.refresh_retry_interval_secs:
                raise jwt.InvalidTokenError("token signed with an unknown key") from None
            # Marked stale, not "never fetched" (fetched_at = 0 would refetch on every request while the
            # IdP is down); a failed fetch leaves the old keys and the retry interval in force.
            jwks.fetched_at = time.monotonic() - jwks.refresh_interval_secs - 1
            try:
                claims = await validator.avalidated_claims(token)
            except KeyError:
                raise jwt.InvalidTokenError("token signed with an unknown key") from None
        roles = roles_for(claims, self.machine)
        name = client_of(claims) or str(claims.get("sub") or "")
        if not name:
            raise jwt.InvalidTokenError("the token names no client and no subject")
        if not roles:
            raise jwt.InvalidTokenError(f"machine client {name!r} is mapped to no Airflow role")
        return self._machine_user(name, roles)

    async def _machine_validator(self) -> JWTValidator:
        """Airflow's validator on the issuer's keys, built once (the JWKS refreshes itself hourly)."""
        if getattr(self, "_validator", None) is None:
            client = self.http_client or httpx.AsyncClient()
            issuer = self.machine["issuer"]
            try:
                discovery = await client.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
                discovery.raise_for_status()
                jwks_uri = discovery.json()["jwks_uri"]
            except (httpx.HTTPError, ValueError, KeyError) as err:
                # Refused (403), not a 500; the next token tries discovery again.
                log.error("discovery of the machine issuer %s failed: %s", issuer, err)
                raise jwt.InvalidTokenError("the machine token issuer cannot be reached") from None
            self._validator = JWTValidator(
                jwks=JWKS(url=jwks_uri, client=client),
                issuer=issuer,
                audience=list(self.machine["audiences"]),
                algorithm=ALGORITHMS,
                # Okta and Entra access tokens carry no nbf; exp and iat they always do.
                required_claims=frozenset({"exp", "iat"}),
                leeway=int(self.machine.get("leeway", 30)),
            )
        return self._validator

    def _machine_user(self, name: str, roles: list[str]) -> User:
        """The FAB user ``<name>@machine.invalid`` with exactly ``roles`` (created on first use)."""
        sm = self.security_manager
        found = [role for role in (sm.find_role(r) for r in roles) if role is not None]
        if not found:
            raise jwt.InvalidTokenError(f"roles {roles} of machine client {name!r} do not exist")
        username = f"{name}@{MACHINE_USER_DOMAIN}"
        user = sm.find_user(username=username)
        if user is not None:
            # The session may hold the row from an earlier request: read what an admin changed since.
            sm.session.refresh(user)
        if user is not None and not user.is_active:
            # An admin switched the machine's user off in FAB (Security > List Users): its tokens stop
            # working at once, before they expire or the client is removed from the stack.
            raise jwt.InvalidTokenError(f"the user of machine client {name!r} is deactivated")
        if user is None:
            user = sm.add_user(username, "machine", name, username, found)
            if not user:
                raise jwt.InvalidTokenError(f"could not create the user of machine client {name!r}")
        elif {r.name for r in user.roles} != {r.name for r in found}:
            user.roles = found
            sm.update_user(user)
        return user


def _unverified_issuer(token: str) -> str:
    """``iss`` of a token, read without checking anything: only to choose which validator checks it."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return ""
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else ""


# --------------------------------------------------------------------------------------------------
# The browser's Airflow session belongs to the person the edge authenticated on this request
# --------------------------------------------------------------------------------------------------

#: Request headers oauth2-proxy sets from its session (``pass_user_headers``: X-Forwarded-User is the
#: session's user, the ID token's ``sub``; -Email its ``email``; -Preferred-Username its
#: ``preferred_username``; oauthproxy.go ``addHeadersForProxying`` / pkg/middleware headers). The
#: gateway removes client copies (components/edge/routes.py ``IDENTITY_HEADERS``), so on the api-server
#: they name the person oauth2-proxy authenticated on *this* request. Lower case: ASGI header names.
EDGE_HEADERS = {
    "email": b"x-forwarded-email",
    "user": b"x-forwarded-user",
    "preferred": b"x-forwarded-preferred-username",
}
#: Airflow's JWT cookie (base_auth_manager.py ``COOKIE_NAME_JWT_TOKEN``) and FAB's Flask session cookie.
TOKEN_COOKIE = "_token"
SESSION_COOKIE = "session"
#: The FAB app is mounted here (api_fastapi/app.py ``init_auth_manager``: ``app.mount("/auth", ...)``);
#: its views judge the Flask session themselves (webserver_config.py ``before_request``).
FAB_PREFIX = "/auth/"
#: FAB registers a user whose IdP gave no email as ``<username>@email.notfound``
#: (security_manager/override.py ``auth_user_oauth``): that is no email to compare.
NO_EMAIL_SUFFIX = "@email.notfound"


def edge_person(headers: dict[str, str]) -> dict[str, str]:
    """The edge's person from request headers (names lower-cased): ``{"email"|"user"|"preferred": value}``,
    only the non-empty ones; ``{}`` when the request did not come through oauth2-proxy's session."""
    found = {key: (headers.get(name.decode()) or "").strip() for key, name in EDGE_HEADERS.items()}
    return {key: value for key, value in found.items() if value}


def same_person(username: str, email: str, edge: dict[str, str]) -> bool:
    """Whether the Airflow user (FAB ``username`` and ``email``) is the edge's person. Both logins come
    from the same IdP: FAB stores the ID token's ``email`` (webserver_config.py ``get_oauth_user_info``),
    oauth2-proxy forwards the same claim. A user without an email is matched on the username FAB took
    (``preferred_username``, else ``sub``). Twin: webserver_config.py ``_same_person`` (kept in step by
    tests_airflow/test_edge_session.py through both paths)."""
    if email and not email.lower().endswith(NO_EMAIL_SUFFIX):
        return email.lower() == edge.get("email", "").lower()
    return username.lower() in {v.lower() for k, v in edge.items() if k in ("user", "preferred")}


def _cookie(headers: dict[str, str], name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None


def _without_cookie(raw: list[tuple[bytes, bytes]], name: str) -> list[tuple[bytes, bytes]]:
    """The request's headers with cookie ``name`` removed from every Cookie header."""
    out = []
    for key, value in raw:
        if key.lower() == b"cookie":
            kept = [p for p in value.decode("latin-1").split(";") if p.strip().partition("=")[0] != name]
            value = ";".join(kept).strip().encode("latin-1")
        out.append((key, value))
    return out


def secure_cookie(value: bytes) -> bytes:
    """A Set-Cookie value with ``Secure`` added when missing. Airflow sets ``_token`` Secure only with
    ``[api] ssl_cert`` (api_fastapi/auth/middlewares/refresh_token.py) or an https request scheme
    (providers/fab/www/views.py ``redirect``); behind the TLS gateway neither holds."""
    attributes = {a.strip().lower() for a in value.decode("latin-1").split(";")[1:]}
    return value if "secure" in attributes else value + b"; Secure"


def cleared(name: str) -> tuple[bytes, bytes]:
    return b"set-cookie", f"{name}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax".encode()


class EdgeSession:
    """Root ASGI middleware of the api-server (registered by its plugin, runtime/execution_scope.py).

    - A request that carries Airflow's ``_token`` cookie and an edge person (:func:`edge_person`) is
      refused with 401 and both session cookies cleared when the token's user is another person;
      Airflow's UI answers a 401 by sending the browser to log in, now as the edge's person. Under
      ``/auth/`` (FAB's login and views) the stale cookie is only removed from the request and cleared
      in the response unless the response sets a new one (the login of the edge's person does).
      Tokens Airflow itself refuses pass on unchanged: Airflow answers and clears them
      (refresh_token.py). Machine clients send no ``_token`` cookie and pass untouched; one that does
      is refused, because Airflow would serve the cookie's user instead of the bearer's
      (refresh_token.py sets ``request.state.user``, which core_api/security.py ``get_user`` returns
      before it reads ``Authorization``).
    - Every ``Set-Cookie`` of every response gets ``Secure`` (:func:`secure_cookie`).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        edge, token = edge_person(headers), _cookie(headers, TOKEN_COOKIE)
        stale = bool(edge and token) and not await self._token_is_persons(token or "", edge)
        path = scope.get("path", "")[len(scope.get("root_path", "")) :] or "/"
        if stale and not path.startswith(FAB_PREFIX):
            log.warning("refused a %s cookie of another person than the edge's %s", TOKEN_COOKIE, edge)
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json"), cleared(TOKEN_COOKIE), cleared(SESSION_COOKIE)],
                }
            )
            await send({"type": "http.response.body", "body": b'{"detail":"Not authenticated"}'})
            return None
        if stale:
            scope = {**scope, "headers": _without_cookie(scope["headers"], TOKEN_COOKIE)}

        async def secured(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                out = [(k, secure_cookie(v) if k.lower() == b"set-cookie" else v) for k, v in message["headers"]]
                sets_token = any(k.lower() == b"set-cookie" and v.startswith(b"_token=") for k, v in out)
                if stale and not sets_token:
                    out.append(cleared(TOKEN_COOKIE))
                message = {**message, "headers": out}
            await send(message)

        return await self.app(scope, receive, secured)

    @staticmethod
    async def _token_is_persons(token: str, edge: dict[str, str]) -> bool:
        """True when the token's user is the edge's person, or when Airflow refuses the token anyway."""
        from airflow.api_fastapi.app import get_auth_manager
        from sqlalchemy import select

        manager = get_auth_manager()
        try:
            user = await manager.get_user_from_token(token)
        except Exception:  # expired, forged, deleted user: Airflow's own code answers and clears it
            return True
        if same_person(str(getattr(user, "username", "") or ""), str(getattr(user, "email", "") or ""), edge):
            return True
        # FAB hands out users cached for [fab] cache_ttl (fab_auth_manager.py deserialize_user), per replica:
        # an email the login just updated (webserver_config.py auth_user_oauth) is read anew before refusing.
        row = manager.session.execute(select(User.username, User.email).where(User.id == user.id)).one_or_none()
        return row is not None and same_person(row.username or "", row.email or "", edge)
