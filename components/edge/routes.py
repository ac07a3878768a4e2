"""The Gateway, its routes and its TLS certificate, as plain data (what the edge sends to the cluster).

Pure functions of the host and a few names, so tests and reviewers can read the exact objects:

- one Gateway with two listeners for the Airflow host, routes only from its own namespace;
- an HTTP route that only redirects, and an HTTPS route whose one backend is oauth2-proxy;
- on every route, the identity headers a client could forge are removed (:data:`IDENTITY_HEADERS`), and
  so is the forwarding header NGINX would pass on untouched (:data:`FORWARDING_HEADERS`);
  the HTTPS route adds HSTS;
- the cert-manager Certificate whose Secret the HTTPS listener serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.platform import GATEWAY_CLASS, GATEWAY_NAME
from components.timeouts import CONNECT_SECONDS, ApiCall

#: Request headers that carry identity to Airflow (oauth2-proxy's pass_user_headers and
#: X-Auth-Request family, and the classic Remote-User). Removed from every client request at the
#: gateway; Gateway API matches them case-insensitively and takes exact names (no wildcards), so the
#: ``X-Auth-Request-*`` family is listed header by header.
IDENTITY_HEADERS = (
    "X-Auth-Request-User",
    "X-Auth-Request-Email",
    "X-Auth-Request-Groups",
    "X-Auth-Request-Preferred-Username",
    "X-Auth-Request-Access-Token",
    "X-Auth-Request-Redirect",
    "X-Forwarded-User",
    "X-Forwarded-Email",
    "X-Forwarded-Groups",
    "X-Forwarded-Preferred-Username",
    "X-Forwarded-Access-Token",
    "Remote-User",
    "X-Remote-User",
)
#: Forwarding headers NGINX passes on as the client sent them (NGF overwrites X-Forwarded-For/Proto/Host/Port
#: only: nginx-gateway-fabric internal/controller/nginx/config/servers.go) and Airflow trusts: ``[fab]
#: enable_proxy_fix`` wraps the FAB app in werkzeug's ProxyFix with ``x_prefix=1`` (providers-fab
#: www/extensions/init_wsgi_middlewares.py), so a client's X-Forwarded-Prefix would become the script
#: root of the URLs and redirects Airflow builds. The platform serves Airflow at ``/``: nobody sets one.
FORWARDING_HEADERS = ("X-Forwarded-Prefix",)
#: Response headers oauth2-proxy adds for the gateway's access log (set_xauthrequest); never sent on.
IDENTITY_RESPONSE_HEADERS = IDENTITY_HEADERS[:4]
HSTS = "max-age=31536000; includeSubDomains"
TLS_SECRET = f"{GATEWAY_NAME}-tls"
#: The HTTPS route's name (the ProxySettingsPolicy targets it).
HTTPS_ROUTE = f"{GATEWAY_NAME}-route"
LISTENER_PORTS = {"http": 80, "https": 443}
#: Airflow 3.1's Logout button (ui: ``api/v2/auth/logout``), which redirects to the auth manager's
#: ``get_url_logout()``: for FabAuthManager the FastAPI ``/auth/logout`` route, which only deletes
#: Airflow's cookies (providers/fab/auth_manager/api_fastapi/routes/login.py), so oauth2-proxy's and the
#: IdP's sessions would sign the user straight back in. The gateway sends it to FAB's Flask logout
#: instead, which webserver_config.py replaces with one that ends all three (issue 14, journey 4).
UI_LOGOUT_PATH = "/api/v2/auth/logout"
FAB_LOGOUT_PATH = "/auth/logout/"
#: Both ways to Airflow's cookie-only logout: the UI's, and the FastAPI route it redirects to.
LOGOUT_PATHS = (UI_LOGOUT_PATH, "/auth/logout")


def certificate_spec(hostname: str, issuer: str) -> dict[str, Any]:
    """The edge's TLS certificate: renewed 30 days ahead (day 60 of Let's Encrypt's 90), new key each time."""
    return {
        "secretName": TLS_SECRET,
        "dnsNames": [hostname],
        "renewBefore": "720h",
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer},
    }


def gateway_spec(hostname: str, pod_annotations: Mapping[str, str]) -> dict[str, Any]:
    """One Gateway, two listeners for the Airflow host; routes only from its own namespace."""
    allowed = {"namespaces": {"from": "Same"}, "kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}]}
    spec: dict[str, Any] = {
        "gatewayClassName": GATEWAY_CLASS,
        "listeners": [
            {
                "name": "http",
                "protocol": "HTTP",
                "port": LISTENER_PORTS["http"],
                "hostname": hostname,
                "allowedRoutes": allowed,
            },
            {
                "name": "https",
                "protocol": "HTTPS",
                "port": LISTENER_PORTS["https"],
                "hostname": hostname,
                "tls": {"mode": "Terminate", "certificateRefs": [{"group": "", "kind": "Secret", "name": TLS_SECRET}]},
                "allowedRoutes": allowed,
            },
        ],
    }
    if pod_annotations:
        # NGF copies these onto everything it provisions for the Gateway, the pod template included.
        spec["infrastructure"] = {"annotations": dict(pod_annotations)}
    return spec


def strip_identity_headers() -> dict[str, Any]:
    removed = [*IDENTITY_HEADERS, *FORWARDING_HEADERS]
    return {"type": "RequestHeaderModifier", "requestHeaderModifier": {"remove": removed}}


def redirect_route_spec(hostname: str) -> dict[str, Any]:
    """Plain HTTP: nothing but a permanent redirect to HTTPS (no backend at all)."""
    return {
        "parentRefs": [_parent("http")],
        "hostnames": [hostname],
        "rules": [
            {
                "filters": [
                    strip_identity_headers(),
                    {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}},
                ]
            }
        ],
    }


def https_route_spec(hostname: str, service: str, port: int) -> dict[str, Any]:
    """HTTPS: everything (``/oauth2/*`` included) to oauth2-proxy, forged identity removed, HSTS added;
    Airflow's Logout sent to the logout that ends every session (:data:`UI_LOGOUT_PATH`)."""
    return {
        "parentRefs": [_parent("https")],
        "hostnames": [hostname],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "filters": [
                    strip_identity_headers(),
                    {
                        "type": "ResponseHeaderModifier",
                        "responseHeaderModifier": {
                            "set": [{"name": "Strict-Transport-Security", "value": HSTS}],
                            # oauth2-proxy's identity response headers are for the access log only.
                            "remove": list(IDENTITY_RESPONSE_HEADERS),
                        },
                    },
                ],
                "backendRefs": [{"group": "", "kind": "Service", "name": service, "port": port}],
            },
            # Exact beats PathPrefix whatever the order (Gateway API route precedence).
            {
                "matches": [{"path": {"type": "Exact", "value": path}} for path in LOGOUT_PATHS],
                "filters": [
                    strip_identity_headers(),
                    {
                        "type": "RequestRedirect",
                        "requestRedirect": {
                            "path": {"type": "ReplaceFullPath", "replaceFullPath": FAB_LOGOUT_PATH},
                            "statusCode": 302,
                        },
                    },
                ],
            },
        ],
    }


def proxy_settings_policy_spec(route: str, api_call: ApiCall, buffer_bytes: int) -> dict[str, Any]:
    """NGF ProxySettingsPolicy (gateway.nginx.org/v1alpha1, NGF 2.6+) on the HTTPS route:
    NGINX waits as long as oauth2-proxy does plus a margin (components/timeouts.py), not its 60 s
    default (nginx/nginx-gateway-fabric#2164), and reads response headers as large as the session's
    (``buffer_bytes`` from components/settings/session_size.py; nginx/nginx-gateway-fabric#4050)."""
    read = f"{api_call.nginx_seconds}s"
    return {
        "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route}],
        "timeout": {"connect": f"{CONNECT_SECONDS}s", "read": read, "send": read},
        "buffering": proxy_buffering(buffer_bytes),
    }


def proxy_buffering(buffer_bytes: int) -> dict[str, Any]:
    """``proxy_buffer_size`` of ``buffer_bytes`` (a multiple of 1 KiB) with ``proxy_buffers`` and
    ``proxy_busy_buffers_size`` that NGINX accepts next to it (:func:`buffering_problems`): setting only
    the first makes the default busy size (2 x the larger buffer) exceed NGINX's bound and the
    configuration fail to load."""
    kib = buffer_bytes // 1024
    return {"bufferSize": f"{kib}k", "buffers": {"number": 4, "size": f"{kib}k"}, "busyBuffersSize": f"{2 * kib}k"}


def nginx_size(value: str) -> int:
    """Bytes of an NGINX size (``16k``, ``1m``, ``512``)."""
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    return int(value[:-1]) * units[value[-1]] if value[-1] in units else int(value)


def buffering_problems(buffering: dict[str, Any], page: int = 4096) -> list[str]:
    """What NGINX's ``nginx -t`` would refuse in a ProxySettingsPolicy ``buffering`` (checks of
    ngx_http_proxy_merge_loc_conf, src/http/modules/ngx_http_proxy_module.c; unset values take NGINX's
    defaults: buffer size one page, 8 buffers of one page, busy size twice the larger of the two)."""
    size = nginx_size(buffering.get("bufferSize", str(page)))
    number = buffering.get("buffers", {}).get("number", 8)
    each = nginx_size(buffering.get("buffers", {}).get("size", str(page)))
    busy = nginx_size(buffering["busyBuffersSize"]) if "busyBuffersSize" in buffering else 2 * max(size, each)
    problems = []
    if number < 2:
        problems.append("there must be at least 2 proxy_buffers")
    if busy < max(size, each):
        problems.append("proxy_busy_buffers_size must be >= proxy_buffer_size and one of proxy_buffers")
    if busy > (number - 1) * each:
        problems.append("proxy_busy_buffers_size must be less than the size of all proxy_buffers minus one buffer")
    return problems


def _parent(listener: str) -> dict[str, Any]:
    return {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY_NAME, "sectionName": listener}
