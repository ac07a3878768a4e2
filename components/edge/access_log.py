"""Access-log formats of the edge: one JSON line per request, naming who made it.

- NGINX (NGF's data plane, ``NginxProxy.spec.logging.accessLog``, JSON-escaped): the authenticated user
  and groups come from the ``X-Auth-Request-*`` response headers oauth2-proxy adds (``set_xauthrequest``);
  NGINX still has them in ``$upstream_http_*`` after the route removes them from the response, so the
  client never sees them. Empty on requests oauth2-proxy turned away.
- oauth2-proxy: its request log (with ``{{.Username}}``) and its authentication log (sign-ins, with
  ``{{.Status}}`` and ``{{.Message}}``, which names the session's groups).

The collector parses every line as JSON into attributes (components/observability/collector.py), so
each field below is a field of the access trail (docs/observability.md). NGF refuses single quotes and
line breaks in the format (its CRD pattern), and oauth2-proxy's are Go templates.
"""

from __future__ import annotations

import json

_NGINX_FIELDS = {
    "time": "$time_iso8601",
    "request_id": "$request_id",
    "client": "$remote_addr",
    "host": "$host",
    "method": "$request_method",
    "uri": "$request_uri",
    "status": "$status",
    "bytes": "$body_bytes_sent",
    "request_time": "$request_time",
    "upstream_status": "$upstream_status",
    "user": "$upstream_http_x_auth_request_email",
    "username": "$upstream_http_x_auth_request_user",
    "groups": "$upstream_http_x_auth_request_groups",
    "user_agent": "$http_user_agent",
}
#: Numbers stay numbers, so metric filters can compare them (``status >= 500``).
_NGINX_NUMBERS = ("status", "bytes", "request_time")

NGINX_LOG_FORMAT = (
    "{" + ",".join(f'"{k}":{v}' if k in _NGINX_NUMBERS else f'"{k}":"{v}"' for k, v in _NGINX_FIELDS.items()) + "}"
)

REQUEST_LOG_FORMAT = json.dumps(
    {
        "log": "request",
        "time": "{{.Timestamp}}",
        "request_id": "{{.RequestID}}",
        "client": "{{.Client}}",
        "user": "{{.Username}}",
        "method": "{{.RequestMethod}}",
        "uri": "{{.RequestURI}}",
        "upstream": "{{.Upstream}}",
        "status": "{{.StatusCode}}",
        "duration": "{{.RequestDuration}}",
    },
    separators=(",", ":"),
)
AUTH_LOG_FORMAT = json.dumps(
    {
        "log": "auth",
        "time": "{{.Timestamp}}",
        "request_id": "{{.RequestID}}",
        "client": "{{.Client}}",
        "user": "{{.Username}}",
        "status": "{{.Status}}",
        "message": "{{.Message}}",
    },
    separators=(",", ":"),
)
