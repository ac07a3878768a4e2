"""Names and numbers every layer shares: namespaces, release names, ports, fixed addresses.

The bottom of the stack next to ``versions.py``: plain constants, no imports of the project. The
settings validate against them (the Service CIDR), the access model builds workloads from them and
each layer names its objects with them, so a port or a namespace is spelled in one place.
"""

AIRFLOW_NAMESPACE = "airflow"
EDGE_NAMESPACE = "edge"
CERT_MANAGER_NAMESPACE = "cert-manager"
#: The OpenTelemetry Collector (components/observability) runs here, in the mesh.
OBSERVABILITY_NAMESPACE = "observability"
#: Helm release name of Airflow; the chart prefixes its Services with it.
AIRFLOW_RELEASE = "airflow"
API_SERVER_PORT = 8080
#: How long a person's session lasts at the edge (oauth2-proxy ``cookie_expire``) and, never longer, in
#: Airflow (``[api_auth] jwt_expiration_time`` of the ``_token`` cookie, FAB's session lifetime).
EDGE_SESSION_SECONDS = 12 * 3600
PGBOUNCER_PORT = 6543
OAUTH2_PROXY_PORT = 4180
DATABASE_PORT = 5432
REDIS_PORT = 6379
#: Airflow's log servers (chart ``ports.workerLogs`` / ``ports.triggererLogs``): the api-server reads a
#: running Celery task's log from its worker, and a deferred task's from the triggerer that runs it.
WORKER_LOG_PORT = 8793
TRIGGERER_LOG_PORT = 8794
#: The cluster's Service CIDR is fixed (components/cluster/component.py) so the in-cluster API address is known:
#: the first address of the range. Meshed clients of the Kubernetes API reach it through this exit.
KUBERNETES_SERVICE_CIDR = "172.20.0.0/16"
KUBERNETES_API = "172.20.0.1"
#: Workloads that talk to the Kubernetes API: the scheduler launches and watches task pods, the
#: api-server and triggerer read pod logs and events, the NGF controller watches Gateway API objects.
KUBERNETES_API_CLIENTS = ("airflow-scheduler", "airflow-api-server", "airflow-triggerer", "edge-controller")
#: Label carried by a domain's task pods (set by its pod template); mesh policies select on it.
DOMAIN_LABEL = "airflow-mesh/domain"
#: The cluster's StorageClass (components/cluster/storage.py): encrypted gp3 EBS volumes, the cluster
#: default. Charts that claim volumes name it explicitly.
STORAGE_CLASS = "gp3"
#: Remote task logs live under this prefix of the log bucket; Airflow writes ``dag_id=<id>/...`` below it.
LOG_PREFIX = "logs"


#: NGINX Gateway Fabric 2.x provisions one data plane per Gateway and names its Deployment, Service and
#: ServiceAccount ``<gateway>-<gatewayclass>``; its pods carry the gateway-name label.
GATEWAY_NAME = "airflow"
GATEWAY_CLASS = "nginx"
GATEWAY_SERVICE_ACCOUNT = f"{GATEWAY_NAME}-{GATEWAY_CLASS}"
GATEWAY_SELECTOR = {"gateway.networking.k8s.io/gateway-name": GATEWAY_NAME}
#: The NGF control plane is the Helm release of this name: its ServiceAccount, its pod labels, and the
#: port its agents (the data-plane pods) stream configuration from.
GATEWAY_CONTROLLER = "nginx-gateway-fabric"
GATEWAY_CONTROLLER_SELECTOR = {
    "app.kubernetes.io/name": GATEWAY_CONTROLLER,
    "app.kubernetes.io/instance": GATEWAY_CONTROLLER,
}
GATEWAY_AGENT_PORT = 8443
#: oauth2-proxy's Helm release name (its Service, and the prefix of the redis-ha subchart's objects).
OAUTH2_PROXY_RELEASE = "oauth2-proxy"
REDIS_PORTS = (6379, 26379)

#: Karpenter (capacity layer): its namespace and the ServiceAccount its chart creates, which the
#: controller's IAM role trusts (access model).
KARPENTER_NAMESPACE = "karpenter"
KARPENTER_SERVICE_ACCOUNT = "karpenter"
#: Label every node carries to say what it is for (managed node groups and Karpenter NodePools).
NODE_ROLE_LABEL = "airflow-mesh/node-role"
SYSTEM_NODE_ROLE = "system"
#: Task nodes: Karpenter NodePools label and taint them; task pod templates select and tolerate them,
#: so platform pods never land there and task pods never crowd the system nodes.
TASK_NODE_ROLE = "tasks"
TASK_TAINT = {"key": "airflow-mesh/tasks", "value": "true", "effect": "NoSchedule"}
#: Tag that Karpenter's EC2NodeClass selects the private subnets and the node security group by.
KARPENTER_DISCOVERY_TAG = "karpenter.sh/discovery"

#: The OpenTelemetry Collector's Helm release; ``fullnameOverride`` makes its Service, DaemonSet and
#: ConfigMap carry exactly this name. Its ServiceAccount is made by the identity layer (IRSA role).
COLLECTOR_NAME = "otel-collector"
COLLECTOR_SELECTOR = {"app.kubernetes.io/name": COLLECTOR_NAME, "app.kubernetes.io/instance": COLLECTOR_NAME}
#: Each collector writes its own log streams, ``<prefix><node name>``; its IAM role can write no others.
COLLECTOR_LOG_STREAM_PREFIX = "collector-"
COLLECTOR_HOST = f"{COLLECTOR_NAME}.{OBSERVABILITY_NAMESPACE}.svc.cluster.local"
#: OTLP over gRPC: the mesh data planes' own telemetry (Kuma's kuma-dp and Envoy push it themselves).
OTLP_GRPC_PORT = 4317
#: OTLP over HTTP: Airflow's exporters (``opentelemetry.exporter.otlp.proto.http``) send here, through the mesh.
OTLP_HTTP_PORT = 4318
#: cert-manager's controller serves Prometheus metrics (certificate expiry) on this port.
CERT_MANAGER_METRICS_PORT = 9402
