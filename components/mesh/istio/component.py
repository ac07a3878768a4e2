"""IstioAmbient: Istio 1.30 in ambient mode (no sidecars), generated from the access model.

    namespace -> [CA Certificate] -> base (CRDs) -> istiod (profile=ambient) -> cni -> ztunnel
      -> L4 AuthorizationPolicies (one ALLOW per model edge, allow-nothing mesh-wide)
      -> PeerAuthentication STRICT

Only L4 attributes are used (principals, ports): without a waypoint, ztunnel cannot evaluate L7
rules and a policy that has them denies everything. Egress needs nothing here: ztunnel passes
traffic to destinations outside the mesh straight through (docs/mesh.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s

from components import sizing, versions
from components.access_model import AccessModel, Workload
from components.mesh.istio import observability
from components.mesh.policy import (
    ENTRY_POINT_LABEL,
    PART_OF,
    RESTRICTED_POD_SECURITY_LABELS,
    Permission,
    ca_certificate,
    entry_points,
    k8s_name,
    permissions,
)
from components.mesh.provider import MeshArgs, NodeStartup, TelemetryHooks
from components.mesh.scaffold import chart_release, child_options, policy_object, system_namespace

SYSTEM_NAMESPACE = "istio-system"
#: The taint istiod's untaint controller removes (istio-discovery values ``taint.name``, its default).
UNTAINT_KEY = "cni.istio.io/not-ready"
API_VERSION = "security.istio.io/v1"
#: Istio's default trust domain; principals are ``<trust domain>/ns/<namespace>/sa/<service account>``.
TRUST_DOMAIN = "cluster.local"
#: istiod reads its plugged-in CA from this Secret (cert-manager's tls.crt/tls.key/ca.crt layout).
CA_SECRET = "cacerts"


def principal(namespace: str, service_account: str) -> str:
    return f"{TRUST_DOMAIN}/ns/{namespace}/sa/{service_account}"


def istiod_values(args: MeshArgs) -> dict[str, object]:
    """Helm values of the istiod chart (keys checked against its values.yaml in the tests)."""
    ttl = f"{args.certificate_ttl_hours}h"
    return {
        "profile": "ambient",
        "replicaCount": args.control_plane_replicas,
        "autoscaleMin": args.control_plane_replicas,
        "global": {"defaultPodDisruptionBudget": {"enabled": args.control_plane_replicas >= 2}},
        # Workload (ztunnel-held) certificates live at most this long; ztunnel renews them.
        "env": {"DEFAULT_WORKLOAD_CERT_TTL": ttl, "MAX_WORKLOAD_CERT_TTL": ttl},
        # istiod removes the startup taint new nodes are born with once istio-cni is ready there
        # (IstioAmbient.node_startup); istio-cni runs in istiod's namespace, so no ``taint.namespace``.
        "taint": {"enabled": True, "name": UNTAINT_KEY},
        # Requests and a memory limit per tier (components/sizing.py); the chart's default has no limit.
        "resources": sizing.helm_resources("istiod", args.size_tier),  # type: ignore[arg-type]
        # Pod Security restricted: the chart sets every other field of it but leaves the seccomp profile
        # empty (istio-discovery values.yaml ``seccompProfile: {}``).
        "seccompProfile": {"type": "RuntimeDefault"},
        **({"meshConfig": observability.mesh_config(args.telemetry)} if args.telemetry else {}),
    }


def authorization_spec(p: Permission) -> dict[str, object]:
    """One ALLOW: the source's principal may open the edge's port on the destination's pods."""
    return {
        "selector": {"matchLabels": dict(p.destination.selector)},
        "action": "ALLOW",
        "rules": [
            {
                "from": [{"source": {"principals": [principal(p.source.namespace, p.source.service_account)]}}],
                "to": [{"operation": {"ports": [str(p.edge.port)]}}],
            }
        ],
    }


class IstioAmbient(pulumi.ComponentResource):
    """Istio ambient control and data plane and the L4 policies generated from the access model.

    Outputs: ``ready``, ``system_namespace``, ``permissions`` (one AuthorizationPolicy per edge).
    """

    NAME = "istio"
    SYSTEM_NAMESPACE = SYSTEM_NAMESPACE
    #: Istio ambient's waypoints are GA Gateways; experimental CRDs would switch on Istio's alpha kinds.
    GATEWAY_API_CHANNEL = "standard"

    @staticmethod
    def namespace_labels() -> dict[str, str]:
        """Ambient mode: the namespace label puts its pods on ztunnel; no sidecar, no injection."""
        return {"istio.io/dataplane-mode": "ambient", **RESTRICTED_POD_SECURITY_LABELS}

    @staticmethod
    def namespace_annotations() -> dict[str, str]:
        """None: the label enrols the namespace."""
        return {}

    @staticmethod
    def job_pod_annotations() -> dict[str, str]:
        """Nothing: Istio ambient does not restrict egress, so an API-only Job runs in the mesh."""
        return {}

    @staticmethod
    def workload_pod_annotations(model: AccessModel, vpc_cidr: str) -> dict[str, dict[str, str]]:
        """None: ztunnel does not restrict egress, so no exit needs a pod-level exception."""
        return {}

    @staticmethod
    def node_startup() -> NodeStartup:
        """istiod's node untaint controller (istiod values ``taint.enabled``, set in :func:`istiod_values`)
        removes ``cni.istio.io/not-ready`` once the node's istio-cni pod is ready; it never adds it
        ("the cluster operator is responsible for having the taint set", istio-discovery values.yaml)."""
        return NodeStartup(
            {"key": UNTAINT_KEY, "effect": "NoSchedule"},
            remover="istiod node untaint controller (PILOT_ENABLE_NODE_UNTAINT_CONTROLLERS)",
        )

    @staticmethod
    def http_service_annotations(port: int) -> dict[str, str]:
        """Nothing: ztunnel is L4; a waypoint would read ``appProtocol`` or the port name."""
        return {}

    @staticmethod
    def entry_point_pod_annotations() -> dict[str, str]:
        """Nothing on the pod: the mesh admits the entry point's ports with a port-level PERMISSIVE
        PeerAuthentication and an ALLOW policy (see :meth:`_ingress_allow`)."""
        return {}

    @staticmethod
    def telemetry_hooks(plaintext_ports: tuple[int, ...]) -> TelemetryHooks:
        """ztunnel logs to stdout: the collector reads its lines from the node (istio/observability.py).
        Nothing in ambient pushes to the collector outside mTLS, so ``plaintext_ports`` needs nothing."""
        return observability.telemetry_hooks(SYSTEM_NAMESPACE)

    def __init__(self, name: str, args: MeshArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:mesh:IstioAmbient", name, None, opts)
        self.system_namespace = SYSTEM_NAMESPACE
        prerequisites = list(args.depends_on)  # includes the Gateway API CRDs istiod watches

        child = child_options(self)

        # Created here (not by Helm) so the plugged-in CA can exist before istiod starts.
        namespace = system_namespace(f"{name}-system", SYSTEM_NAMESPACE, child(*prerequisites))
        certificates = []
        if args.ca_source == "cert-manager":
            # An intermediate under the root ClusterIssuer: workloads trust the root (ca.crt), so the
            # key may rotate on every renewal and a new meshCaName needs no trust overlap.
            certificates.append(
                ca_certificate(
                    f"{name}-ca",
                    metadata_name="istio-ca",
                    namespace=SYSTEM_NAMESPACE,
                    secret_name=CA_SECRET,
                    common_name=f"istio-ca {args.ca_name}",
                    issuer=args.root_issuer_name,
                    rotate_key=True,
                    opts=child(namespace, *prerequisites),
                )
            )

        def release(component: str, chart: str, values: dict, deps: list[pulumi.Resource]) -> k8s.helm.v3.Release:
            return chart_release(
                f"{name}-{component}",
                release=chart if chart != "base" else "istio-base",
                chart=chart,
                version=versions.ISTIO_VERSION,
                repo=versions.ISTIO_CHART_REPO,
                namespace=SYSTEM_NAMESPACE,
                values=values,
                opts=child(namespace, *prerequisites, *deps),
            )

        base = release("base", "base", {}, [])
        istiod = release("istiod", "istiod", istiod_values(args), [base, *certificates])
        node_agents = sizing.MESH_DAEMONSETS["istio"]
        cni_values = {"profile": "ambient", "resources": node_agents["istio-cni"].helm()}
        cni = release("cni", "cni", cni_values, [istiod])
        ztunnel = release("ztunnel", "ztunnel", {"resources": node_agents["ztunnel"].helm()}, [istiod, cni])
        data_plane = [base, istiod, cni, ztunnel]

        # --- permissions, then mesh-wide deny and STRICT ------------------------------------------
        self.permissions: list[k8s.apiextensions.CustomResource] = [
            self._policy(
                f"{name}-allow-{p.source.name}-{p.destination.name}-{p.edge.port}",
                "AuthorizationPolicy",
                k8s_name("allow", p.source.name, "to", p.destination.name, p.edge.port),
                p.destination.namespace,
                authorization_spec(p),
                child(*data_plane),
                namespaces=args.namespaces,
            )
            for p in permissions(args.model)
        ]
        ingress = entry_points(args.model)
        allowed = [*self.permissions, *(self._ingress_allow(name, args, w, child(*data_plane)) for w in ingress)]
        mode = "STRICT" if args.tls_mode == "strict" else "PERMISSIVE"
        # Enforcement waits for every allow: ingress ports, the mesh-wide deny, then STRICT.
        ingress_mtls = [self._ingress_mtls(name, args, w, mode, child(*data_plane, *allowed)) for w in ingress]
        # In the root namespace, an ALLOW policy without rules applies to every workload and matches
        # nothing: whatever no other policy allows is denied.
        deny_by_default = self._policy(
            f"{name}-allow-nothing", "AuthorizationPolicy", "allow-nothing", SYSTEM_NAMESPACE, {}, child(*allowed)
        )
        peer_authentication = self._policy(
            f"{name}-mtls",
            "PeerAuthentication",
            "default",
            SYSTEM_NAMESPACE,
            {"mtls": {"mode": mode}},
            child(*allowed, *ingress_mtls, deny_by_default),
        )
        telemetry = (
            [observability.telemetry_resource(name, SYSTEM_NAMESPACE, child(*data_plane))] if args.telemetry else []
        )
        self.ready: list[pulumi.Resource] = [
            namespace,
            *certificates,
            *data_plane,
            *telemetry,
            *allowed,
            *ingress_mtls,
            deny_by_default,
            peer_authentication,
        ]
        self.register_outputs({})

    # The entry point (gateway) receives plaintext from the load balancer on its ports and nothing
    # else: those ports are PERMISSIVE (the rest of the pod keeps the mesh's mode) and open to any
    # source; everything else reaching it is denied like anywhere in the mesh.

    def _ingress_allow(self, name: str, args: MeshArgs, w: Workload, opts: pulumi.ResourceOptions):
        spec = {
            "selector": {"matchLabels": dict(w.selector)},
            "action": "ALLOW",
            "rules": [{"to": [{"operation": {"ports": [str(port) for port in w.ports]}}]}],
        }
        return self._policy(
            f"{name}-ingress-allow-{w.name}",
            "AuthorizationPolicy",
            k8s_name("ingress", w.name),
            w.namespace,
            spec,
            opts,
            entry_point=True,
            namespaces=args.namespaces,
        )

    def _ingress_mtls(self, name: str, args: MeshArgs, w: Workload, mode: str, opts: pulumi.ResourceOptions):
        spec = {
            "selector": {"matchLabels": dict(w.selector)},
            "mtls": {"mode": mode},
            "portLevelMtls": {str(port): {"mode": "PERMISSIVE"} for port in w.ports},
        }
        return self._policy(
            f"{name}-ingress-mtls-{w.name}",
            "PeerAuthentication",
            k8s_name("ingress", w.name),
            w.namespace,
            spec,
            opts,
            entry_point=True,
            namespaces=args.namespaces,
        )

    @staticmethod
    def _policy(
        name: str,
        kind: str,
        k8s_name_: str,
        namespace: str,
        spec: dict,
        opts: pulumi.ResourceOptions,
        entry_point: bool = False,
        namespaces: Mapping[str, k8s.core.v1.Namespace] | None = None,
    ) -> k8s.apiextensions.CustomResource:
        # The entry-point policies are the one sanctioned plaintext/any-source opening; the label lets
        # the policy pack tell them from a mistake (policy/rules/mesh.py).
        return policy_object(
            name,
            api_version=API_VERSION,
            kind=kind,
            metadata_name=k8s_name_,
            namespace=namespace,
            spec=spec,
            labels={**PART_OF, ENTRY_POINT_LABEL: "true"} if entry_point else PART_OF,
            opts=opts,
            namespaces=namespaces,
        )
