"""Mesh layer: mutual TLS and deny-by-default between workloads, exactly along the access model's edges.

Owns the provider interface (:mod:`.provider`), the helpers every provider shares (:mod:`.policy`),
the providers (:mod:`.kuma`, :mod:`.istio`, :mod:`.linkerd`, :mod:`.consul`) and the dispatcher (:mod:`.component`).
Takes the access model and settings, the namespaces of the identity layer and the root issuer of the certificates
layer; gives the edge and Airflow layers ``ready`` to wait for, and every layer the namespace labels and
annotations and pod annotations of the chosen provider.
"""

from components.mesh.component import (
    PROVIDERS,
    Mesh,
    entry_point_pod_annotations,
    gateway_api_channel,
    http_service_annotations,
    job_pod_annotations,
    namespace_annotations,
    namespace_labels,
    node_startup,
    provider_class,
    startup_taints,
    telemetry_hooks,
    workload_pod_annotations,
)
from components.mesh.policy import PART_OF, POD_SECURITY_LABELS, Permission, entry_points, k8s_name, permissions
from components.mesh.provider import (
    ACCESS_LOG_FIELDS,
    MeshArgs,
    MeshProvider,
    MeshTelemetry,
    NodeStartup,
    Provider,
    TelemetryHooks,
)

__all__ = [
    "ACCESS_LOG_FIELDS",
    "PART_OF",
    "POD_SECURITY_LABELS",
    "PROVIDERS",
    "Mesh",
    "MeshArgs",
    "MeshProvider",
    "MeshTelemetry",
    "NodeStartup",
    "Permission",
    "Provider",
    "TelemetryHooks",
    "entry_point_pod_annotations",
    "entry_points",
    "gateway_api_channel",
    "http_service_annotations",
    "job_pod_annotations",
    "k8s_name",
    "namespace_annotations",
    "namespace_labels",
    "node_startup",
    "permissions",
    "provider_class",
    "startup_taints",
    "telemetry_hooks",
    "workload_pod_annotations",
]
