"""ConsulMesh: Consul 1.22 on Kubernetes (consul-k8s 1.9.11) with ACL default deny and intentions per edge.

    consul namespace, gossip key Secret, [server TLS CA Certificate]
      -> consul-k8s release (servers, connect injector + CNI, terminating gateway, ACLs)
      -> CNI toleration patch -> untaint agent (removes the nodes' startup taint once consul-cni chained)
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
from components.mesh.consul import observability
from components.mesh.consul.config_entries import (
    enforcement_manifests,
    exit_manifests,
    exit_pod_annotations,
    intention_manifests,
    service_names,
)
from components.mesh.consul.untaint import TAINT, untaint_agent
from components.mesh.consul.values import GOSSIP_KEY, GOSSIP_SECRET, INJECT_LABEL, chart_values
from components.mesh.policy import PART_OF, RESTRICTED_POD_SECURITY_LABELS, ca_certificate
from components.mesh.provider import MeshArgs, NodeStartup, TelemetryHooks
from components.mesh.scaffold import chart_release, child_options, manifest_object, system_namespace
from components.platform import KUBERNETES_SERVICE_CIDR

SYSTEM_NAMESPACE = "consul"
SERVER_CA_SECRET = "consul-server-ca"
#: The chart's CNI DaemonSet (``<global.name>-cni``).
CNI_DAEMONSET = "consul-cni"
#: Airflow chart Services that already select a portless workload (consul-k8s registers pods only
#: through a Service that selects them: hashicorp/consul-k8s#1899).
CHART_SERVICES = {"airflow-triggerer"}


class ConsulMesh(pulumi.ComponentResource):
    """Consul servers, connect injection, the terminating gateway and the config entries of the model.

    Outputs: ``ready``, ``system_namespace``, ``permissions`` (intentions) and ``exits``.
    """

    NAME = "consul"
    SYSTEM_NAMESPACE = SYSTEM_NAMESPACE
    #: consul-k8s 1.9.11's API-gateway controller (always on in connect-inject) watches TCPRoute at
    #: v1alpha2 (control-plane/api-gateway/controllers/gateway_controller.go), which only the experimental
    #: channel serves; without it the connect injector never syncs its caches.
    GATEWAY_API_CHANNEL = "experimental"

    @staticmethod
    def namespace_labels() -> dict[str, str]:
        """The injector's namespaceSelector label, and ``restricted`` enforced: with the CNI, the
        injected connect-inject-init and consul-dataplane containers meet it (consul-k8s v1.9.11
        connect-inject/webhook/container_init.go, consul_dataplane_sidecar.go; proof/injection.py)."""
        key, value = INJECT_LABEL
        return {key: value, **RESTRICTED_POD_SECURITY_LABELS}

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
    def telemetry_hooks(plaintext_ports: tuple[int, ...]) -> TelemetryHooks:
        """Envoy's JSON access lines from the sidecars' logs; the collector's OTLP port outside the
        redirection for the proxies' spans (components/mesh/consul/observability.py)."""
        return observability.telemetry_hooks(plaintext_ports)

    @staticmethod
    def node_startup() -> NodeStartup:
        """``consul.hashicorp.com/cni-not-ready``, removed by this provider's own untaint agent
        (:mod:`components.mesh.consul.untaint`) once consul-cni is the last plugin of the node's CNI
        configuration. consul-k8s has neither an untaint controller (hashicorp/consul-k8s at a507b1d: no
        taint code in ``control-plane/``) nor a check that the CNI ran: its plugin only marks the pod
        ``consul.hashicorp.com/transparent-proxy-status: complete`` (``control-plane/cni/main.go``) and no
        component reads that back, so without the taint a pod that lands on a node before consul-cni
        chained itself runs without redirection."""
        return NodeStartup(
            dict(TAINT),
            remover="consul-cni-untaint DaemonSet (components/mesh/consul/untaint.py), once consul-cni "
            "is chained in /etc/cni/net.d (hashicorp/consul-k8s control-plane/subcommand/install-cni)",
        )

    @staticmethod
    def http_service_annotations(port: int) -> dict[str, str]:
        """Nothing: Consul takes a service's protocol from config entries, and in-mesh services keep
        ``tcp`` (no request timeout in the mesh: components/timeouts.py)."""
        return {}

    @staticmethod
    def entry_point_pod_annotations() -> dict[str, str]:
        """The load balancer reaches the gateway's listeners in plaintext: keep those ports out of
        the inbound redirection; its outbound (to oauth2-proxy) stays in the mesh."""
        return {"consul.hashicorp.com/transparent-proxy-exclude-inbound-ports": "80,443"}

    def __init__(self, name: str, args: MeshArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:mesh:Consul", name, None, opts)
        self.system_namespace = SYSTEM_NAMESPACE
        prerequisites = list(args.depends_on)
        names = service_names(args.model)

        child = child_options(self)

        namespace = system_namespace(
            f"{name}-system",
            SYSTEM_NAMESPACE,
            child(*prerequisites),
            # The Consul CNI DaemonSet runs here and writes the node's CNI configuration (privileged, host
            # paths); the untaint agent reads that configuration through a read-only hostPath, which
            # baseline forbids too (components/mesh/consul/untaint.py).
            labels={"pod-security.kubernetes.io/enforce": "privileged"},
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
            storage_class=args.storage_class,
            namespaces=sorted({args.model.workload(w).namespace for w in names}),
            server_ca_secret=SERVER_CA_SECRET if server_ca else None,
        )
        release = chart_release(
            f"{name}-control-plane",
            release="consul",
            chart="consul",
            version=versions.CONSUL_CHART_VERSION,
            repo=versions.CONSUL_CHART_REPO,
            namespace=SYSTEM_NAMESPACE,
            values=values,
            timeout=900,
            opts=child(namespace, *args.storage, gossip, *server_ca, *prerequisites),
        )
        # consul-k8s 1.9.11 hard-codes the CNI DaemonSet's tolerations (CriticalAddonsOnly and NoExecute,
        # templates/cni-daemonset.yaml; no value changes them), so it would never run on a node with a
        # NoSchedule taint, such as the task nodes': their pods would start without redirection at all.
        # The CNI must run on every node, as Kuma's, Istio's and Linkerd's do (they tolerate every
        # NoSchedule taint): one toleration of everything, applied server-side over the chart's list
        # (an atomic list, so this owns it; Helm's three-way merge leaves it while the chart's own
        # tolerations are unchanged).
        cni_tolerations = k8s.apps.v1.DaemonSetPatch(
            f"{name}-cni-tolerations",
            metadata={
                "name": CNI_DAEMONSET,
                "namespace": SYSTEM_NAMESPACE,
                "annotations": {"pulumi.com/patchForce": "true"},
            },
            spec={"template": {"spec": {"tolerations": [{"operator": "Exists"}]}}},
            opts=child(release),
        )
        # Takes the startup taint off each node once consul-cni has chained itself there.
        untaint = untaint_agent(name, SYSTEM_NAMESPACE, child(), [namespace, cni_tolerations])
        self.registrations = self._registrations(name, args, child(release))
        in_cluster = [args.vpc_cidr, KUBERNETES_SERVICE_CIDR]
        self.permissions = [
            manifest_object(name, m, child(release)) for m in intention_manifests(args.model, SYSTEM_NAMESPACE)
        ]
        self.exits = [
            manifest_object(name, m, child(release))
            for m in exit_manifests(
                args.model,
                SYSTEM_NAMESPACE,
                in_cluster=in_cluster,
                identity_mode=args.identity_mode,
                grant_values=args.grant_values,
            )
        ]
        allowed = [*self.permissions, *self.exits]
        self.enforcement = [
            manifest_object(name, m, child(release, *allowed))
            for m in enforcement_manifests(SYSTEM_NAMESPACE, args.tls_mode, args.telemetry)
        ]
        self.ready: list[pulumi.Resource] = [
            namespace,
            gossip,
            *server_ca,
            release,
            cni_tolerations,
            *untaint,
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
