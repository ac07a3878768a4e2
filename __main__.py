"""airflow-mesh: the only place that knows the build order.

network -> cluster (nodes, add-ons, IRSA, Kubernetes provider) -> namespaces, identities ->
certificates, Gateway API -> mesh -> edge, airflow. The log bucket, the secrets key and the database
need only the network, so they are created while the cluster comes up. Every AWS resource goes
through one explicit provider whose default tags carry the stack's tag map and which refuses any
account but the stack's own; every Kubernetes object goes through the cluster's one provider.
"""

import pulumi
import pulumi_aws as aws

from components import access_model, mesh, observability, platform, sizing, timeouts
from components import settings as stack_settings
from components.airflow.component import Airflow, AirflowArgs
from components.airflow.component import chart_inputs as airflow_chart_inputs
from components.airflow.secrets import DatabaseEndpoint
from components.capacity.aws import KarpenterAws, KarpenterAwsArgs
from components.capacity.karpenter import Karpenter, KarpenterArgs
from components.capacity.sleep import NodeGroupSize, SleepSchedule, SleepScheduleArgs
from components.certificates.component import Certificates, CertificatesArgs
from components.cluster.component import Cluster, ClusterArgs
from components.cluster.node_groups import NodeGroupSpec
from components.data.database import Database, DatabaseArgs
from components.data.log_bucket import LogBucket, LogBucketArgs
from components.data.secrets_store import SecretsStore, SecretsStoreArgs
from components.edge.component import Edge, EdgeArgs
from components.edge.gateway_api import GatewayApiCrds
from components.edge.oauth2_proxy import OidcClient
from components.edge.routes import TLS_SECRET
from components.identity.namespaces import Namespaces, NamespacesArgs
from components.identity.workloads import WorkloadIdentities, WorkloadIdentitiesArgs
from components.network.component import Network, NetworkArgs
from components.platform import SYSTEM_NODE_ROLE, TASK_TAINT
from components.settings import instance_types, session_rules

settings = stack_settings.load()  # raises SettingsError before any resource is registered
# prod protects its data; a stack being retired (`retire: true`, docs/retire.md) lifts `protect` and
# keeps the data (retained on delete) with the network the database stands in.
protected = settings.is_prod and not settings.retire
keeps_data = settings.is_prod or settings.retire

aws_provider = aws.Provider(
    "aws",
    region=settings.region,
    allowed_account_ids=[settings.aws_account_id],
    default_tags={"tags": settings.tags},
)
aws_only = pulumi.ResourceOptions(providers={"aws": aws_provider})

public_cidrs, private_cidrs = settings.subnets
network = Network(
    f"{settings.cluster_name}-network",
    NetworkArgs(
        cluster_name=settings.cluster_name,
        region=settings.region,
        partition=settings.partition,
        vpc_cidr=settings.vpc_cidr,
        availability_zones=settings.availability_zones,
        public_subnet_cidrs=public_cidrs,
        private_subnet_cidrs=private_cidrs,
        nat_gateways=settings.nat_gateways,
        interface_endpoints=settings.interface_endpoints,
        flow_log_retention_days=settings.flow_log_retention_days,
        retain_private=settings.retire,  # the retained database's subnets and VPC (docs/retire.md)
    ),
    opts=aws_only,
)


def node_group(
    name: str, types: list[str], capacity: str, min_size: int, max_size: int, taints: tuple = ()
) -> NodeGroupSpec:
    arch = instance_types.INSTANCE_TYPES[types[0]].arch
    return NodeGroupSpec(name, types, instance_types.AMI_TYPES[arch], capacity, min_size, max_size, taints)


node_groups = [
    node_group(
        SYSTEM_NODE_ROLE,
        settings.system_node_instance_types,
        settings.system_node_capacity_type,
        settings.system_node_min_size,
        settings.system_node_max_size,
        # Not born with the mesh CNI's taint: these nodes run the mesh control plane (which removes it)
        # and what it waits for (CoreDNS, cert-manager); a born taint would deadlock the first install.
    )
]
if settings.workload_node_max_size > 0:
    node_groups.append(
        node_group(
            "workload",
            settings.workload_node_instance_types,
            settings.workload_capacity_type,
            settings.workload_node_min_size,
            settings.workload_node_max_size,
            (TASK_TAINT, *mesh.startup_taints(settings.mesh_provider)),
        )
    )


cluster = Cluster(
    f"{settings.cluster_name}-cluster",
    ClusterArgs(
        name=settings.cluster_name,
        region=settings.region,
        partition=settings.partition,
        kubernetes_version=settings.kubernetes_version,
        vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
        endpoint_access=settings.endpoint_access,
        public_access_cidrs=settings.public_access_cidrs,
        admin_role_arns=settings.admin_role_arns,
        log_retention_days=settings.cluster_log_retention_days,
        protect=protected,
        node_groups=node_groups,
        node_disk_size_gib=settings.node_disk_size_gib,
        addon_version_pins=settings.addon_version_pins,
        identity_mode=settings.identity_mode,
        permissions_boundary_arn=settings.permissions_boundary_arn or None,
        max_session_duration=settings.max_session_duration_seconds,
        tags=settings.tags,
        retain_key=keeps_data,
    ),
    opts=aws_only,
)

prefix = settings.cluster_name
model = access_model.build(settings)
# Karpenter's AWS side comes with the cluster: the controller's role (identity layer) is scoped to it.
karpenter_aws = KarpenterAws(
    f"{prefix}-karpenter-aws",
    KarpenterAwsArgs(cluster_name=cluster.name, partition=settings.partition, protect=protected, retain=keeps_data),
    opts=aws_only,
)
with_k8s = pulumi.ResourceOptions(providers={"aws": aws_provider, "kubernetes": cluster.provider})

# --- data stores: need only the network, created in parallel with the cluster ----------------------
logs = LogBucket(
    f"{prefix}-logs",
    LogBucketArgs(
        bucket_name=settings.logs_bucket_name,
        retention_days=settings.task_log_retention_days,
        protect=protected,
        retain=keeps_data,
    ),
    opts=aws_only,
)
secrets_store = SecretsStore(
    f"{prefix}-secrets",
    SecretsStoreArgs(prefix=settings.secrets_prefix, protect=protected, retain=keeps_data),
    opts=aws_only,
)
database = Database(
    f"{prefix}-db",
    DatabaseArgs(
        vpc_id=network.vpc_id,
        subnet_ids=network.private_subnet_ids,
        client_security_group_id=cluster.node_security_group_id,  # a plain SG: no wait for EKS
        region=settings.region,
        partition=settings.partition.id,
        instance_class=settings.database_instance_class,
        multi_az=settings.database_multi_az,
        storage_gib=settings.database_storage_gib,
        backup_retention_days=settings.database_backup_retention_days,
        password_rotation_days=settings.secret_rotation_days,
        protect=protected,
        retain=keeps_data,
    ),
    opts=aws_only,
)

# --- namespaces and workload identities (every ServiceAccount, every IAM role) -------------------
namespaces = Namespaces(
    f"{prefix}-ns",
    NamespacesArgs(
        names=model.namespaces,
        labels=mesh.namespace_labels(settings.mesh_provider),
        annotations=mesh.namespace_annotations(settings.mesh_provider),
        overrides={platform.OBSERVABILITY_NAMESPACE: observability.collector.NAMESPACE_LABELS},
    ),
    opts=with_k8s,
)
identities = WorkloadIdentities(
    f"{prefix}-identity",
    WorkloadIdentitiesArgs(
        model=model,
        identity=cluster.identity,
        values={
            "region": settings.region,
            "account": settings.aws_account_id,
            "logs_bucket": logs.bucket_name,
            "logs_key_arn": logs.key_arn,
            "secrets_key_arn": secrets_store.key_arn,
            "hosted_zone_id": settings.hosted_zone_id,
            "karpenter_node_role_arn": karpenter_aws.node_role_arn,
            "karpenter_queue_arn": karpenter_aws.queue_arn,
            "node_volume_key_arn": karpenter_aws.volume_key_arn,
        },
        namespaces=namespaces.by_name,
    ),
    opts=with_k8s,
)

# --- certificates and Gateway API (shared by the mesh and the edge) -------------------------------
certificates = Certificates(
    f"{prefix}-certs",
    CertificatesArgs(
        acme_email=settings.acme_email,
        acme_environment=settings.acme_environment,
        hosted_zone_id=settings.hosted_zone_id,
        hosted_zone_name=settings.hosted_zone_name,
        region=settings.region,
        role_arn=identities.roles["cert-manager"].role_arn,
        identity_mode=settings.identity_mode,
        high_availability=settings.environment != "dev",
        ca_subject=settings.cluster_name,
    ),
    opts=with_k8s,
)
gateway_api = GatewayApiCrds(f"{prefix}-gateway-api", mesh.gateway_api_channel(settings.mesh_provider), opts=with_k8s)

# --- service mesh -----------------------------------------------------------------------------------
service_mesh = mesh.Mesh(
    f"{prefix}-mesh",
    mesh.MeshArgs(
        provider=settings.mesh_provider,
        model=model,
        namespaces=namespaces.by_name,
        tls_mode=settings.mesh_tls_mode,
        certificate_ttl_hours=settings.mesh_certificate_ttl_hours,
        ca_source=settings.mesh_ca_source,
        ca_name=settings.mesh_ca_name,
        previous_ca_name=settings.mesh_previous_ca_name,
        root_issuer_name=certificates.mesh_root_issuer_name,
        control_plane_replicas=settings.mesh_control_plane_replicas,
        trust_domain=f"{settings.cluster_name}.mesh.local",
        vpc_cidr=settings.vpc_cidr,
        identity_mode=settings.identity_mode,
        secret_rotation_days=settings.secret_rotation_days,
        protect_state=protected,
        storage_class=cluster.storage_class_name,
        grant_values={"logs_bucket": settings.logs_bucket_name},
        storage=[cluster.storage_class],
        size_tier=sizing.tier(settings.environment),
        telemetry=mesh.MeshTelemetry(
            platform.COLLECTOR_HOST,
            platform.OTLP_GRPC_PORT,
            platform.OTLP_HTTP_PORT,
            service_account=model.workload("otel-collector").service_account,
            namespace=model.workload("otel-collector").namespace,
        ),
        depends_on=[*certificates.ready, *gateway_api.ready],
    ),
    opts=with_k8s,
)

# Per workload, what the mesh needs on its pods for exits no policy can name (Consul: RDS and the
# Kubernetes API); each layer below puts its workloads' entries on the pods it owns.
mesh_pod_annotations = mesh.workload_pod_annotations(settings.mesh_provider, model, settings.vpc_cidr)

# --- observability: the collector in the mesh, the access trail, dashboard and alarms ------------
collector_workload = model.workload("otel-collector")
mesh_hooks = mesh.telemetry_hooks(settings.mesh_provider, collector_workload.plaintext_ports)
telemetry = observability.Observability(
    f"{prefix}-observability",
    observability.ObservabilityArgs(
        collector=observability.CollectorInputs(
            stack=settings.stack,
            region=settings.region,
            access_trail_log_group=settings.access_trail_log_group,
            metrics_log_group=settings.metrics_log_group,
            metrics_namespace=settings.metrics_namespace,
            domains=tuple(d.name for d in settings.domains),
            task_identities={
                w.namespace: w.principal
                for w in model.workloads.values()
                if w.kind == "domain" or w.name == "airflow-worker"
            },
            otel_endpoint=settings.otel_endpoint,
            mesh_log_paths=mesh_hooks.log_paths,
            mesh_log_operators=mesh_hooks.log_operators,
            collector_pod_annotations={
                **mesh_pod_annotations.get("otel-collector", {}),
                **mesh_hooks.collector_pod_annotations,
            },
        ),
        signals=observability.Signals(
            stack=settings.stack,
            region=settings.region,
            namespace=settings.metrics_namespace,
            access_trail_log_group=settings.access_trail_log_group,
            domains=tuple(d.name for d in settings.domains),
            certificates=((platform.EDGE_NAMESPACE, TLS_SECRET),),
        ),
        retention_days=settings.access_trail_retention_days,
        cluster_name=settings.cluster_name,
        alarm_topic_arn=settings.alarm_topic_arn,
        namespace=namespaces.by_name[platform.OBSERVABILITY_NAMESPACE],
        service_account=identities.service_accounts["otel-collector"],
        mesh=service_mesh.ready,
        protect=protected,
        retain=keeps_data,
    ),
    opts=with_k8s,
)

# One budget for a person's or machine's API call; every layer's timeout derives from it.
api_call = timeouts.ApiCall(settings.api_call_timeout_seconds)

# --- edge -------------------------------------------------------------------------------------------
edge = Edge(
    f"{prefix}-edge",
    EdgeArgs(
        hostname=settings.airflow_hostname,
        hosted_zone_id=settings.hosted_zone_id,
        region=settings.region,
        scheme=settings.edge_scheme,
        source_ranges=settings.edge_source_ranges,
        subnet_ids=(
            network.public_subnet_ids if settings.edge_scheme == "internet-facing" else network.private_subnet_ids
        ),
        replicas=settings.edge_replicas,
        namespace=namespaces.by_name[platform.EDGE_NAMESPACE],
        acme_issuer_name=certificates.acme_issuer_name,
        oidc=OidcClient(
            issuer_url=settings.oidc_issuer_url,
            client_id=settings.oidc_client_id,
            client_secret=pulumi.Output.secret(settings.oidc_client_secret.get_secret_value()),
            groups_claim=settings.oidc_groups_claim,
            allowed_groups=settings.oidc_allowed_groups,
            allowed_email_domains=settings.oidc_allowed_email_domains,
            machine_issuer_url=settings.machine_issuer_url,
            machine_audiences=settings.machine_token_audiences,
            machine_client_ids=[
                m.removeprefix("client:") for m, _ in settings.machine_mappings if m.startswith("client:")
            ],
            machine_group=settings.machine_edge_group,
        ),
        oauth2_proxy_service_account=identities.service_accounts["edge-oauth2-proxy"],
        session_store=settings.oauth2_proxy_session_store,
        session_shape=session_rules.session_shape(settings),
        logout_host=session_rules.logout_host(settings),
        secret_rotation_days=settings.secret_rotation_days,
        gateway_pod_annotations=mesh.entry_point_pod_annotations(settings.mesh_provider),
        job_pod_annotations=mesh.job_pod_annotations(settings.mesh_provider),
        workload_pod_annotations=mesh_pod_annotations,
        tags=settings.tags,
        gateway_api=gateway_api.ready,
        certificates=certificates.ready,
        mesh=service_mesh.ready,
        protect=protected,
        size_tier=sizing.tier(settings.environment),
        api_call=api_call,
    ),
    opts=with_k8s,
)

# --- airflow ----------------------------------------------------------------------------------------
api_server_annotations = mesh.http_service_annotations(settings.mesh_provider, platform.API_SERVER_PORT)
git_ssh_key = settings.dags_git_ssh_key.get_secret_value()
airflow = Airflow(
    f"{prefix}-airflow",
    AirflowArgs(
        chart=airflow_chart_inputs(
            settings,
            model,
            mesh_pod_annotations,
            api_server_service_annotations=mesh.http_service_annotations(
                settings.mesh_provider, platform.API_SERVER_PORT
            ),
        ),
        database=DatabaseEndpoint(
            address=database.address,
            port=database.port,
            db_name=database.db_name,
            username=database.username,
            password=database.password,
            ca_bundle=database.ca_bundle,
            password_rotation=database.password_rotation,
        ),
        oidc_client_secret=pulumi.Output.secret(settings.oidc_client_secret.get_secret_value()),
        git_ssh_key=pulumi.Output.secret(git_ssh_key) if git_ssh_key else None,
        rotation_days=settings.secret_rotation_days,
        namespaces=namespaces.by_name,
        service_accounts=identities.service_accounts,
        depends_on=[*service_mesh.ready, database, cluster.storage_class, *cluster.compute_addons],
        api_call=api_call,
    ),
    opts=with_k8s,
)

# --- capacity: task nodes on demand (nothing waits for them: off the critical path) ----------------
karpenter = Karpenter(
    f"{prefix}-karpenter",
    KarpenterArgs(
        cluster_name=cluster.name,
        queue_name=karpenter_aws.queue_name,
        node_role_name=karpenter_aws.node_role_name,
        volume_key_arn=karpenter_aws.volume_key_arn,
        controller_role_arn=identities.roles["karpenter"].role_arn,
        identity_mode=settings.identity_mode,
        tier=sizing.tier(settings.environment),
        capacity_types=settings.task_node_capacity_types,
        architectures=settings.task_node_architectures,
        cpu_limit=settings.task_node_cpu_limit,
        expected_vcpu_hours=settings.expected_task_vcpu_hours,
        startup_taints=mesh.startup_taints(settings.mesh_provider),
        disk_size_gib=settings.node_disk_size_gib,
        tags=settings.tags,
        depends_on=[karpenter_aws.access_entry, *cluster.compute_addons],
    ),
    opts=with_k8s,
)
if settings.working_hours:
    SleepSchedule(
        f"{prefix}-sleep",
        SleepScheduleArgs(
            working_hours=settings.working_hours,
            timezone=settings.working_hours_timezone,
            partition=settings.partition,
            cluster_name=cluster.name,
            node_groups=[
                NodeGroupSize(group.node_group_name, group.arn, spec.min_size, spec.max_size)
                for group, spec in zip(cluster.node_groups, node_groups, strict=True)
            ],
            database_identifier=database.identifier,
            database_arn=database.instance_arn,
            account_id=settings.aws_account_id,
            depends_on=[karpenter.namespace],
        ),
        opts=with_k8s,
    )

pulumi.export("airflowUrl", edge.url)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("clusterName", cluster.name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("oidcProviderArn", cluster.oidc_provider_arn)
pulumi.export("oidcIssuerUrl", cluster.oidc_issuer_url)
pulumi.export("accessTrailLogGroup", telemetry.access_trail_log_group)
pulumi.export("dashboardName", telemetry.dashboard_name)
pulumi.export("storageClass", cluster.storage_class_name)
