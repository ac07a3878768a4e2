"""Kuma's timeouts and retries, explicit instead of Kuma's defaults: the mesh never cuts or repeats a request.

Kuma creates ``mesh-timeout-*``, ``mesh-retry-all`` and ``mesh-circuit-breaker-all`` for a new Mesh
unless ``skipCreatingInitialPolicies`` names them (kumahq/kuma ``pkg/defaults/mesh/mesh.go``). On a port
Kuma treats as HTTP those defaults are wrong for an API call of up to ``apiCallTimeoutSeconds``:

- ``mesh-timeout-to-all``: outbound ``http.requestTimeout`` 15 s (``pkg/defaults/mesh/meshtimeout.go``),
  so a call slower than 15 s gets Envoy's 504 from the caller's sidecar while NGINX (125 s) and
  oauth2-proxy (120 s) are still waiting (issue 14, journey 2);
- ``mesh-retry-all``: HTTP ``numRetries`` 5 with ``perTryTimeout`` 16 s on ``gateway-error``
  (``pkg/defaults/mesh/meshretry.go``, ``pkg/plugins/policies/meshretry/plugin/xds/configurer.go``
  ``HttpRetryOnDefault``). Envoy retries a per-try timeout as a gateway error, so a ``POST`` slower
  than 16 s (trigger a DAG run, clear task instances) reaches Airflow up to six times.

The oauth2-proxy chart's Service declares ``appProtocol: http`` on its port, so the NGINX ->
oauth2-proxy hop of every person's and machine's request is HTTP to Kuma
(``pkg/plugins/runtime/k8s/controllers/inbound_converter.go`` ``ProtocolTagFor``). The policies below
replace Kuma's: no request timeout in the mesh (the edge layers own them, components/timeouts.py),
idle and connect timeouts as Kuma's, and retries only on failures where the request never reached
the application (connect failure, refused stream), which are safe for every method.
Kuma's default circuit breaker (outlier detection) is kept.
"""

from __future__ import annotations

#: Kuma's initial policies this module replaces (added to the Mesh's ``skipCreatingInitialPolicies``).
REPLACED_INITIAL_POLICIES = ("MeshTimeout", "MeshRetry")
#: Retry conditions where the request never reached the application (Envoy ``connect-failure``,
#: ``refused-stream``): retrying them cannot run an API call twice.
SAFE_HTTP_RETRY_ON = ("ConnectFailure", "RefusedStream")
#: Kuma's own connect and idle timeouts (pkg/plugins/policies/core/defaults: 5 s, 1 h; inbound x2).
CONNECT_TIMEOUT = "5s"
IDLE_TIMEOUT = "1h"
#: A request stream with no data for this long is closed (Kuma's outbound default: 30 min).
STREAM_IDLE_TIMEOUT = "30m"
#: ``0s``: no request timeout in the mesh (Envoy disables the timer at zero).
NO_REQUEST_TIMEOUT = "0s"


def inbound_timeout_spec() -> dict[str, object]:
    """MeshTimeout for every proxy's inbound (``rules``; ``rules`` and ``to`` cannot share a policy)."""
    return {
        "targetRef": {"kind": "Mesh"},
        "rules": [
            {
                "default": {
                    "connectionTimeout": "10s",
                    "idleTimeout": "2h",
                    "http": {
                        "requestTimeout": NO_REQUEST_TIMEOUT,
                        "streamIdleTimeout": "1h",
                        "maxStreamDuration": NO_REQUEST_TIMEOUT,
                    },
                }
            }
        ],
    }


def outbound_timeout_spec() -> dict[str, object]:
    """MeshTimeout for every proxy's outbound, to every destination."""
    return {
        "targetRef": {"kind": "Mesh"},
        "to": [
            {
                "targetRef": {"kind": "Mesh"},
                "default": {
                    "connectionTimeout": CONNECT_TIMEOUT,
                    "idleTimeout": IDLE_TIMEOUT,
                    "http": {"requestTimeout": NO_REQUEST_TIMEOUT, "streamIdleTimeout": STREAM_IDLE_TIMEOUT},
                },
            }
        ],
    }


def retry_spec() -> dict[str, object]:
    """MeshRetry for every proxy's outbound: reconnects, never a request the application may have seen.

    No ``perTryTimeout`` (none then applies besides the request timeout, which is off)."""
    return {
        "targetRef": {"kind": "Mesh"},
        "to": [
            {
                "targetRef": {"kind": "Mesh"},
                "default": {
                    "tcp": {"maxConnectAttempt": 5},
                    "http": {
                        "numRetries": 3,
                        "retryOn": list(SAFE_HTTP_RETRY_ON),
                        "backOff": {"baseInterval": "25ms", "maxInterval": "250ms"},
                    },
                    "grpc": {
                        "numRetries": 3,
                        "retryOn": ["Unavailable"],
                        "backOff": {"baseInterval": "25ms", "maxInterval": "250ms"},
                    },
                },
            }
        ],
    }


#: (resource suffix, kind, metadata name, spec builder) of every policy this module adds.
POLICIES = (
    ("timeout-inbound", "MeshTimeout", "mesh-timeout-inbound", inbound_timeout_spec),
    ("timeout-outbound", "MeshTimeout", "mesh-timeout-outbound", outbound_timeout_spec),
    ("retry", "MeshRetry", "mesh-retry", retry_spec),
)
