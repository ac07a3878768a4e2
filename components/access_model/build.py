"""How the access model of one stack is built from its settings: every workload, edge and exit.

Nothing is allowed that this function does not list; :mod:`components.access_model.grants` holds
the IAM templates it hands out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.access_model.grants import (
    collector_grants,
    domain_grants,
    logs_read,
    logs_write,
    secrets_read_grants,
)
from components.access_model.karpenter import karpenter_grants
from components.access_model.model import AccessModel, Edge, Egress, Grant, Ref, Workload
from components.platform import (
    AIRFLOW_NAMESPACE,
    AIRFLOW_RELEASE,
    API_SERVER_PORT,
    CERT_MANAGER_METRICS_PORT,
    CERT_MANAGER_NAMESPACE,
    COLLECTOR_LOG_STREAM_PREFIX,
    COLLECTOR_NAME,
    COLLECTOR_SELECTOR,
    DATABASE_PORT,
    DOMAIN_LABEL,
    EDGE_NAMESPACE,
    GATEWAY_AGENT_PORT,
    GATEWAY_CONTROLLER,
    GATEWAY_CONTROLLER_SELECTOR,
    GATEWAY_SELECTOR,
    GATEWAY_SERVICE_ACCOUNT,
    KARPENTER_NAMESPACE,
    KARPENTER_SERVICE_ACCOUNT,
    KUBERNETES_API,
    KUBERNETES_API_CLIENTS,
    KUBERNETES_SERVICE_CIDR,
    OAUTH2_PROXY_PORT,
    OAUTH2_PROXY_RELEASE,
    OBSERVABILITY_NAMESPACE,
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    PGBOUNCER_PORT,
    REDIS_PORT,
    REDIS_PORTS,
    TRIGGERER_LOG_PORT,
    WORKER_LOG_PORT,
)

if TYPE_CHECKING:
    from components.settings.regions import Partition
    from components.settings.stack import Settings


def build(settings: Settings) -> AccessModel:
    """The access model of one stack."""
    workloads: dict[str, Workload] = {}
    edges: list[Edge] = []
    egress: list[Egress] = []

    def add(w: Workload) -> None:
        assert w.name not in workloads, w.name
        workloads[w.name] = w

    # Platform components read the stack's connections and variables, but never a domain's: the
    # domains' prefixes sit below the same connections/ and variables/ folders, hence the Deny.
    domain_prefixes = tuple(d.secrets_prefix for d in settings.domains)
    part = settings.partition
    secrets_read = secrets_read_grants(part, settings.secrets_prefix, "", exclude=domain_prefixes)
    # The same for task logs: a domain's DAG ids start with "<domain>_", so do its log keys; the
    # platform's write grant covers every key, hence the Deny (the api-server only reads, for the UI).
    domain_logs = tuple(f"{d.name}_" for d in settings.domains)
    aws_apis = _aws_api_hosts(part, settings.region)

    # --- Airflow -------------------------------------------------------------------------------
    def airflow(
        component: str,
        description: str,
        grants: tuple[Grant, ...] = (),
        ports: tuple[int, ...] = (),
        label: str = "",
    ):
        add(
            Workload(
                name=f"airflow-{component}",
                kind="airflow",
                namespace=AIRFLOW_NAMESPACE,
                service_account=f"{AIRFLOW_RELEASE}-{component}",
                description=description,
                selector={"component": label or component, "release": AIRFLOW_RELEASE},
                ports=ports,
                grants=grants,
            )
        )

    airflow(
        "api-server",
        "Airflow UI, REST API and the task execution API",
        grants=(*secrets_read, *logs_read(part)),
        ports=(API_SERVER_PORT,),
    )
    airflow("scheduler", "schedules DAG runs and launches task pods", grants=secrets_read)
    airflow("dag-processor", "parses DAG files", grants=secrets_read)
    airflow(
        "triggerer",
        "runs deferred tasks' triggers; serves their logs",
        grants=(*secrets_read, *logs_write(part, "", domain_logs)),
        ports=(TRIGGERER_LOG_PORT,),
    )
    celery = settings.airflow_executor == "CeleryExecutor"
    airflow(
        "worker",
        "task pods of DAGs outside any domain" + ("; Celery workers serve running tasks' logs" if celery else ""),
        grants=(*secrets_read, *logs_write(part, "", domain_logs)),
        ports=(WORKER_LOG_PORT,) if celery else (),
    )
    airflow("pgbouncer", "pools connections to the metadata database", ports=(PGBOUNCER_PORT,))
    # The chart labels the Job's pod ``component: run-airflow-migrations`` (chart 1.19.0
    # templates/jobs/migrate-database-job.yaml); Consul registers it through a Service with this selector.
    airflow("migrate-database-job", "migrates the metadata database schema on upgrades", label="run-airflow-migrations")

    if settings.airflow_executor == "CeleryExecutor":
        airflow("redis", "Celery broker (queued task messages)", ports=(REDIS_PORT,))

    api, pgbouncer = "airflow-api-server", "airflow-pgbouncer"
    for source in ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker"):
        edges.append(Edge(source, api, API_SERVER_PORT, "task execution API"))
    for source in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        edges.append(Edge(source, pgbouncer, PGBOUNCER_PORT, "metadata database through PgBouncer"))
    edges.append(Edge("airflow-migrate-database-job", pgbouncer, PGBOUNCER_PORT, "schema migrations"))
    # Chart-internal flows (components/access_model/chart_flows.py lists every chart Service port and
    # why it is here or not): a deferred task's live log comes from the triggerer's log server through
    # the headless Service airflow-triggerer, a running Celery task's from its worker.
    edges.append(Edge(api, "airflow-triggerer", TRIGGERER_LOG_PORT, "logs of deferred tasks (triggerer log server)"))
    if celery:
        edges.append(Edge(api, "airflow-worker", WORKER_LOG_PORT, "logs of running tasks (worker log server)"))
    if settings.airflow_executor == "CeleryExecutor":
        edges.append(Edge("airflow-scheduler", "airflow-redis", REDIS_PORT, "queues tasks on the Celery broker"))
        edges.append(Edge("airflow-worker", "airflow-redis", REDIS_PORT, "takes tasks from the Celery broker"))
        edges.append(Edge("airflow-worker", pgbouncer, PGBOUNCER_PORT, "Celery result backend"))

    egress.append(Egress(pgbouncer, "{database_address}", DATABASE_PORT, "RDS PostgreSQL (TLS, verify-full)"))
    egress.append(Egress(api, _host(settings.oidc_issuer_url), 443, "OIDC issuer (login, token keys)"))
    # Machine tokens are verified against their issuer's keys by the api-server and oauth2-proxy alike;
    # an issuer on another host is one more exit for both, or the JWKS fetch fails behind the mesh.
    machine_host = _host(settings.machine_issuer_url) if settings.machine_role_mappings else None
    if machine_host and machine_host != _host(settings.oidc_issuer_url):
        egress.append(Egress(api, machine_host, 443, "machine token issuer (token keys)"))
    for w in (
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
    ):
        for host in aws_apis:
            egress.append(Egress(w, host, 443, "AWS APIs through IRSA (STS, S3, Secrets Manager)"))
    if settings.dags_git_repository:
        git_host = _git_host(settings.dags_git_repository)
        git_port = 22 if not settings.dags_git_repository.startswith("https://") else 443
        git_clients = ["airflow-dag-processor", "airflow-triggerer", "airflow-scheduler", "airflow-worker"]
        git_clients += [f"domain-{d.name}" for d in settings.domains]  # task pods clone in an init container
        for w in git_clients:
            egress.append(Egress(w, git_host, git_port, "git-sync of the DAG repository"))

    # --- Edge ----------------------------------------------------------------------------------
    add(
        Workload(
            name="edge-gateway",
            kind="edge",
            namespace=EDGE_NAMESPACE,
            service_account=GATEWAY_SERVICE_ACCOUNT,
            description="NGINX Gateway Fabric data plane: TLS termination, header stripping",
            selector=GATEWAY_SELECTOR,
            ports=(80, 443),
            create_service_account=False,
        )
    )
    add(
        Workload(
            name="edge-oauth2-proxy",
            kind="edge",
            namespace=EDGE_NAMESPACE,
            service_account="oauth2-proxy",
            description="OIDC authentication of every request before Airflow",
            selector={"app.kubernetes.io/name": "oauth2-proxy"},
            ports=(OAUTH2_PROXY_PORT,),
        )
    )
    edges.append(Edge("edge-gateway", "edge-oauth2-proxy", OAUTH2_PROXY_PORT, "every request is authenticated first"))
    edges.append(Edge("edge-oauth2-proxy", api, API_SERVER_PORT, "authenticated requests to Airflow"))
    egress.append(Egress("edge-oauth2-proxy", _host(settings.oidc_issuer_url), 443, "OIDC issuer (login, tokens)"))
    if machine_host and machine_host != _host(settings.oidc_issuer_url):
        egress.append(Egress("edge-oauth2-proxy", machine_host, 443, "machine token issuer (token keys)"))
    add(
        Workload(
            name="edge-controller",
            kind="edge",
            namespace=EDGE_NAMESPACE,
            service_account=GATEWAY_CONTROLLER,
            description="NGINX Gateway Fabric control plane: turns Gateway API objects into NGINX config",
            selector=GATEWAY_CONTROLLER_SELECTOR,
            ports=(GATEWAY_AGENT_PORT,),
            create_service_account=False,
        )
    )
    edges.append(Edge("edge-gateway", "edge-controller", GATEWAY_AGENT_PORT, "NGINX agent fetches its config"))
    if settings.oauth2_proxy_session_store == "redis":
        add(
            Workload(
                name="edge-redis",
                kind="edge",
                namespace=EDGE_NAMESPACE,
                service_account=f"{OAUTH2_PROXY_RELEASE}-redis-ha",
                description="oauth2-proxy session store (redis-ha subchart, Sentinel)",
                selector={"app": "redis-ha", "release": OAUTH2_PROXY_RELEASE},
                ports=REDIS_PORTS,
                create_service_account=False,
            )
        )
        for port in REDIS_PORTS:
            edges.append(Edge("edge-oauth2-proxy", "edge-redis", port, "sessions (Sentinel finds the primary)"))
            edges.append(Edge("edge-redis", "edge-redis", port, "replication and Sentinel quorum"))

    for w in KUBERNETES_API_CLIENTS:
        egress.append(Egress(w, KUBERNETES_API, 443, "Kubernetes API (in-cluster Service address)"))

    # --- Platform add-ons ----------------------------------------------------------------------
    add(
        Workload(
            name="cert-manager",
            kind="platform",
            namespace=CERT_MANAGER_NAMESPACE,
            service_account="cert-manager",
            description="issues and renews TLS certificates (ACME DNS-01 on Route 53)",
            meshed=False,
            create_service_account=False,
            grants=(
                # Only ACME challenge TXT records: a compromised cert-manager cannot repoint Airflow's alias.
                Grant(
                    "ChangeChallengeRecords",
                    ("route53:ChangeResourceRecordSets",),
                    ((part.arn("route53", "hostedzone/"), Ref("hosted_zone_id")),),
                    {
                        "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]},
                        "ForAllValues:StringLike": {
                            "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.*"]
                        },
                    },
                ),
                Grant(
                    "ListZoneRecords",
                    ("route53:ListResourceRecordSets",),
                    ((part.arn("route53", "hostedzone/"), Ref("hosted_zone_id")),),
                ),
                Grant("ReadChanges", ("route53:GetChange",), (part.arn("route53", "change/*"),)),
                Grant("FindZone", ("route53:ListHostedZonesByName",), ("*",)),
            ),
        )
    )

    # Karpenter stays outside the mesh: it must be able to add nodes while the mesh control plane is
    # down or starting (its nodes are what a rescheduled kuma-cp may need), and it talks only to the
    # API server and AWS (EC2, SQS, SSM, pricing, STS), never to a meshed workload.
    add(
        Workload(
            name="karpenter",
            kind="platform",
            namespace=KARPENTER_NAMESPACE,
            service_account=KARPENTER_SERVICE_ACCOUNT,
            description="launches and retires task nodes (Karpenter controller)",
            meshed=False,
            create_service_account=False,
            grants=karpenter_grants(part, settings.cluster_name, settings.region, settings.aws_account_id),
        )
    )

    # --- Data domains --------------------------------------------------------------------------
    for domain in settings.domains:
        name = f"domain-{domain.name}"
        add(
            Workload(
                name=name,
                kind="domain",
                namespace=name,
                service_account=f"{domain.name}-tasks",
                description=f"task pods of the {domain.name} domain",
                selector={DOMAIN_LABEL: domain.name},
                grants=domain_grants(part, settings.secrets_prefix, domain),
            )
        )
        edges.append(Edge(name, api, API_SERVER_PORT, "task execution API"))
        for host in aws_apis:
            egress.append(Egress(name, host, 443, "AWS APIs through IRSA (STS, S3, Secrets Manager)"))
        for rule in domain.egress:
            egress.append(Egress(name, rule.host, rule.port, f"declared egress of {domain.name}"))

    _observability(settings, workloads, edges, egress, aws_region=settings.region)

    return AccessModel(
        stack=settings.stack,
        workloads=workloads,
        edges=tuple(edges),
        egress=tuple(egress),
        role_mappings=tuple(settings.role_mappings),
        domain_namespaces=tuple(f"domain-{d.name}" for d in settings.domains),
        machine_mappings=tuple(settings.machine_mappings),
        machine_issuer=settings.machine_issuer_url if settings.machine_role_mappings else "",
        machine_audiences=tuple(settings.machine_token_audiences),
    )


#: Workloads that run Airflow code and so export OpenTelemetry metrics and traces (``[metrics]`` and
#: ``[traces] otel_on``, components/airflow/config.py): every Airflow component, the default task pods
#: and the migration Job (it runs ``airflow db migrate`` with the same configuration).
OTEL_CLIENTS = (
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-migrate-database-job",
)


def _observability(
    settings: Settings, workloads: dict[str, Workload], edges: list[Edge], egress: list[Egress], aws_region: str
) -> None:
    """The OpenTelemetry Collector: who sends to it (through the mesh) and where it sends (AWS, the
    optional OTLP endpoint, cert-manager's metrics)."""
    collector = "otel-collector"
    workloads[collector] = Workload(
        name=collector,
        kind="platform",
        namespace=OBSERVABILITY_NAMESPACE,
        service_account=COLLECTOR_NAME,
        description="OpenTelemetry Collector (one per node): metrics, traces and the access trail to CloudWatch/X-Ray",
        selector=COLLECTOR_SELECTOR,
        ports=(OTLP_HTTP_PORT,),
        plaintext_ports=(OTLP_GRPC_PORT,),
        grants=collector_grants(
            settings.partition,
            (settings.access_trail_log_group, settings.metrics_log_group),
            COLLECTOR_LOG_STREAM_PREFIX,
        ),
    )
    clients = [w for w in OTEL_CLIENTS if w in workloads] + [f"domain-{d.name}" for d in settings.domains]
    for source in clients:
        edges.append(Edge(source, collector, OTLP_HTTP_PORT, "OpenTelemetry metrics and traces (OTLP/HTTP)"))
    hosts = tuple(settings.partition.host(service, aws_region) for service in ("logs", "xray", "sts"))
    for host in hosts:
        egress.append(Egress(collector, host, 443, "CloudWatch Logs (access trail, EMF metrics), X-Ray, STS"))
    # cert-manager stays outside the mesh; its metrics Service is reached by its cluster address.
    egress.append(
        Egress(
            collector, KUBERNETES_SERVICE_CIDR, CERT_MANAGER_METRICS_PORT, "cert-manager metrics (certificate expiry)"
        )
    )
    if settings.otel_endpoint:
        host, port = settings.otel_endpoint.rsplit(":", 1)
        egress.append(Egress(collector, host, int(port), "the stack's own OTLP endpoint (otelEndpoint, TLS)"))


def _aws_api_hosts(part: Partition, region: str) -> tuple[str, ...]:
    hosts = tuple(part.host(service, region) for service in ("sts", "s3", "secretsmanager"))
    # In us-east-1 the SDKs default to S3's global endpoint (<bucket>.s3.amazonaws.com) unless told otherwise.
    return (*hosts, "s3.amazonaws.com") if region == "us-east-1" else hosts


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _git_host(url: str) -> str:
    if url.startswith("git@"):
        return url[4:].split(":", 1)[0]
    return _host(url).split("@")[-1].split(":")[0]
