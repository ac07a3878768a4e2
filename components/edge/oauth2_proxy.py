"""OAuth2Proxy: the OIDC login in front of Airflow, as a reverse proxy (chart 10.7.0).

Every request the gateway accepts goes to oauth2-proxy, and oauth2-proxy is the only workload the
access model lets reach the Airflow api-server, so nothing reaches Airflow unauthenticated even if a
route were misconfigured. Why a reverse proxy and not NGF's ExternalAuth filter: docs/edge.md.

- People: no session cookie -> 302 to oauth2-proxy's sign-in, which goes straight on to the IdP
  (authorization code + PKCE); back on ``/oauth2/callback`` the session is checked against the allowed
  groups and email domains and stored in a ``__Host-`` cookie (Secure, HttpOnly, SameSite=Lax, no
  Domain attribute: it is sent to the Airflow host and nowhere else). Only ``/api/`` answers 401
  instead of redirecting, because a script cannot follow a login page.
- Sessions: how large the session may be for the cookie store, and when Redis is required, is
  components/settings/session_size.py; logout (``/oauth2/sign_out`` on to the IdP host in
  ``whitelist_domains``) is docs/edge.md, "How a person logs out".
- Machines: ``Authorization: Bearer <JWT>``, an access token of the IdP with one of the machine
  audiences (:func:`machine_options`), is verified against the issuer's keys and passed through
  without a session (``skip_jwt_bearer_tokens``); the api-server maps its client id or scope to a
  role and gives anything else nothing (docs/edge.md, "How a machine client gets in").

Secrets: the OIDC client secret (a ``secure:`` config value) and the cookie secret (32 random bytes,
rotated) go into one Kubernetes Secret the chart references (``config.existingSecret``); the Helm
values hold only its name.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumiverse_time as time

from components import versions
from components.edge.access_log import AUTH_LOG_FORMAT, REQUEST_LOG_FORMAT
from components.platform import (
    AIRFLOW_NAMESPACE,
    AIRFLOW_RELEASE,
    API_SERVER_PORT,
    EDGE_SESSION_SECONDS,
    OAUTH2_PROXY_RELEASE,
)
from components.timeouts import ApiCall

#: The Service the HTTPRoute sends every request to (the chart's fullname is the release name).
SERVICE_NAME = OAUTH2_PROXY_RELEASE
SERVICE_PORT = 80
CREDENTIALS_SECRET = f"{OAUTH2_PROXY_RELEASE}-credentials"
REDIS_SECRET = f"{OAUTH2_PROXY_RELEASE}-redis"
#: ``__Host-``: the browser refuses the cookie unless Secure, Path=/ and without a Domain attribute.
COOKIE_NAME = "__Host-airflow-auth"
#: oauth2-proxy accepts a 16/24/32-byte AES key; 32 bytes is AES-256.
COOKIE_SECRET_BYTES = 32
#: Where authenticated requests go: the Airflow chart's api-server Service.
AIRFLOW_UPSTREAM = f"http://{AIRFLOW_RELEASE}-api-server.{AIRFLOW_NAMESPACE}.svc:{API_SERVER_PORT}/"
#: Paths that answer 401 instead of a login redirect (machine clients, not browsers).
API_ROUTES = ("^/api/",)
#: Refresh tokens need ``offline_access`` at Okta and Entra ID (Keycloak issues them anyway).
SCOPES = "openid email profile offline_access"


@dataclass(frozen=True)
class OidcClient:
    """The Airflow client registered at the team's IdP, and who it lets through."""

    #: HTTPS issuer URL (discovery at ``/.well-known/openid-configuration``).
    issuer_url: str
    client_id: str
    #: A secret Output (``pulumi.Output.secret``); never a plain string.
    client_secret: pulumi.Input[str]
    #: ID-token claim with the user's groups.
    groups_claim: str = "groups"
    #: Groups allowed through at all; empty: every user the IdP authenticates.
    allowed_groups: Sequence[str] = ()
    #: Email domains allowed through; empty: any.
    allowed_email_domains: Sequence[str] = ()
    #: Issuer of machine access tokens (empty: ``issuer_url``); only used with ``machine_audiences``.
    machine_issuer_url: str = ""
    #: Audiences accepted on machine access tokens; empty: no machine clients.
    machine_audiences: Sequence[str] = ()
    #: Client ids of the mapped machine clients: their tokens' subject at Okta (``sub`` = client id).
    machine_client_ids: Sequence[str] = ()
    #: Group the IdP puts into machine tokens' groups claim, allowed through with ``allowed_groups``.
    machine_group: str = ""


@dataclass(frozen=True)
class OAuth2ProxyArgs:
    """Inputs of :class:`OAuth2Proxy`."""

    #: The Airflow host: redirect URL, allowed post-login redirects.
    hostname: str
    oidc: OidcClient
    #: The (meshed) namespace, from the namespaces layer.
    namespace: k8s.core.v1.Namespace
    #: The ServiceAccount made by the identity layer (the mesh identity the access model allows).
    service_account: k8s.core.v1.ServiceAccount
    replicas: int
    #: ``cookie``: the session lives in the (encrypted, split if large) cookie; ``redis``: the cookie
    #: only holds a ticket and the session lives in Redis (redis-ha subchart, Sentinel).
    session_store: Literal["cookie", "redis"] = "cookie"
    #: The IdP host Airflow's logout ends the IdP session at: ``/oauth2/sign_out`` redirects only to
    #: ``whitelist_domains`` (pkg/app/redirect/validator.go; anything else silently becomes ``/``).
    logout_host: str = ""
    #: The cookie secret is regenerated after this many days (everyone signs in again).
    rotation_days: int = 90
    #: What must exist first (the mesh, so the pods start with their sidecar and permissions).
    depends_on: Sequence[pulumi.Resource] = ()
    timeout_seconds: int = 600
    #: The API-call journey: ``upstream_timeout`` is its budget (components/timeouts.py).
    api_call: ApiCall = field(default_factory=ApiCall)
    #: Extra oauth2-proxy options merged over the generated ones (``snake_case`` config names).
    overrides: Mapping[str, Any] = field(default_factory=dict)
    #: Annotations the mesh needs on the pods for their exits (``mesh.workload_pod_annotations``).
    pod_annotations: Mapping[str, str] = field(default_factory=dict)


class OAuth2Proxy(pulumi.ComponentResource):
    """oauth2-proxy in reverse-proxy mode with its Secrets.

    Outputs: ``service_name``, ``service_port``, ``release``.
    """

    def __init__(self, name: str, args: OAuth2ProxyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:edge:OAuth2Proxy", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = args.namespace.metadata.name

        rotation = time.Rotating(f"{name}-rotation", rotation_days=args.rotation_days, opts=child)
        cookie_key = random.RandomBytes(
            f"{name}-cookie-secret",
            length=COOKIE_SECRET_BYTES,
            keepers={"rotation": rotation.id},
            opts=child,
        )
        credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata={"name": CREDENTIALS_SECRET, "namespace": namespace, "labels": _labels()},
            type="Opaque",
            string_data={
                "client-id": args.oidc.client_id,
                "client-secret": pulumi.Output.secret(args.oidc.client_secret),
                "cookie-secret": pulumi.Output.secret(cookie_key.base64.apply(cookie_secret)),
            },
            opts=child,
        )
        waits: list[pulumi.Resource] = [credentials, args.service_account, *args.depends_on]
        if args.session_store == "redis":
            passwords = {
                key: random.RandomPassword(f"{name}-{key}", length=32, special=False, opts=child)
                for key in ("redis-password", "redis-sentinel-password")
            }
            waits.append(
                k8s.core.v1.Secret(
                    f"{name}-redis",
                    metadata={"name": REDIS_SECRET, "namespace": namespace, "labels": _labels()},
                    type="Opaque",
                    string_data={key: pulumi.Output.secret(p.result) for key, p in passwords.items()},
                    opts=child,
                )
            )

        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=OAUTH2_PROXY_RELEASE,
            chart="oauth2-proxy",
            version=versions.OAUTH2_PROXY_CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=versions.OAUTH2_PROXY_CHART_REPO),
            namespace=namespace,
            values=helm_values(args, rotation.id),
            atomic=True,
            cleanup_on_fail=True,
            timeout=args.timeout_seconds,
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits),
        )
        self.service_name = SERVICE_NAME
        self.service_port = SERVICE_PORT
        self.register_outputs({"service_name": self.service_name})


def cookie_secret(random_base64: str) -> str:
    """The cookie secret as oauth2-proxy reads it.

    oauth2-proxy decodes the value as *URL-safe* base64 and uses the decoded bytes only when they are
    16, 24 or 32 long; anything else (standard base64 with ``+`` or ``/``) is taken as the raw
    44-character string, which is not a valid AES key. So: the 32 random bytes, URL-safe, unpadded.
    """
    return base64.urlsafe_b64encode(base64.b64decode(random_base64)).decode().rstrip("=")


def proxy_options(args: OAuth2ProxyArgs) -> dict[str, Any]:
    """oauth2-proxy's configuration (``oauth2_proxy.cfg`` names). Holds no secret: client id, client
    secret and cookie secret come from the Secret as ``OAUTH2_PROXY_*`` environment variables."""
    oidc = args.oidc
    options: dict[str, Any] = {
        "provider": "oidc",
        "provider_display_name": "Single sign-on",
        "oidc_issuer_url": oidc.issuer_url,
        "oidc_groups_claim": oidc.groups_claim,
        "scope": SCOPES,
        "code_challenge_method": "S256",
        "redirect_url": f"https://{args.hostname}/oauth2/callback",
        "upstreams": [AIRFLOW_UPSTREAM],
        "upstream_timeout": f"{args.api_call.oauth2_proxy_seconds}s",
        "email_domains": list(oidc.allowed_email_domains) or ["*"],
        "cookie_name": COOKIE_NAME,
        "cookie_secure": True,
        "cookie_httponly": True,
        "cookie_samesite": "lax",
        "cookie_path": "/",
        "cookie_expire": f"{EDGE_SESSION_SECONDS // 3600}h",
        "cookie_refresh": "1h",
        "whitelist_domains": [args.hostname, *([args.logout_host] if args.logout_host else [])],
        "skip_provider_button": True,
        "skip_jwt_bearer_tokens": True,
        "api_routes": list(API_ROUTES),
        "reverse_proxy": True,
        "pass_user_headers": True,
        "pass_access_token": False,
        "pass_authorization_header": False,
        # X-Auth-Request-User/-Email/-Groups on responses (oauthproxy.go buildHeadersChain injects them
        # on proxied responses too): NGINX logs them (components/edge/access_log.py), the route removes them.
        "set_xauthrequest": True,
        "request_logging_format": REQUEST_LOG_FORMAT,
        "auth_logging_format": AUTH_LOG_FORMAT,
        "silence_ping_logging": True,
    }
    options.update(machine_options(oidc))
    if oidc.allowed_groups:
        machine = [oidc.machine_group] if oidc.machine_group and oidc.machine_group not in oidc.allowed_groups else []
        options["allowed_groups"] = [*oidc.allowed_groups, *machine]
    return {**options, **args.overrides}


def machine_options(oidc: OidcClient) -> dict[str, Any]:
    """The options that let machine access tokens through, read against oauth2-proxy v7.15.3 (chart 10.7.0).

    - Audience: a bearer token is tried against the provider's verifier (issuer ``oidc_issuer_url``,
      audience the client id or one of ``oidc_extra_audiences``), then against one verifier per
      ``extra_jwt_issuers`` entry ``issuer=audience`` (oauthproxy.go ``buildSessionChain``;
      pkg/validation/options.go ``parseJwtIssuers``). An Okta access token's ``aud`` is the
      authorization server's audience, never the client id (oauth2-proxy/oauth2-proxy#1350), so
      the machine audiences are added: to the provider when machines share its issuer, as extra
      issuers otherwise.
    - Email: a token without ``email`` gets its ``sub`` as the session email
      (providers/oidc.go ``CreateSessionFromToken``; pkg/apis/middleware/session.go), then
      ``getAuthenticatedSession`` checks it against ``email_domains`` and the authenticated emails
      file (validator.go; oauth2-proxy/oauth2-proxy#2943). With email domains set, the mapped client
      ids go into that file (:func:`helm_values`): the subject of an Okta client-credentials token is
      its client id, so exactly the configured clients pass.
    - Groups: ``allowed_groups`` is checked on every session (provider_default.go ``Authorize``);
      a client-credentials token has no groups unless the IdP adds one, so the machine group is
      allowed with the people's groups (settings require it when both are set).

    oauth2-proxy cannot read a client id or scope claim (a bearer session keeps only sub, email,
    groups, preferred_username), so which client gets which role is decided by the api-server.
    """
    if not oidc.machine_audiences:
        return {}
    issuer = oidc.machine_issuer_url or oidc.issuer_url
    if issuer.rstrip("/") == oidc.issuer_url.rstrip("/"):
        return {"oidc_extra_audiences": list(oidc.machine_audiences)}
    return {"extra_jwt_issuers": [f"{issuer}={audience}" for audience in oidc.machine_audiences]}


def machine_emails_file(oidc: OidcClient) -> str:
    """The authenticated emails file (one entry a line) that lets the mapped clients' tokens pass
    ``email_domains``; empty when no email domain is set (then ``*`` lets every subject through)."""
    if not (oidc.machine_audiences and oidc.allowed_email_domains and oidc.machine_client_ids):
        return ""
    return "\n".join(sorted(oidc.machine_client_ids))


def config_file(options: Mapping[str, Any]) -> str:
    """``options`` as oauth2-proxy's TOML config file (JSON scalars and string lists are valid TOML)."""
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in options.items())


def helm_values(args: OAuth2ProxyArgs, rotation_id: pulumi.Input[str]) -> dict[str, Any]:
    """Helm values of the oauth2-proxy chart (keys checked against its values.yaml in tests)."""
    values: dict[str, Any] = {
        "replicaCount": args.replicas,
        "config": {
            # The chart creates no Secret of its own (and renders none of its placeholder secrets).
            "existingSecret": CREDENTIALS_SECRET,
            "configFile": config_file(proxy_options(args)),
        },
        "serviceAccount": {"enabled": False, "name": args.service_account.metadata.name},
        "service": {"portNumber": SERVICE_PORT},
        # The chart cannot see a change inside an existing Secret: roll the pods when the cookie
        # secret is regenerated (the rotation id is a timestamp, not the secret).
        "podAnnotations": {**args.pod_annotations, "airflow-mesh/cookie-secret-rotation": rotation_id},
        # With one replica a budget of one available pod would block every node drain.
        "podDisruptionBudget": {"enabled": args.replicas > 1, "minAvailable": 1},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        # The chart's container context meets Pod Security restricted, its pod context is empty
        # (oauth2-proxy 10.7.0 values.yaml): a mesh sidecar injected beside it has no runAsNonRoot or
        # seccomp of its own (Kuma 2.14.3 containers/factory.go), so the pod must carry them.
        "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    }
    emails = machine_emails_file(args.oidc)
    if emails:
        # The chart renders it as the ConfigMap <release>-accesslist and passes --authenticated-emails-file.
        values["authenticatedEmailsFile"] = {"enabled": True, "persistence": "configmap", "restricted_access": emails}
    if args.session_store == "redis":
        sentinel = f"redis://{OAUTH2_PROXY_RELEASE}-redis-ha:26379"
        values["sessionStorage"] = {
            "type": "redis",
            "redis": {
                "existingSecret": REDIS_SECRET,
                "passwordKey": "redis-password",
                "clientType": "sentinel",
                "sentinel": {
                    "existingSecret": REDIS_SECRET,
                    "passwordKey": "redis-sentinel-password",
                    "masterName": "mymaster",
                    "connectionUrls": sentinel,
                },
            },
        }
        values["redis-ha"] = {
            "enabled": True,
            "replicas": 3,
            "auth": True,
            "existingSecret": REDIS_SECRET,
            "authKey": "redis-password",
            "sentinel": {"auth": True, "existingSecret": REDIS_SECRET, "authKey": "redis-sentinel-password"},
            # Sessions are disposable (losing them means signing in again): no volumes to orphan.
            "persistentVolume": {"enabled": False},
            "hardAntiAffinity": args.replicas > 1,
        }
        # The init container waits with kubectl for a Bitnami-style pod name redis-ha never creates.
        values["initContainers"] = {"waitForRedis": {"enabled": False}}
    return values


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "airflow-mesh", "app.kubernetes.io/component": "edge"}
