"""Consul's telemetry: every Envoy's access log in the trail's fields, read from the node; traces over OTLP.

Consul configures all sidecars and gateways from the ``ProxyDefaults`` ``global`` entry:

- ``accessLogs`` (Consul >= 1.15, ProxyDefaults CRD ``spec.accessLogs``): Envoy writes one JSON line per
  connection or request to its stdout, i.e. the ``consul-dataplane`` container's log on the node. The
  format names the attributes of :data:`~components.mesh.provider.ACCESS_LOG_FIELDS` directly, so the
  collector's generic JSON parser (components/observability/collector.py) produces them; a connection the
  intentions refused ends with Envoy's ``rbac_access_denied_matched_policy[...]`` termination detail,
  which becomes ``denied_by``. Listener logs are kept (``disableListenerLogs: false``): they record
  connections that matched no listener, e.g. an exit nobody allowed under ``meshDestinationsOnly``.
- ``config.envoy_tracing_json`` + ``envoy_extra_static_clusters_json`` (Consul docs "Distributed
  tracing"): Envoy's OpenTelemetry tracer sends spans to the collector over OTLP/gRPC. Envoy's own
  connections are not redirected (the dataplane's UID is excluded), so they reach the collector in
  plaintext; the collector's pods therefore keep that port out of their inbound redirection
  (:func:`telemetry_hooks`).

Not collected: Envoy's and the merged application metrics (the chart's ``connectInject.metrics`` exposes
Prometheus on each pod; nothing scrapes it), said in plan/mesh_enforcement.py.
"""

from __future__ import annotations

import json
from typing import Any

from components.mesh.provider import MeshTelemetry, TelemetryHooks

#: Envoy's sidecar container in every injected pod (consul-k8s ``mesh_webhook.go`` ``sidecarContainer``).
SIDECAR_CONTAINER = "consul-dataplane"
#: Envoy prints ``-`` for an empty command operator.
EMPTY = "-"
TRACING_CLUSTER = "otel_collector"
#: One JSON access-log line: the trail's fields first, then what HTTP adds.
ACCESS_LOG_FORMAT = {
    "log_source": "mesh",
    "mesh_provider": "consul",
    "source_identity": "%DOWNSTREAM_PEER_URI_SAN%",
    "destination_identity": "%DOWNSTREAM_LOCAL_URI_SAN%",
    "denied_by": "%CONNECTION_TERMINATION_DETAILS%",
    "status": "%RESPONSE_CODE%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "upstream": "%UPSTREAM_CLUSTER%",
}


def proxy_defaults(telemetry: MeshTelemetry) -> dict[str, Any]:
    """The telemetry part of the ``global`` ProxyDefaults spec (``accessLogs`` and ``config``)."""
    tracer = {
        "http": {
            "name": "envoy.tracers.opentelemetry",
            "typedConfig": {
                "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig",
                "grpcService": {"envoyGrpc": {"clusterName": TRACING_CLUSTER}},
                "serviceName": "consul-envoy",
            },
        }
    }
    cluster = {
        "name": TRACING_CLUSTER,
        "type": "STRICT_DNS",
        "connectTimeout": "5s",
        "typedExtensionProtocolOptions": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicitHttpConfig": {"http2ProtocolOptions": {}},
            }
        },
        "loadAssignment": {
            "clusterName": TRACING_CLUSTER,
            "endpoints": [
                {
                    "lbEndpoints": [
                        {
                            "endpoint": {
                                "address": {
                                    "socketAddress": {"address": telemetry.host, "portValue": telemetry.otlp_grpc_port}
                                }
                            }
                        }
                    ]
                }
            ],
        },
    }
    return {
        "accessLogs": {
            "enabled": True,
            "disableListenerLogs": False,
            "type": "stdout",
            "jsonFormat": json.dumps(ACCESS_LOG_FORMAT, sort_keys=True),
        },
        "config": {
            "envoy_tracing_json": json.dumps(tracer, sort_keys=True),
            "envoy_extra_static_clusters_json": json.dumps(cluster, sort_keys=True),
        },
    }


def telemetry_hooks(plaintext_ports: tuple[int, ...]) -> TelemetryHooks:
    """The collector: its plaintext OTLP port(s) outside the inbound redirection; the sidecars' log files
    from the node, and an operator that drops Envoy's ``-`` so ``denied_by`` is set only on refusals."""
    annotations = (
        {"consul.hashicorp.com/transparent-proxy-exclude-inbound-ports": ",".join(map(str, sorted(plaintext_ports)))}
        if plaintext_ports
        else {}
    )
    return TelemetryHooks(
        collector_pod_annotations=annotations,
        log_paths=(f"/var/log/pods/*/{SIDECAR_CONTAINER}/*.log",),
        log_operators=tuple(
            {
                "type": "remove",
                "id": f"consul-empty-{field}",
                "if": f'attributes.mesh_provider == "consul" and attributes.{field} == "{EMPTY}"',
                "field": f"attributes.{field}",
            }
            for field in ("denied_by", "source_identity", "destination_identity")
        ),
    )
