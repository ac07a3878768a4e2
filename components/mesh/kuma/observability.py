"""Kuma's telemetry: metrics, traces and access logs of every data plane, pushed to the stack's collector.

    MeshOpenTelemetryBackend (the collector's OTLP gRPC address)
      <- MeshMetric (every proxy's Envoy stats), MeshTrace (every request), MeshAccessLog (every
         inbound connection or request, allowed or denied)

The access log is written by the *destination's* proxy on inbound, where both identities are known
from the mTLS handshake: ``%DOWNSTREAM_PEER_URI_SAN%`` is the client's SPIFFE id (its certificate),
``%DOWNSTREAM_LOCAL_URI_SAN%`` the server's own. A connection or request a MeshTrafficPermission did not
allow is refused there by Envoy's RBAC filter, whose decision Envoy records as
``rbac_access_denied_matched_policy[none]`` in ``%RESPONSE_CODE_DETAILS%`` (HTTP, status 403) or
``%CONNECTION_TERMINATION_DETAILS%`` (TCP) (envoy source/extensions/filters/{http,network}/rbac). Both go
into ``denied_by``; an allowed request has ``via_upstream`` or ``-`` there.

kuma-dp and Envoy send this telemetry themselves; that traffic is not redirected through any proxy
(the transparent proxy skips the sidecar's own user), so it reaches the collector without mTLS. The
collector's OTLP gRPC port is therefore excluded from its own sidecar's inbound interception
(:func:`telemetry_hooks`), and the access model lists it as the collector's ``plaintext_ports``.
Applications (Airflow) use OTLP/HTTP on the other port, through the mesh.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.mesh.policy import PART_OF
from components.mesh.provider import MeshTelemetry, TelemetryHooks

API_VERSION = "kuma.io/v1alpha1"
#: Selects the MeshOpenTelemetryBackend from MeshMetric, MeshTrace and MeshAccessLog.
OTEL_BACKEND_LABELS = {"airflow-mesh/otel-backend": "collector"}
#: Sampling of request traces, percent (Airflow's own spans are not sampled by the mesh).
TRACE_SAMPLING_PERCENT = 10

#: The access-log record's attributes (components/mesh/provider.py ACCESS_LOG_FIELDS, plus request
#: details). Keys are static; values are Envoy command operators (envoy docs: access log usage).
ACCESS_LOG_ATTRIBUTES: dict[str, str] = {
    "log_source": "mesh",
    "mesh_provider": "kuma",
    "source_identity": "%DOWNSTREAM_PEER_URI_SAN%",
    "destination_identity": "%DOWNSTREAM_LOCAL_URI_SAN%",
    "denied_by": "%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%",
    "source_address": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "destination_port": "%DOWNSTREAM_LOCAL_PORT%",
    "protocol": "%PROTOCOL%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "status": "%RESPONSE_CODE%",
    "response_flags": "%RESPONSE_FLAGS%",
    "duration_ms": "%DURATION%",
    # Set by oauth2-proxy (pass_user_headers) on requests to Airflow; the gateway strips client copies.
    "user": "%REQ(X-FORWARDED-EMAIL)%",
    "groups": "%REQ(X-FORWARDED-GROUPS)%",
}
ACCESS_LOG_BODY = "%DOWNSTREAM_PEER_URI_SAN% -> %DOWNSTREAM_LOCAL_URI_SAN% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS%"

_BACKEND_REF = {"kind": "MeshOpenTelemetryBackend", "labels": OTEL_BACKEND_LABELS}


def telemetry_hooks(plaintext_ports: tuple[int, ...]) -> TelemetryHooks:
    """The collector's OTLP gRPC port takes the data planes' own telemetry, outside mTLS."""
    annotations = {"traffic.kuma.io/exclude-inbound-ports": ",".join(map(str, plaintext_ports))}
    return TelemetryHooks(collector_pod_annotations=annotations if plaintext_ports else {})


def backend_spec(telemetry: MeshTelemetry) -> dict[str, object]:
    return {"endpoint": {"address": telemetry.host, "port": telemetry.otlp_grpc_port}, "protocol": "grpc"}


def metric_spec() -> dict[str, object]:
    return {
        "targetRef": {"kind": "Mesh"},
        "default": {"backends": [{"type": "OpenTelemetry", "openTelemetry": {"backendRef": _BACKEND_REF}}]},
    }


def trace_spec() -> dict[str, object]:
    return {
        "targetRef": {"kind": "Mesh"},
        "default": {
            "backends": [{"type": "OpenTelemetry", "openTelemetry": {"backendRef": _BACKEND_REF}}],
            "sampling": {"overall": TRACE_SAMPLING_PERCENT},
        },
    }


def access_log_spec() -> dict[str, object]:
    """Inbound (``rules``) on every data plane: the destination logs who came in, and whether it let them."""
    backend = {
        "type": "OpenTelemetry",
        "openTelemetry": {
            "backendRef": _BACKEND_REF,
            "body": ACCESS_LOG_BODY,
            "attributes": [{"key": k, "value": v} for k, v in ACCESS_LOG_ATTRIBUTES.items()],
        },
    }
    return {"targetRef": {"kind": "Mesh"}, "rules": [{"default": {"backends": [backend]}}]}


def telemetry_policies(
    name: str, telemetry: MeshTelemetry, namespace: str, mesh: str, opts: pulumi.ResourceOptions
) -> list[pulumi.Resource]:
    """The backend and the three policies, in ``namespace`` (the system namespace: mesh-wide)."""

    def resource(suffix: str, kind: str, k8s_name: str, spec: dict, extra_labels: dict[str, str], ro):
        metadata = {
            "name": k8s_name,
            "namespace": namespace,
            "labels": {"kuma.io/mesh": mesh, **PART_OF, **extra_labels},
        }
        return k8s.apiextensions.CustomResource(
            f"{name}-{suffix}", api_version=API_VERSION, kind=kind, metadata=metadata, spec=spec, opts=ro
        )

    backend = resource(
        "otel-backend", "MeshOpenTelemetryBackend", "otel-collector", backend_spec(telemetry), OTEL_BACKEND_LABELS, opts
    )
    after = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[backend]))
    return [
        backend,
        resource("otel-metrics", "MeshMetric", "otel-metrics", metric_spec(), {}, after),
        resource("otel-traces", "MeshTrace", "otel-traces", trace_spec(), {}, after),
        resource("access-log", "MeshAccessLog", "access-log", access_log_spec(), {}, after),
    ]
