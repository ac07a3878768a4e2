"""Istio's telemetry: ztunnel's access logs from the node, traces and access logs of waypoints over OTLP.

In ambient mode without waypoints the only data plane is ztunnel, which neither reads the Telemetry
API nor pushes OTLP: it writes one ``access`` line per connection to stdout, with both identities
(``src.identity="spiffe://..."``, ``dst.identity="spiffe://..."``) and, when an AuthorizationPolicy
refused the connection, an ``error="connection closed due to policy rejection: ..."`` field (example
lines in istio/ztunnel#1273; plain text, as ztunnel's chart default ``logAsJson: false`` leaves it).
:func:`telemetry_hooks` names those log files and turns the lines into the access trail's fields
(components/mesh/provider.py ``ACCESS_LOG_FIELDS``); the collector reads them from the node.

Waypoints (Envoy), once a namespace gets one, do read the Telemetry API: the mesh-wide
:func:`telemetry_spec` sends their traces and access logs to the collector through the two extension
providers declared in istiod's ``meshConfig`` (:func:`mesh_config`).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.mesh.policy import PART_OF
from components.mesh.provider import MeshTelemetry, TelemetryHooks

TRACING_PROVIDER = "otel-tracing"
ACCESS_LOG_PROVIDER = "otel-access-log"
TRACE_SAMPLING_PERCENT = 10
#: ztunnel's pods (DaemonSet ``ztunnel`` in istio-system, container ``istio-proxy``) as the kubelet
#: names their log files: ``/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log``.
ZTUNNEL_LOGS = "/var/log/pods/{namespace}_ztunnel-*/istio-proxy/*.log"


def mesh_config(telemetry: MeshTelemetry) -> dict[str, Any]:
    """istiod ``meshConfig``: the collector as an OpenTelemetry tracing and access-log provider."""
    labels = {
        "log_source": "mesh",
        "mesh_provider": "istio",
        "source_identity": "%DOWNSTREAM_PEER_URI_SAN%",
        "destination_identity": "%DOWNSTREAM_LOCAL_URI_SAN%",
        "denied_by": "%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%",
        "status": "%RESPONSE_CODE%",
        "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    }
    return {
        "extensionProviders": [
            {
                "name": TRACING_PROVIDER,
                "opentelemetry": {"service": telemetry.host, "port": telemetry.otlp_grpc_port},
            },
            {
                "name": ACCESS_LOG_PROVIDER,
                "envoyOtelAls": {
                    "service": telemetry.host,
                    "port": telemetry.otlp_grpc_port,
                    "logFormat": {"labels": labels},
                },
            },
        ]
    }


def telemetry_spec() -> dict[str, Any]:
    """Mesh-wide (root namespace) Telemetry: every waypoint traces and logs to the collector."""
    return {
        "tracing": [{"providers": [{"name": TRACING_PROVIDER}], "randomSamplingPercentage": TRACE_SAMPLING_PERCENT}],
        "accessLogging": [{"providers": [{"name": ACCESS_LOG_PROVIDER}]}],
    }


def telemetry_hooks(system_namespace: str) -> TelemetryHooks:
    """ztunnel's access lines, read from the node and parsed into the access trail's fields."""
    identities = 'src\\.identity="(?P<source_identity>[^"]*)".*dst\\.identity="(?P<destination_identity>[^"]*)"'
    return TelemetryHooks(
        log_paths=(ZTUNNEL_LOGS.format(namespace=system_namespace),),
        log_operators=(
            {
                "type": "regex_parser",
                "id": "ztunnel-identities",
                "if": 'body matches "src\\\\.identity="',
                "regex": identities,
                "parse_from": "body",
                "parse_to": "attributes",
            },
            {
                "type": "regex_parser",
                "id": "ztunnel-denied",
                "if": 'body matches "policy rejection"',
                "regex": 'error="(?P<denied_by>[^"]*)"',
                "parse_from": "body",
                "parse_to": "attributes",
            },
            {
                "type": "add",
                "id": "ztunnel-source",
                "if": "attributes.source_identity != nil",
                "field": "attributes.log_source",
                "value": "mesh",
            },
            {
                "type": "add",
                "id": "ztunnel-provider",
                "if": "attributes.source_identity != nil",
                "field": "attributes.mesh_provider",
                "value": "istio",
            },
        ),
    )


def telemetry_resource(name: str, namespace: str, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        f"{name}-telemetry",
        api_version="telemetry.istio.io/v1",
        kind="Telemetry",
        metadata={"name": "mesh-default", "namespace": namespace, "labels": PART_OF},
        spec=telemetry_spec(),
        opts=opts,
    )
