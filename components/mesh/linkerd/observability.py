"""Linkerd's telemetry: what the edge release can give the access trail and the collector.

- **Access logs**: the proxy's HTTP access log (docs/2-edge/features/access-logging.md), switched on by
  the ``config.linkerd.io/access-log: json`` annotation, which the injector honours on a namespace as on
  a pod (linkerd2 ``pkg/k8s/labels.go`` ``ProxyAccessLogAnnotation``). Each inbound and outbound HTTP
  request becomes one JSON line in the ``linkerd-proxy`` container's log, read from the node. The line
  names the client's identity (``client.id``, Linkerd's ``<sa>.<ns>.serviceaccount.identity.linkerd.
  <domain>`` form, not a SPIFFE URI): it becomes ``source_identity``. There is no field for the server's
  identity (the pod's own, in the record's Kubernetes attributes) nor for a policy decision, so
  ``destination_identity`` and ``denied_by`` stay empty, and plain TCP (not HTTP) is not logged at all.
- **Traces**: the proxies and controllers export spans over OTLP/gRPC to the collector, verified by its
  mesh identity (components/mesh/linkerd/component.py ``control_plane_values``).
- **Metrics**: each proxy serves Prometheus on its admin port 4191; nothing here scrapes it.
"""

from __future__ import annotations

from components.mesh.provider import TelemetryHooks

ACCESS_LOG_ANNOTATION = "config.linkerd.io/access-log"
PROXY_CONTAINER = "linkerd-proxy"
_CLIENT = 'attributes["client.id"]'


def telemetry_hooks() -> TelemetryHooks:
    """The proxies' access lines (already parsed by the collector's JSON operator) marked as mesh records,
    the client's identity moved to ``source_identity``. Nothing is pushed outside mTLS: the collector
    is meshed and verified by identity, so its pods need no annotation."""
    when = f"{_CLIENT} != nil"
    return TelemetryHooks(
        log_paths=(f"/var/log/pods/*/{PROXY_CONTAINER}/*.log",),
        log_operators=(
            {"type": "add", "id": "linkerd-log-source", "if": when, "field": "attributes.log_source", "value": "mesh"},
            {
                "type": "add",
                "id": "linkerd-provider",
                "if": when,
                "field": "attributes.mesh_provider",
                "value": "linkerd",
            },
            {"type": "move", "id": "linkerd-source", "if": when, "from": _CLIENT, "to": "attributes.source_identity"},
        ),
    )
