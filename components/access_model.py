"""The access model: one data structure that says who may talk to whom and who may do what.

Built from the settings alone (no resources, no Outputs), so it is the same in preview and up, and
so every layer that enforces it is generated from it and cannot disagree with the others:

- IAM policies of every workload role (``identity``), rendered from :class:`Grant` templates;
- mesh permissions (Kuma MeshTrafficPermissions or Istio AuthorizationPolicies) from :class:`Edge`;
- deliberate exits from the mesh (RDS, AWS APIs, the IdP, a domain's partners) from :class:`Egress`;
- Airflow's ``AUTH_ROLES_MAPPING`` from :attr:`AccessModel.role_mappings`;
- the access matrix auditors read (``plan/access_matrix.py``).

Nothing is allowed that the model does not list.

Grant resources are templates: ``{name}`` placeholders stand for values only known once resources
exist (``{logs_bucket}``, ``{secrets_key_arn}``...); :func:`render_policy` fills them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from components.settings import DomainConfig, Settings

AIRFLOW_NAMESPACE = "airflow"
EDGE_NAMESPACE = "edge"
CERT_MANAGER_NAMESPACE = "cert-manager"
#: Helm release name of Airflow; the chart prefixes its Services with it.
AIRFLOW_RELEASE = "airflow"
API_SERVER_PORT = 8080
PGBOUNCER_PORT = 6543
OAUTH2_PROXY_PORT = 4180
STATSD_PORT = 9125
DATABASE_PORT = 5432
REDIS_PORT = 6379
#: The cluster's Service CIDR is fixed (components/cluster.py) so the in-cluster API address is known:
#: the first address of the range. Meshed clients of the Kubernetes API reach it through this exit.
KUBERNETES_SERVICE_CIDR = "172.20.0.0/16"
KUBERNETES_API = "172.20.0.1"
#: Workloads that talk to the Kubernetes API: the scheduler launches and watches task pods, the
#: api-server and triggerer read pod logs and events, the NGF controller watches Gateway API objects.
KUBERNETES_API_CLIENTS = ("airflow-scheduler", "airflow-api-server", "airflow-triggerer", "edge-controller")
#: Label carried by a domain's task pods (set by its pod template); mesh policies select on it.
DOMAIN_LABEL = "airflow-mesh/domain"
#: Remote task logs live under this prefix of the log bucket; Airflow writes ``dag_id=<id>/...`` below it.
LOG_PREFIX = "logs"

Kind = Literal["airflow", "edge", "domain", "platform"]


@dataclass(frozen=True)
class Grant:
    """One IAM statement as a template: actions on resources, optionally under a condition."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Mapping[str, Mapping[str, object]] | None = None
    effect: Literal["Allow", "Deny"] = "Allow"

    def statement(self, values: Mapping[str, str]) -> dict[str, object]:
        out: dict[str, object] = {
            "Sid": self.sid,
            "Effect": self.effect,
            "Action": list(self.actions),
            "Resource": [r.format(**values) for r in self.resources],
        }
        if self.condition:
            out["Condition"] = {
                op: {k: _fill(v, values) for k, v in cond.items()} for op, cond in self.condition.items()
            }
        return out


@dataclass(frozen=True)
class Workload:
    """A mesh and IAM identity: the pods that run as one ServiceAccount in one namespace."""

    name: str
    kind: Kind
    namespace: str
    service_account: str
    description: str
    #: Labels that select this workload's pods as a destination.
    selector: Mapping[str, str] = field(default_factory=dict)
    #: TCP ports it serves inside the mesh.
    ports: tuple[int, ...] = ()
    #: False for platform add-ons that stay outside the mesh (cert-manager talks to the API server and AWS only).
    meshed: bool = True
    #: AWS permissions; empty: the workload gets no IAM role at all.
    grants: tuple[Grant, ...] = ()
    #: Whether this program creates the ServiceAccount (False when a chart or add-on owns it).
    create_service_account: bool = True

    @property
    def principal(self) -> str:
        """SPIFFE-style identity both meshes derive from the ServiceAccount."""
        return f"ns/{self.namespace}/sa/{self.service_account}"


@dataclass(frozen=True)
class Edge:
    """An allowed connection inside the mesh."""

    source: str
    destination: str
    port: int
    purpose: str
    protocol: Literal["tcp", "udp"] = "tcp"


@dataclass(frozen=True)
class Egress:
    """A deliberate exit from the mesh to something outside the cluster."""

    source: str
    host: str
    port: int
    purpose: str


@dataclass(frozen=True)
class AccessModel:
    """Everything the platform allows, derived from the settings."""

    stack: str
    workloads: Mapping[str, Workload]
    edges: tuple[Edge, ...]
    egress: tuple[Egress, ...]
    role_mappings: tuple[tuple[str, str], ...]
    domain_namespaces: tuple[str, ...]

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Namespaces whose pods join the mesh."""
        return tuple(sorted({w.namespace for w in self.workloads.values() if w.meshed}))

    def workload(self, name: str) -> Workload:
        return self.workloads[name]

    def tcp_edges(self) -> tuple[Edge, ...]:
        """Edges a mesh can enforce with mTLS (both Kuma and ztunnel carry TCP only)."""
        return tuple(e for e in self.edges if e.protocol == "tcp")

    def inbound(self, destination: str) -> tuple[Edge, ...]:
        return tuple(e for e in self.tcp_edges() if e.destination == destination)

    def with_role(self) -> tuple[Workload, ...]:
        """Workloads that get an IAM role, in a stable order."""
        return tuple(w for w in self.workloads.values() if w.grants)


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
    secrets_read = _secrets_read_grants(settings.secrets_prefix, "", exclude=domain_prefixes)
    aws_apis = _aws_api_hosts(settings.region)

    # --- Airflow -------------------------------------------------------------------------------
    def airflow(component: str, description: str, grants: tuple[Grant, ...] = (), ports: tuple[int, ...] = ()):
        add(
            Workload(
                name=f"airflow-{component}",
                kind="airflow",
                namespace=AIRFLOW_NAMESPACE,
                service_account=f"{AIRFLOW_RELEASE}-{component}",
                description=description,
                selector={"component": component, "release": AIRFLOW_RELEASE},
                ports=ports,
                grants=grants,
            )
        )

    airflow(
        "api-server",
        "Airflow UI, REST API and the task execution API",
        grants=(*secrets_read, *_logs_read()),
        ports=(API_SERVER_PORT,),
    )
    airflow("scheduler", "schedules DAG runs and launches task pods", grants=secrets_read)
    airflow("dag-processor", "parses DAG files", grants=secrets_read)
    airflow("triggerer", "runs deferred tasks' triggers", grants=(*secrets_read, *_logs_write("")))
    airflow("worker", "task pods of DAGs outside any domain", grants=(*secrets_read, *_logs_write("")))
    airflow("pgbouncer", "pools connections to the metadata database", ports=(PGBOUNCER_PORT,))
    airflow("statsd", "receives Airflow metrics (statsd over UDP) for Prometheus", ports=(STATSD_PORT,))
    airflow("migrate-database-job", "migrates the metadata database schema on upgrades")

    if settings.airflow_executor == "CeleryExecutor":
        airflow("redis", "Celery broker (queued task messages)", ports=(REDIS_PORT,))

    api, pgbouncer, statsd = "airflow-api-server", "airflow-pgbouncer", "airflow-statsd"
    for source in ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker"):
        edges.append(Edge(source, api, API_SERVER_PORT, "task execution API"))
    for source in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        edges.append(Edge(source, pgbouncer, PGBOUNCER_PORT, "metadata database through PgBouncer"))
    edges.append(Edge("airflow-migrate-database-job", pgbouncer, PGBOUNCER_PORT, "schema migrations"))
    if settings.airflow_executor == "CeleryExecutor":
        edges.append(Edge("airflow-scheduler", "airflow-redis", REDIS_PORT, "queues tasks on the Celery broker"))
        edges.append(Edge("airflow-worker", "airflow-redis", REDIS_PORT, "takes tasks from the Celery broker"))
        edges.append(Edge("airflow-worker", pgbouncer, PGBOUNCER_PORT, "Celery result backend"))
    for source in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        edges.append(Edge(source, statsd, STATSD_PORT, "metrics (UDP: outside mTLS, counters only)", "udp"))

    egress.append(Egress(pgbouncer, "{database_address}", DATABASE_PORT, "RDS PostgreSQL (TLS, verify-full)"))
    egress.append(Egress(api, _host(settings.oidc_issuer_url), 443, "OIDC issuer (login, token keys)"))
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
                    ("arn:aws:route53:::hostedzone/{hosted_zone_id}",),
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
                    ("arn:aws:route53:::hostedzone/{hosted_zone_id}",),
                ),
                Grant("ReadChanges", ("route53:GetChange",), ("arn:aws:route53:::change/*",)),
                Grant("FindZone", ("route53:ListHostedZonesByName",), ("*",)),
            ),
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
                grants=_domain_grants(settings.secrets_prefix, domain),
            )
        )
        edges.append(Edge(name, api, API_SERVER_PORT, "task execution API"))
        for host in aws_apis:
            egress.append(Egress(name, host, 443, "AWS APIs through IRSA (STS, S3, Secrets Manager)"))
        for rule in domain.egress:
            egress.append(Egress(name, rule.host, rule.port, f"declared egress of {domain.name}"))

    return AccessModel(
        stack=settings.stack,
        workloads=workloads,
        edges=tuple(edges),
        egress=tuple(egress),
        role_mappings=tuple(settings.role_mappings),
        domain_namespaces=tuple(f"domain-{d.name}" for d in settings.domains),
    )


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


def render_policy(grants: tuple[Grant, ...], values: Mapping[str, str]) -> dict[str, object]:
    """The IAM policy document of ``grants`` with every placeholder filled."""
    return {"Version": "2012-10-17", "Statement": [g.statement(values) for g in grants]}


# --------------------------------------------------------------------------------------------------
# Grants
# --------------------------------------------------------------------------------------------------

_SECRET_ARN = "arn:aws:secretsmanager:{region}:{account}:secret:"
_KMS_VIA_SECRETS = {"StringEquals": {"kms:ViaService": "secretsmanager.{region}.amazonaws.com"}}


def _secrets_read_grants(stack_prefix: str, sub: str, exclude: tuple[str, ...] = ()) -> tuple[Grant, ...]:
    """Read the stack's connections and variables (below ``sub`` if given, never below ``exclude``)
    and decrypt them."""
    read = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")

    def under(prefix: str) -> tuple[str, ...]:
        prefix = f"{prefix.strip('/')}/" if prefix else ""
        return tuple(f"{_SECRET_ARN}{stack_prefix}/{kind}/{prefix}*" for kind in ("connections", "variables"))

    grants = [Grant("ReadAirflowSecrets", read, under(sub))]
    if exclude:
        denied = tuple(arn for prefix in exclude for arn in under(prefix))
        grants.append(Grant("NeverDomainSecrets", read, denied, effect="Deny"))
    grants.append(Grant("DecryptAirflowSecrets", ("kms:Decrypt",), ("{secrets_key_arn}",), _KMS_VIA_SECRETS))
    return tuple(grants)


def _logs_read() -> tuple[Grant, ...]:
    return (
        Grant("ReadTaskLogs", ("s3:GetObject",), (f"arn:aws:s3:::{{logs_bucket}}/{LOG_PREFIX}/*",)),
        Grant(
            "ListTaskLogs",
            ("s3:ListBucket",),
            ("arn:aws:s3:::{logs_bucket}",),
            {"StringLike": {"s3:prefix": [f"{LOG_PREFIX}/*"]}},
        ),
        Grant("DecryptTaskLogs", ("kms:Decrypt",), ("{logs_key_arn}",)),
    )


def _logs_write(dag_prefix: str) -> tuple[Grant, ...]:
    """Write and read task logs, only below ``logs/dag_id=<dag_prefix>``."""
    objects = f"arn:aws:s3:::{{logs_bucket}}/{LOG_PREFIX}/dag_id={dag_prefix}*"
    return (
        Grant("WriteTaskLogs", ("s3:PutObject", "s3:GetObject"), (objects,)),
        Grant(
            "ListOwnTaskLogs",
            ("s3:ListBucket",),
            ("arn:aws:s3:::{logs_bucket}",),
            {"StringLike": {"s3:prefix": [f"{LOG_PREFIX}/dag_id={dag_prefix}*"]}},
        ),
        Grant("EncryptTaskLogs", ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"), ("{logs_key_arn}",)),
    )


def _domain_grants(stack_prefix: str, domain: DomainConfig) -> tuple[Grant, ...]:
    grants: list[Grant] = []
    for i, s3 in enumerate(domain.s3):
        bucket = f"arn:aws:s3:::{s3.bucket}"
        objects = tuple(f"{bucket}/{p}*" for p in s3.prefixes)
        actions = ("s3:GetObject",) if s3.access == "read" else ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
        grants.append(Grant(f"Objects{i}", actions, objects))
        prefixes = [f"{p}*" for p in s3.prefixes]
        condition = None if prefixes == ["*"] else {"StringLike": {"s3:prefix": prefixes}}
        grants.append(Grant(f"List{i}", ("s3:ListBucket",), (bucket,), condition))
    grants.extend(_secrets_read_grants(stack_prefix, domain.secrets_prefix))
    # DAG ids of a domain start with "<domain>_": its task logs land under that prefix only.
    grants.extend(_logs_write(f"{domain.name}_"))
    return tuple(grants)


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _aws_api_hosts(region: str) -> tuple[str, ...]:
    hosts = (f"sts.{region}.amazonaws.com", f"s3.{region}.amazonaws.com", f"secretsmanager.{region}.amazonaws.com")
    # In us-east-1 the SDKs default to S3's global endpoint (<bucket>.s3.amazonaws.com) unless told otherwise.
    return (*hosts, "s3.amazonaws.com") if region == "us-east-1" else hosts


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _git_host(url: str) -> str:
    if url.startswith("git@"):
        return url[4:].split(":", 1)[0]
    return _host(url).split("@")[-1].split(":")[0]


def _fill(value: object, values: Mapping[str, str]) -> object:
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value
