"""LinkerdMesh: Linkerd (open-source edge release) with default-deny inbound, generated from the access model.

    namespaces -> trust anchors, identity issuer (cert-manager), trust roots ConfigMap
      -> linkerd-crds -> linkerd2-cni -> linkerd-control-plane (proxy.defaultInboundPolicy: deny)
      -> Servers, MeshTLSAuthentications, AuthorizationPolicies, entry point, EgressNetworks + routes

Default deny is a property of each proxy, fixed when the pod is injected: every injected pod starts
denying whatever no policy allows, so there is no separate "turn enforcement on" step. The policies
exist before any meshed workload starts because the workloads wait for ``ready``. Linkerd always
uses mTLS between meshed proxies; ``tls_mode`` chooses ``deny`` or (dev only) ``audit``.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import sizing, versions
from components.access_model import AccessModel
from components.mesh.linkerd import observability
from components.mesh.linkerd.exits import cluster_networks, exit_manifests
from components.mesh.linkerd.identity import LinkerdIdentity, issuance_lifetime
from components.mesh.linkerd.policies import access_policy, entry_point_manifests, permission_manifests
from components.mesh.policy import RESTRICTED_POD_SECURITY_LABELS
from components.mesh.provider import MeshArgs, NodeStartup, TelemetryHooks
from components.mesh.scaffold import chart_release, child_options, manifest_object, system_namespace
from components.platform import KUBERNETES_SERVICE_CIDR

SYSTEM_NAMESPACE = "linkerd"
CNI_NAMESPACE = "linkerd-cni"
#: The proxy injector injects pods of namespaces (or pods) annotated with this.
INJECT_ANNOTATION = "linkerd.io/inject"
DEFAULT_POLICY_ANNOTATION = "config.linkerd.io/default-inbound-policy"


def linkerd_resources(size: sizing.Size) -> dict[str, dict[str, str]]:
    """Linkerd's ``{cpu: {request}, memory: {request, limit}}`` shape (partials/templates/_resources.tpl)
    of a sizing entry: requests and the memory limit, no CPU limit."""
    return {
        "cpu": {"request": f"{size.cpu_m}m"},
        "memory": {"request": f"{size.memory_mi}Mi", "limit": f"{size.memory_limit_mi}Mi"},
    }


#: The chart's resource keys -> the container's entry in components/sizing.py (one per container).
RESOURCE_KEYS = {
    "destinationResources": "linkerd-destination",
    "spValidatorResources": "linkerd-sp-validator",
    "proxyInjectorResources": "linkerd-proxy-injector",
    "identityResources": "linkerd-identity",
}
#: linkerd2-cni's installer and repair controller (its values.yaml leaves both empty).
CNI_RESOURCES = linkerd_resources(sizing.LINKERD_CNI_CONTAINER)


def control_plane_values(args: MeshArgs) -> dict[str, Any]:
    """Helm values of linkerd-control-plane (keys checked against values.yaml + values-ha.yaml)."""
    ha = args.control_plane_replicas >= 2

    def size(pod: str) -> dict[str, dict[str, str]]:
        return linkerd_resources(sizing.SIZES[pod][args.size_tier])  # type: ignore[index]

    values: dict[str, Any] = {
        "controllerReplicas": args.control_plane_replicas,
        # Pods that miss injection would run outside the mesh: fail their creation instead (upstream
        # pairs default deny with HA mode for this reason, docs/2-edge/features/server-policy.md).
        "webhookFailurePolicy": "Fail",
        # The chart's daily CronJob reports the install (cluster UID, version, pod counts) to
        # versioncheck.linkerd.io; nothing in the platform reads it, and it is an exit nobody declared.
        "disableHeartBeat": True,
        "cniEnabled": True,
        "clusterNetworks": cluster_networks(args.vpc_cidr, KUBERNETES_SERVICE_CIDR),
        "identity": {
            "externalCA": True,
            "issuer": {
                "scheme": "kubernetes.io/tls",
                "issuanceLifetime": issuance_lifetime(args.certificate_ttl_hours),
            },
        },
        "proxy": {
            "defaultInboundPolicy": access_policy(args.tls_mode),
            # Native sidecars (the edge default, pinned): Jobs and KubernetesExecutor pods complete.
            "nativeSidecar": True,
            # Also the proxy the chart puts in its own controllers' pods, and (the injector copies it) the
            # network validator's requests.
            "resources": size("linkerd-proxy"),
        },
        # Requests and memory limits per sizing tier (the chart's values.yaml leaves them empty, so the
        # control plane would be BestEffort: first evicted, invisible to the system group's sizing).
        **{key: size(pod) for key, pod in RESOURCE_KEYS.items()},
        "policyController": {"resources": size("linkerd-policy")},
    }
    if ha:
        # values-ha.yaml of the chart, expressed here so the replica count follows the settings.
        values.update(
            {
                "highAvailability": True,
                "enablePodDisruptionBudget": True,
                "controller": {"podDisruptionBudget": {"maxUnavailable": 1}},
                "deploymentStrategy": {"rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}},
                "enablePodAntiAffinity": True,
            }
        )
    if args.telemetry:
        # Traces over OTLP; access logs go to the proxies' own logs (observability.py).
        endpoint = f"{args.telemetry.host}:{args.telemetry.otlp_grpc_port}"
        # The chart refuses proxy tracing without the collector's mesh identity (proxy-injector.yaml:
        # "proxy.tracing.collector.meshIdentity.serviceAccountName must be set"): the proxies verify it.
        if not args.telemetry.service_account:
            raise ValueError("linkerd: telemetry needs the collector's service account (its mesh identity)")
        identity = {"serviceAccountName": args.telemetry.service_account, "namespace": args.telemetry.namespace}
        values["proxy"]["tracing"] = {"enabled": True, "collector": {"endpoint": endpoint, "meshIdentity": identity}}
        values["controller"] = {
            **values.get("controller", {}),
            "tracing": {"enabled": True, "collector": {"endpoint": endpoint}},
        }
    return values


class LinkerdMesh(pulumi.ComponentResource):
    """Linkerd control plane, identity, and the policies generated from the access model.

    Outputs: ``ready``, ``system_namespace``, and for tests and reports ``permissions`` (policy
    objects per edge and entry point) and ``exits`` (EgressNetworks and routes).
    """

    NAME = "linkerd"
    SYSTEM_NAMESPACE = SYSTEM_NAMESPACE
    #: edge-26.8.3 reads TLSRoute only at v1alpha2 (linkerd2 policy-controller/k8s/api/src/lib.rs
    #: ``gateway::TLSRoute``), which the v1.5.1 standard channel does not serve: every TLS exit would be
    #: invisible to it and denied by the namespace's deny-all EgressNetwork.
    GATEWAY_API_CHANNEL = "experimental"

    @staticmethod
    def namespace_labels() -> dict[str, str]:
        """Pod Security only: Linkerd enrols a namespace by annotation (:meth:`namespace_annotations`).
        The CNI sets up the redirection, and the containers the injector adds (network validator, proxy)
        drop every capability and run as non-root with seccomp RuntimeDefault, so ``restricted`` is
        enforced (proven with the injected containers by proof/injection.py, tests/proof)."""
        return dict(RESTRICTED_POD_SECURITY_LABELS)

    @staticmethod
    def namespace_annotations() -> dict[str, str]:
        """Injection, default deny written on the namespace too (so a pod created while the cluster-wide
        default were ever different still starts denying), and the proxies' JSON access log."""
        return {
            INJECT_ANNOTATION: "enabled",
            DEFAULT_POLICY_ANNOTATION: "deny",
            # Every proxy's HTTP access log, for the access trail (observability.py).
            observability.ACCESS_LOG_ANNOTATION: "json",
        }

    @staticmethod
    def job_pod_annotations() -> dict[str, str]:
        """Nothing: the Kubernetes API is inside ``clusterNetworks``, and native sidecars let the Job end."""
        return {}

    @staticmethod
    def workload_pod_annotations(model: AccessModel, vpc_cidr: str) -> dict[str, dict[str, str]]:
        """None: exits inside ``clusterNetworks`` (RDS, the Kubernetes API) are not egress to Linkerd,
        and the database port is opaque cluster-wide (chart ``proxy.opaquePorts`` keeps 5432: a
        server-speaks-first-looking protocol the proxy must not sniff), so no pod needs
        ``config.linkerd.io/skip-outbound-ports`` or ``opaque-ports`` (test_linkerd checks both)."""
        return {}

    @staticmethod
    def http_service_annotations(port: int) -> dict[str, str]:
        """Nothing: the proxy detects HTTP on the connection itself (protocol detection)."""
        return {}

    @staticmethod
    def entry_point_pod_annotations() -> dict[str, str]:
        """Nothing on the pod: the gateway's listener ports are admitted by policy (``policies``)."""
        return {}

    @staticmethod
    def telemetry_hooks(plaintext_ports: tuple[int, ...]) -> TelemetryHooks:
        """The proxies' HTTP access lines from the node (observability.py); ``plaintext_ports`` need
        nothing: Linkerd's proxies send traces to the meshed collector over mTLS."""
        return observability.telemetry_hooks()

    @staticmethod
    def node_startup() -> NodeStartup:
        """No taint: nothing in Linkerd removes one (linkerd/linkerd2 at b24cd40 has no taint code; the
        CNI chart only tolerates every taint). Instead the injector adds ``linkerd-network-validator``
        as the first init container of every injected pod (partials ``_network-validator.tpl``), which
        fails the pod until the CNI has set up its redirection, and the CNI DaemonSet's repair
        controller (``repairController.enabled``, set here) deletes such pods so their owner recreates
        them. A pod never runs unmeshed; a bare task pod fails and Airflow retries the task."""
        return NodeStartup(
            None,
            guard="linkerd-network-validator init container (fails closed) + linkerd-cni repair-controller",
        )

    def __init__(self, name: str, args: MeshArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:mesh:Linkerd", name, None, opts)
        if args.ca_source != "cert-manager":
            raise ValueError("linkerd: the identity issuer comes from cert-manager (meshCaSource: cert-manager)")
        self.system_namespace = SYSTEM_NAMESPACE
        prerequisites = list(args.depends_on)  # cert-manager and the Gateway API CRDs the policy controller reads

        child = child_options(self)

        # Created here (not by Helm, which only creates them from the CLI) so the identity issuer and
        # the trust roots exist before the control plane starts.
        namespace = system_namespace(
            f"{name}-system",
            SYSTEM_NAMESPACE,
            child(*prerequisites),
            labels={
                "linkerd.io/is-control-plane": "true",
                "config.linkerd.io/admission-webhooks": "disabled",
                "linkerd.io/control-plane-ns": SYSTEM_NAMESPACE,
                "pod-security.kubernetes.io/enforce": "restricted",  # the CNI removes proxy-init's privileges
            },
            annotations={INJECT_ANNOTATION: "disabled"},
        )
        cni_namespace = system_namespace(
            f"{name}-cni-system",
            CNI_NAMESPACE,
            child(*prerequisites),
            labels={
                "linkerd.io/cni-resource": "true",
                "config.linkerd.io/admission-webhooks": "disabled",
                # The CNI DaemonSet writes the node's CNI configuration (host paths).
                "pod-security.kubernetes.io/enforce": "privileged",
            },
        )
        identity = LinkerdIdentity(name, args, parent=self, namespace=namespace, depends_on=prerequisites)

        def release(component: str, chart: str, namespace_: str, values: dict, deps: list) -> k8s.helm.v3.Release:
            return chart_release(
                f"{name}-{component}",
                release=chart,
                chart=chart,
                version=versions.LINKERD_CHART_VERSION,
                repo=versions.LINKERD_CHART_REPO,
                namespace=namespace_,
                values=values,
                opts=child(*prerequisites, *deps),
            )

        # The Gateway API CRDs belong to the stack (components.edge.gateway_api), never to Linkerd.
        crds = release("crds", "linkerd-crds", SYSTEM_NAMESPACE, {"installGatewayAPI": False}, [namespace])
        cni = release(
            "cni",
            "linkerd2-cni",
            CNI_NAMESPACE,
            {"resources": CNI_RESOURCES, "repairController": {"enabled": True, "resources": CNI_RESOURCES}},
            [cni_namespace, crds],
        )
        control_plane = release(
            "control-plane",
            "linkerd-control-plane",
            SYSTEM_NAMESPACE,
            control_plane_values(args),
            [namespace, crds, cni, *identity.resources],
        )
        data_plane = [crds, cni, control_plane]

        self.permissions = [
            manifest_object(name, m, child(*data_plane), args.namespaces)
            for m in (
                *permission_manifests(args.model, args.tls_mode),
                *entry_point_manifests(args.model, args.tls_mode),
            )
        ]
        self.exits = [
            manifest_object(name, m, child(*data_plane), args.namespaces)
            for m in exit_manifests(
                args.model,
                vpc_cidr=args.vpc_cidr,
                service_cidr=KUBERNETES_SERVICE_CIDR,
                identity_mode=args.identity_mode,
            )
        ]
        self.ready: list[pulumi.Resource] = [
            namespace,
            cni_namespace,
            *identity.resources,
            *data_plane,
            *self.permissions,
            *self.exits,
        ]
        self.register_outputs({})
