"""The OpenTelemetry Collector's configuration and Helm values, as pure functions of :class:`CollectorInputs`.

One collector per node (DaemonSet, chart ``opentelemetry-collector`` 0.170.0, image
``otelcol-contrib`` 0.158.0), in the mesh:

    receivers                       processors                        exporters
    otlp  grpc :4317 (mesh proxies) memory_limiter                    awsemf     -> metrics log group (EMF)
          http :4318 (Airflow)      transform/trail   (logs)          awscloudwatchlogs -> access trail
    file_log (edge, task pods,       transform/metrics (metrics)       awsxray    -> X-Ray
              mesh logs of nodes)   batch                             otlp/extra -> otelEndpoint (optional)
    prometheus/cert-manager

Why each piece:
- **contrib, not k8s**: the Kubernetes distribution (the chart's recommendation) has no AWS exporter;
  every component used here is in ``distributions/otelcol-contrib/manifest.yaml`` at v0.158.0
  (open-telemetry/opentelemetry-collector-releases), listed in :data:`CONTRIB_COMPONENTS`.
- **a DaemonSet**: edge access logs and Istio's ztunnel lines exist only as pod log files on the
  node, so each node's collector tails its own node's files (read-only hostPath). That makes the
  ``observability`` namespace the one meshed namespace whose Pod Security is ``privileged``.
- **alternateConfig**: the chart's default ``config`` brings jaeger, zipkin and a self-scraping
  prometheus receiver and a debug exporter; ``alternateConfig`` is the chart's way to own the whole
  configuration (values.yaml), so what is written here is exactly what runs.
- **metrics as EMF**: ``awsemf`` writes metrics as embedded-metric-format log events that CloudWatch
  turns into metrics, so the role needs no ``cloudwatch:PutMetricData`` (grants.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components import sizing, versions
from components.platform import (
    CERT_MANAGER_METRICS_PORT,
    CERT_MANAGER_NAMESPACE,
    COLLECTOR_LOG_STREAM_PREFIX,
    COLLECTOR_NAME,
    EDGE_NAMESPACE,
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    TASK_TAINT,
)

#: Component types of otelcol-contrib 0.158.0 this configuration uses (each checked by hand against
#: distributions/otelcol-contrib/manifest.yaml at tag v0.158.0; the tests keep the config inside it).
CONTRIB_COMPONENTS: dict[str, frozenset[str]] = {
    "receivers": frozenset({"otlp", "file_log", "prometheus"}),
    "processors": frozenset({"memory_limiter", "batch", "transform"}),
    "exporters": frozenset({"awsemf", "awscloudwatchlogs", "awsxray", "otlp"}),
    "extensions": frozenset({"health_check"}),
    "connectors": frozenset(),
}
#: Where the kubelet writes container logs; the collector mounts it read-only.
POD_LOGS = "/var/log/pods"
#: The collector's namespace: Pod Security "baseline" forbids hostPath volumes, which the node's pod
#: logs need; warn and audit stay at "restricted" like every meshed namespace.
NAMESPACE_LABELS = {"pod-security.kubernetes.io/enforce": "privileged"}
#: Container names whose lines become the access trail (NGF's data plane, oauth2-proxy, task pods:
#: the KubernetesExecutor names the task container ``base``).
EDGE_CONTAINERS = {"nginx": "edge-gateway", "oauth2-proxy": "edge-oauth2-proxy"}
TASK_CONTAINER = "base"
#: cert-manager's metric with each Certificate's notAfter (seconds since the epoch); the collector turns
#: it into seconds left, which CloudWatch can alarm on (metric math has no clock).
CERT_EXPIRY_METRIC = "certmanager_certificate_expiration_timestamp_seconds"
CERT_SECONDS_LEFT_METRIC = "certificate_seconds_to_expiry"


@dataclass(frozen=True)
class CollectorInputs:
    """Everything the configuration depends on, as plain data."""

    stack: str
    region: str
    access_trail_log_group: str
    metrics_log_group: str
    #: CloudWatch metrics namespace (``AirflowMesh/<stack>``).
    metrics_namespace: str
    #: Data-domain names; their DAG ids start with ``<domain>_`` (components/airflow/domains.py).
    domains: tuple[str, ...] = ()
    #: Namespace whose task pods' lines join the trail -> the identity those pods run as.
    task_identities: Mapping[str, str] = field(default_factory=dict)
    #: Extra OTLP gRPC endpoint (``host:443``); empty: none.
    otel_endpoint: str = ""
    #: From the mesh provider (components/mesh/provider.py TelemetryHooks).
    mesh_log_paths: tuple[str, ...] = ()
    mesh_log_operators: tuple[Mapping[str, Any], ...] = ()
    collector_pod_annotations: Mapping[str, str] = field(default_factory=dict)


def log_paths(inputs: CollectorInputs) -> list[str]:
    """Pod-log globs the file_log receiver reads: the edge, the task pods, the mesh's own (if any)."""
    edge = [f"{POD_LOGS}/{EDGE_NAMESPACE}_*/{container}/*.log" for container in EDGE_CONTAINERS]
    tasks = [f"{POD_LOGS}/{ns}_*/{TASK_CONTAINER}/*.log" for ns in sorted(inputs.task_identities)]
    return [*edge, *tasks, *inputs.mesh_log_paths]


def receivers(inputs: CollectorInputs) -> dict[str, Any]:
    operators: list[dict[str, Any]] = [
        # The kubelet's CRI format; adds k8s.namespace.name, k8s.pod.name, k8s.container.name from the path.
        {"type": "container", "id": "container"},
        # NGINX (format in components/edge), oauth2-proxy and Airflow's task runner log JSON lines.
        {"type": "json_parser", "id": "json", "if": 'body matches "^\\\\{"', "parse_to": "attributes"},
        *(dict(op) for op in inputs.mesh_log_operators),
    ]
    return {
        "otlp": {
            "protocols": {
                "grpc": {"endpoint": f"${{env:MY_POD_IP}}:{OTLP_GRPC_PORT}"},
                "http": {"endpoint": f"${{env:MY_POD_IP}}:{OTLP_HTTP_PORT}"},
            }
        },
        # ``file_log``: the filelog receiver's name since contrib v0.149.0 (the chart's UPGRADING.md, 0.168.0).
        "file_log": {"include": log_paths(inputs), "start_at": "end", "operators": operators},
        "prometheus/cert-manager": {
            "config": {
                "scrape_configs": [
                    {
                        "job_name": "cert-manager",
                        "scrape_interval": "60s",
                        "static_configs": [
                            {"targets": [f"cert-manager.{CERT_MANAGER_NAMESPACE}.svc:{CERT_MANAGER_METRICS_PORT}"]}
                        ],
                        "metric_relabel_configs": [
                            {"source_labels": ["__name__"], "regex": CERT_EXPIRY_METRIC, "action": "keep"}
                        ],
                    }
                ]
            }
        },
    }


def _is(key: str, value: str) -> str:
    return f'resource.attributes["{key}"] == "{value}"'


def trail_statements(inputs: CollectorInputs) -> list[str]:
    """OTTL (log context): name where each node-read line came from, and who the task pods ran as."""
    out = [
        f'set(attributes["log_source"], "{source}") where {_is("k8s.namespace.name", EDGE_NAMESPACE)} '
        f"and {_is('k8s.container.name', container)}"
        for container, source in EDGE_CONTAINERS.items()
    ]
    for namespace, identity in sorted(inputs.task_identities.items()):
        where = f"{_is('k8s.namespace.name', namespace)} and {_is('k8s.container.name', TASK_CONTAINER)}"
        out.append(f'set(attributes["log_source"], "task") where {where}')
        out.append(f'set(attributes["identity"], "{identity}") where {where}')
    out.append(f'set(attributes["stack"], "{inputs.stack}")')
    return out


def metric_statements(inputs: CollectorInputs) -> list[dict[str, Any]]:
    """OTTL: a ``domain`` on task metrics (from the DAG id's prefix), seconds left on certificates."""
    datapoint = [
        f'set(datapoint.attributes["domain"], "{d}") where IsMatch(datapoint.attributes["dag_id"], "^{d}_")'
        for d in inputs.domains
    ]
    datapoint.append(
        'set(datapoint.attributes["domain"], "platform") where datapoint.attributes["dag_id"] != nil '
        'and datapoint.attributes["domain"] == nil'
    )
    datapoint.append(
        f"set(datapoint.value_double, datapoint.value_double - Double(UnixSeconds(Now()))) "
        f'where metric.name == "{CERT_EXPIRY_METRIC}"'
    )
    rename = f'set(metric.name, "{CERT_SECONDS_LEFT_METRIC}") where metric.name == "{CERT_EXPIRY_METRIC}"'
    return [{"context": "datapoint", "statements": datapoint}, {"context": "metric", "statements": [rename]}]


#: Metrics the dashboard and alarms read, and the dimensions they keep (everything else is dropped
#: by awsemf's declarations, so a DAG or task id never becomes a CloudWatch dimension).
METRIC_DECLARATIONS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("service.name",),
        ("airflow.scheduler_heartbeat", "airflow.executor.queued_tasks", "airflow.executor.running_tasks"),
    ),
    (("service.name", "domain"), ("airflow.ti_successes", "airflow.ti_failures")),
    (("namespace", "name"), (CERT_SECONDS_LEFT_METRIC,)),
)


def exporters(inputs: CollectorInputs) -> dict[str, Any]:
    stream = f"{COLLECTOR_LOG_STREAM_PREFIX}${{env:OTEL_K8S_NODE_NAME}}"
    out: dict[str, Any] = {
        "awsemf": {
            "region": inputs.region,
            "namespace": inputs.metrics_namespace,
            "log_group_name": inputs.metrics_log_group,
            "log_stream_name": stream,
            "dimension_rollup_option": "NoDimensionRollup",
            # service.name (and cert-manager's labels) become dimensions only where a declaration asks.
            "resource_to_telemetry_conversion": {"enabled": True},
            "metric_declarations": [
                {
                    "dimensions": [list(dims)],
                    "metric_name_selectors": [f"^{name}$".replace(".", "\\.") for name in names],
                }
                for dims, names in METRIC_DECLARATIONS
            ],
        },
        "awscloudwatchlogs/trail": {
            "region": inputs.region,
            "log_group_name": inputs.access_trail_log_group,
            "log_stream_name": stream,
            # Records keep body, attributes and resource as JSON, which Logs Insights indexes.
            "raw_log": False,
        },
        "awsxray": {"region": inputs.region, "indexed_attributes": ["dag_id", "task_id", "run_id"]},
    }
    if inputs.otel_endpoint:
        out["otlp/extra"] = {"endpoint": inputs.otel_endpoint, "tls": {"insecure": False}}
    return out


def collector_config(inputs: CollectorInputs) -> dict[str, Any]:
    """The whole collector configuration (the chart's ``alternateConfig``)."""
    extra = ["otlp/extra"] if inputs.otel_endpoint else []
    processors = ["memory_limiter"]
    return {
        "extensions": {"health_check": {"endpoint": "${env:MY_POD_IP}:13133"}},
        "receivers": receivers(inputs),
        "processors": {
            "memory_limiter": {"check_interval": "5s", "limit_percentage": 80, "spike_limit_percentage": 25},
            "batch": {},
            "transform/trail": {
                "error_mode": "ignore",
                "log_statements": [{"context": "log", "statements": trail_statements(inputs)}],
            },
            "transform/metrics": {"error_mode": "ignore", "metric_statements": metric_statements(inputs)},
        },
        "exporters": exporters(inputs),
        "service": {
            "extensions": ["health_check"],
            "pipelines": {
                "logs": {
                    "receivers": ["otlp", "file_log"],
                    "processors": [*processors, "transform/trail", "batch"],
                    "exporters": ["awscloudwatchlogs/trail", *extra],
                },
                "metrics": {
                    "receivers": ["otlp", "prometheus/cert-manager"],
                    "processors": [*processors, "transform/metrics", "batch"],
                    "exporters": ["awsemf", *extra],
                },
                "traces": {
                    "receivers": ["otlp"],
                    "processors": [*processors, "batch"],
                    "exporters": ["awsxray", *extra],
                },
            },
        },
    }


def helm_values(inputs: CollectorInputs, service_account: str) -> dict[str, Any]:
    """Values of the chart (validated, merged over its values.yaml, against its closed schema)."""
    disabled = {"enabled": False}
    return {
        "mode": "daemonset",
        "nameOverride": COLLECTOR_NAME,
        "fullnameOverride": COLLECTOR_NAME,
        # The chart ships no default image (upstream README): the contrib distribution, pinned.
        "image": {"repository": versions.OTEL_COLLECTOR_IMAGE, "tag": versions.OTEL_COLLECTOR_VERSION},
        "command": {"name": "otelcol-contrib"},
        # Made by the identity layer, annotated with the collector's IAM role.
        "serviceAccount": {"create": False, "name": service_account},
        "alternateConfig": collector_config(inputs),
        "ports": {
            # No host ports: clients use the Service, and Pod Security would have to allow them.
            "otlp": {"enabled": True, "hostPort": 0},
            "otlp-http": {"enabled": True, "hostPort": 0},
            "jaeger-compact": disabled,
            "jaeger-thrift": disabled,
            "jaeger-grpc": disabled,
            "zipkin": disabled,
        },
        # A Service for a DaemonSet is off by default; the mesh proxies pick its endpoints themselves,
        # so node-local routing (the chart's daemonset default) would only get in their way.
        "service": {"enabled": True, "internalTrafficPolicy": "Cluster"},
        "podAnnotations": dict(inputs.collector_pod_annotations),
        "extraVolumes": [{"name": "pod-logs", "hostPath": {"path": POD_LOGS, "type": "Directory"}}],
        "extraVolumeMounts": [{"name": "pod-logs", "mountPath": POD_LOGS, "readOnly": True}],
        # Pod log files are root-owned (0640): read as root, with no capability and nothing writable.
        "securityContext": {
            "runAsUser": 0,
            "runAsGroup": 0,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        # On the pod too: the mesh sidecar injected beside it sets no seccomp profile of its own.
        "podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        # One collector per node, each bounded; the system node group is sized by the same numbers.
        "resources": sizing.COLLECTOR.helm(),
        # Every node, the task nodes included (their pods log too), but only once the mesh's CNI is
        # ready there: the collector is meshed, so it must not tolerate the mesh's startup taint
        # (mesh.node_startup; tolerating everything would start it unredirected on a new node,
        # kumahq/kuma#18741). Tolerating the task taint alone leaves it waiting like every meshed pod.
        "tolerations": [{"key": TASK_TAINT["key"], "operator": "Exists"}],
    }
