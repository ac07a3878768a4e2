"""ConsulMesh: Consul 1.22 on Kubernetes (consul-k8s 1.9.11) with ACL default deny and intentions per edge.

    consul namespace, StorageClass, gossip key Secret, [server TLS CA Certificate]
      -> consul-k8s release (servers, connect injector + CNI, terminating gateway, ACLs)
      -> registration Services for workloads without one
      -> ServiceIntentions per destination + deny-all, ServiceDefaults destinations, TerminatingGateway
      -> Mesh (meshDestinationsOnly) + ProxyDefaults (mutualTLSMode strict), once every allow exists

The Consul *server* is BUSL-1.1 (every release since 1.17; the chart and consul-dataplane are
MPL-2.0): see upstream/README.md "Licensing" and docs/mesh.md. Workload certificates come from
Consul's built-in CA (``connect.ca_config.leaf_cert_ttl``); the root rotates by CA configuration with
cross-signing (docs/mesh.md). ``meshCaSource: cert-manager`` supplies the CA of the *servers'* TLS.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumiverse_time as time

from components import versions
from components.access_model import AccessModel
from components.mesh.consul.config_entries import (
    enforcement_manifests,
    exit_manifests,
    exit_pod_annotations,
    intention_manifests,
    service_names,
)
from components.mesh.consul.values import GOSSIP_KEY, GOSSIP_SECRET, INJECT_LABEL, chart_values
from components.mesh.policy import PART_OF, POD_SECURITY_LABELS, Manifest, ca_certificate
from components.mesh.provider import MeshArgs, TelemetryHooks
from components.platform import KUBERNETES_SERVICE_CIDR

SYSTEM_NAMESPACE = "consul"
STORAGE_CLASS = "consul-gp3"
SERVER_CA_SECRET = "consul-server-ca"
#: Airflow chart Services that already select a portless workload (consul-k8s registers pods only
#: through a Service that selects them: hashicorp/consul-k8s#1899).
CHART_SERVICES = {"airflow-triggerer"}


class ConsulMesh(pulumi.ComponentResource):
    """Consul servers, connect injection, the terminating gateway and the config entries of the model.

    Outputs: ``ready``, ``system_namespace``, ``permissions`` (intentions) and ``exits``.
    """

    NAME = "consul"
    SYSTEM_NAMESPACE = SYSTEM_NAMESPACE

    @staticmethod
    def namespace_labels() -> dict[str, str]:
        """The injector's namespaceSelector label; the CNI keeps workload pods unprivileged."""
        key, value = INJECT_LABEL
        return {key: value, **POD_SECURITY_LABELS}

    @staticmethod
    def namespace_annotations() -> dict[str, str]:
        return {}

    @staticmethod
    def workload_pod_annotations(model: AccessModel, vpc_cidr: str) -> dict[str, dict[str, str]]:
        """Per workload, the outbound exclusions for its exits inside the VPC and the Service CIDR
        (RDS, the Kubernetes API), which no Consul destination can name."""
        return exit_pod_annotations(model, vpc_cidr=vpc_cidr, service_cidr=KUBERNETES_SERVICE_CIDR)

    @staticmethod
    def job_pod_annotations() -> dict[str, str]:
        """A hook Job that only calls the Kubernetes API has no Consul service (and with
        ``meshDestinationsOnly`` could not reach the API server): it runs outside the mesh."""
        return {"consul.hashicorp.com/connect-inject": "false"}

    @staticmethod
    def entry_point_pod_annotations() -> dict[str, str]:
        """The load balancer reaches the gateway's listeners in plaintext: keep those ports out of
        the inbound redirection; its outbound (to oauth2-proxy) stays in the mesh."""
        return {"consul.hashicorp.com/transparent-proxy-exclude-inbound-ports": "80,443"}

    @staticmethod
    def telemetry_hooks(plaintext_ports: tuple[int, ...]) -> TelemetryHooks:
        """Nothing from the collector: the Envoy sidecars keep Consul's defaults (no access log, no
        OTLP export), so Consul adds no line to the access trail (docs/observability.md, per provider)."""
        return TelemetryHooks()

    def __init__(self, name: str, args: MeshArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:mesh:Consul", name, None, opts)
        self.system_namespace = SYSTEM_NAMESPACE
        prerequisites = list(args.depends_on)
        names = service_names(args.model)

        def child(*deps: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=list(deps))

        namespace = k8s.core.v1.Namespace(
            f"{name}-system",
            metadata={
                "name": SYSTEM_NAMESPACE,
                # The Consul CNI DaemonSet runs here and writes the node's CNI configuration.
                "labels": {**PART_OF, "pod-security.kubernetes.io/enforce": "privileged"},
            },
            opts=child(*prerequisites),
        )
        # EKS >= 1.30 creates no default StorageClass; the servers' PVCs name this one.
        storage = k8s.storage.v1.StorageClass(
            f"{name}-storage",
            metadata={"name": STORAGE_CLASS, "labels": PART_OF},
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Retain" if args.protect_state else "Delete",
            opts=child(*prerequisites),
        )
        rotation = time.Rotating(f"{name}-gossip-rotation", rotation_days=args.secret_rotation_days, opts=child())
        gossip_key = random.RandomBytes(
            f"{name}-gossip-key", length=32, keepers={"rotation": rotation.id}, opts=child(rotation)
        )
        gossip = k8s.core.v1.Secret(
            f"{name}-gossip",
            metadata={"name": GOSSIP_SECRET, "namespace": SYSTEM_NAMESPACE, "labels": PART_OF},
            string_data={GOSSIP_KEY: pulumi.Output.secret(gossip_key.base64)},
            opts=child(namespace),
        )
        server_ca: list[pulumi.Resource] = []
        if args.ca_source == "cert-manager":
            server_ca.append(
                ca_certificate(
                    f"{name}-server-ca",
                    metadata_name=SERVER_CA_SECRET,
                    namespace=SYSTEM_NAMESPACE,
                    secret_name=SERVER_CA_SECRET,
                    common_name=f"consul-server-ca {args.ca_name}",
                    issuer=args.root_issuer_name,
                    rotate_key=False,  # server certificates signed before a renewal keep verifying
                    opts=child(namespace, *prerequisites),
                )
            )
        values = chart_values(
            args,
            storage_class=STORAGE_CLASS,
            namespaces=sorted({args.model.workload(w).namespace for w in names}),
            server_ca_secret=SERVER_CA_SECRET if server_ca else None,
        )
        release = k8s.helm.v3.Release(
            f"{name}-control-plane",
            k8s.helm.v3.ReleaseArgs(
                name="consul",
                chart="consul",
                version=versions.CONSUL_CHART_VERSION,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=versions.CONSUL_CHART_REPO),
                namespace=SYSTEM_NAMESPACE,
                create_namespace=False,
                atomic=True,
                timeout=900,
                values=values,
            ),
            opts=child(namespace, storage, gossip, *server_ca, *prerequisites),
        )
        self.registrations = self._registrations(name, args, child(release))
        in_cluster = [args.vpc_cidr, KUBERNETES_SERVICE_CIDR]
        self.permissions = [
            self._create(name, m, args, child(release)) for m in intention_manifests(args.model, SYSTEM_NAMESPACE)
        ]
        self.exits = [
            self._create(name, m, args, child(release))
            for m in exit_manifests(
                args.model, SYSTEM_NAMESPACE, in_cluster=in_cluster, identity_mode=args.identity_mode
            )
        ]
        allowed = [*self.permissions, *self.exits]
        self.enforcement = [
            self._create(name, m, args, child(release, *allowed))
            for m in enforcement_manifests(SYSTEM_NAMESPACE, args.tls_mode)
        ]
        self.ready: list[pulumi.Resource] = [
            namespace,
            storage,
            gossip,
            *server_ca,
            release,
            *self.registrations,
            *allowed,
            *self.enforcement,
        ]
        self.register_outputs({})

    def _registrations(self, name: str, args: MeshArgs, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """A headless Service per meshed workload that serves no port and has no chart Service: without
        one consul-k8s never registers the pod and its dataplane waits forever (hashicorp/consul-k8s#588,
        #1899). Named after the ServiceAccount, which is the Consul service name."""
        out = []
        celery = "airflow-redis" in args.model.workloads  # the chart gives Celery workers a Service
        for w in args.model.workloads.values():
            if not w.meshed or w.ports or w.service_account in CHART_SERVICES:
                continue
            if celery and w.name == "airflow-worker":
                continue
            found = args.namespaces.get(w.namespace)
            out.append(
                k8s.core.v1.Service(
                    f"{name}-registration-{w.name}",
                    metadata={"name": w.service_account, "namespace": w.namespace, "labels": PART_OF},
                    spec={"clusterIP": "None", "selector": dict(w.selector)},
                    opts=pulumi.ResourceOptions.merge(
                        opts, pulumi.ResourceOptions(depends_on=[found] if found is not None else [])
                    ),
                )
            )
        return out

    def _create(
        self, name: str, m: Manifest, args: MeshArgs, opts: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{name}-{m.resource}",
            api_version=m.api_version,
            kind=m.kind,
            metadata={"name": m.name, "namespace": m.namespace, "labels": m.labels},
            spec=m.spec,
            opts=opts,
        )
