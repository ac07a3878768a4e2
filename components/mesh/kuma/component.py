"""KumaMesh: Kuma 2.14 with MeshIdentity + MeshTrust + MeshTLS, generated from the access model.

Order matters and is in the graph (docs/mesh.md explains why):

    namespace -> CA Certificate(s) -> control plane (Helm) -> Mesh (skipMeshCreation: we own it)
      -> MeshTimeouts + MeshRetry (kuma/resilience.py: instead of Kuma's initial ones)
      -> MeshTrafficPermissions + MeshPassthroughs -> MeshIdentity (mTLS on) -> MeshTLS (Strict)

A MeshIdentity turns mTLS on, and with it Kuma's deny-by-default, so every permission and every exit
exists before the first identity; MeshTLS waits for both.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from components import sizing, versions
from components.access_model import AccessModel
from components.mesh.kuma import observability
from components.mesh.kuma.exits import egress_by_source, exit_matches
from components.mesh.kuma.resilience import POLICIES, REPLACED_INITIAL_POLICIES
from components.mesh.policy import (
    PART_OF,
    RESTRICTED_POD_SECURITY_LABELS,
    Permission,
    ca_certificate,
    k8s_name,
    permissions,
)
from components.mesh.provider import MeshArgs, NodeStartup, TelemetryHooks
from components.mesh.scaffold import chart_release, child_options, policy_object, system_namespace

SYSTEM_NAMESPACE = "kuma-system"
#: The mesh every injected pod joins when it carries no ``kuma.io/mesh`` annotation.
MESH_NAME = "default"
API_VERSION = "kuma.io/v1alpha1"
#: Where the control plane mounts each cert-manager CA Secret (``<dir>/<ca name>/tls.crt|tls.key``).
CA_MOUNT_DIR = "/var/run/secrets/airflow-mesh/ca"
#: AWS CNI's config file on EKS nodes; Kuma's CNI chains onto it.
EKS_CNI = {"netDir": "/etc/cni/net.d", "binDir": "/opt/cni/bin", "confName": "10-aws.conflist"}
#: Label Kuma puts on every Dataplane with the pod's namespace.
NAMESPACE_LABEL = "k8s.kuma.io/namespace"


_NO_PRIVILEGES = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
#: The ContainerPatch kuma-cp applies to every container it injects (``runtime.kubernetes.injector.
#: containerPatches``; kuma 2.14.3 webhooks/injector/injector.go ``loadContainerPatches``: the sidecar
#: patch to ``kuma-sidecar``, the init patch to ``kuma-validation``). Kuma sets uid 5678, drops every
#: capability and forbids escalation, but leaves runAsNonRoot and the seccomp profile to the pod
#: (containers/factory.go); with the patch a meshed pod meets Pod Security ``restricted`` whatever its
#: own pod context, so NGF's control plane (whose chart hardcodes one without seccomp) can be meshed
#: in a ``restricted`` namespace. A named patch that does not exist makes the injector fail every
#: meshed pod, so the patch is part of ``ready``.
CONTAINER_PATCH = "airflow-mesh-restricted"


def container_patch_spec() -> dict[str, object]:
    """JSON-patch blocks (values are JSON text, ContainerPatch CRD ``JsonPatchBlock``)."""
    ops = [
        {"op": "add", "path": "/securityContext/runAsNonRoot", "value": "true"},
        {"op": "add", "path": "/securityContext/seccompProfile", "value": json.dumps({"type": "RuntimeDefault"})},
    ]
    return {"sidecarPatch": ops, "initPatch": ops}


def control_plane_values(args: MeshArgs) -> dict[str, object]:
    """Helm values of the kuma chart (keys checked against its values.yaml in the tests)."""
    control_plane: dict[str, object] = {
        "replicas": args.control_plane_replicas,
        "resources": sizing.helm_resources("kuma-control-plane", args.size_tier),  # type: ignore[arg-type]
        "podDisruptionBudget": {"enabled": args.control_plane_replicas >= 2},
        # The program owns the Mesh (with MeshServices, no passthrough, no initial allow-all).
        "defaults": {"skipMeshCreation": True},
        "envVars": {"KUMA_RUNTIME_KUBERNETES_INJECTOR_CONTAINER_PATCHES": CONTAINER_PATCH},
        # Pod Security restricted; Helm merges these onto the chart's readOnlyRootFilesystem and its pod
        # context (runAsNonRoot, seccomp RuntimeDefault: kuma 2.14.3 values.yaml controlPlane.*SecurityContext).
        "containerSecurityContext": _NO_PRIVILEGES,
    }
    if args.ca_source == "cert-manager":
        # Mounted as a whole Secret (not subPath) so the kubelet refreshes it when cert-manager renews.
        control_plane["extraSecrets"] = {
            _ca_secret(ca): {"name": _ca_secret(ca), "mountPath": f"{CA_MOUNT_DIR}/{ca}", "readOnly": True}
            for ca in _cas(args)
        }
    return {
        "controlPlane": control_plane,
        # The chart's hook Jobs (patch-ns, install-crds, delete-webhook) have only runAsNonRoot and a
        # read-only root filesystem by default (values.yaml ``hooks``).
        "hooks": {
            "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containerSecurityContext": _NO_PRIVILEGES,
        },
        # Native sidecars (2.14's default, pinned so an upgrade cannot silently drop it): without them
        # KubernetesExecutor task pods and the migration Job never complete (apache/airflow#40359).
        # Set through the chart's own value, which renders KUMA_EXPERIMENTAL_SIDECAR_CONTAINERS once.
        "experimental": {"sidecarContainers": True},
        # The CNI installs the traffic redirection, so injected pods need no NET_ADMIN init container
        # and the workload namespaces can enforce Pod Security "baseline".
        "cni": {"enabled": True, "chained": True, **EKS_CNI},
    }


def mesh_spec() -> dict[str, object]:
    return {
        # MeshIdentity/MeshTrust require MeshServices.
        "meshServices": {"mode": "Exclusive"},
        # Egress is denied unless a MeshPassthrough lets a workload out (the model's exits).
        "networking": {"outbound": {"passthrough": False}},
        # Never create Kuma's default allow-all permissions: only the model's edges are allowed. Its
        # default timeouts and retries are replaced by explicit ones (kuma/resilience.py).
        "skipCreatingInitialPolicies": ["MeshTrafficPermission", "TrafficPermission", *REPLACED_INITIAL_POLICIES],
    }


def spiffe_id(trust_domain: str, namespace: str, service_account: str) -> str:
    return f"spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}"


def permission_spec(p: Permission, trust_domain: str) -> dict[str, object]:
    """Allow one source identity into the destination's proxies (the policy lives in the
    destination's namespace, which scopes it there)."""
    src = spiffe_id(trust_domain, p.source.namespace, p.source.service_account)
    return {
        "targetRef": {"kind": "Dataplane", "labels": dict(p.destination.selector)},
        "rules": [{"default": {"allow": [{"spiffeID": {"type": "Exact", "value": src}}]}}],
    }


class KumaMesh(pulumi.ComponentResource):
    """Kuma control plane and the policies generated from the access model.

    Outputs: ``ready`` (everything meshed workloads wait for), ``system_namespace``, and for tests
    and reports ``permissions`` / ``exits`` (workload -> MeshPassthrough).
    """

    NAME = "kuma"
    SYSTEM_NAMESPACE = SYSTEM_NAMESPACE
    #: Kuma reads only GA Gateway API kinds (and none of ours: the edge is NGF).
    GATEWAY_API_CHANNEL = "standard"

    @staticmethod
    def namespace_labels() -> dict[str, str]:
        """Kuma enrols a namespace by this label (not the annotation)."""
        return {"kuma.io/sidecar-injection": "enabled", **RESTRICTED_POD_SECURITY_LABELS}

    @staticmethod
    def namespace_annotations() -> dict[str, str]:
        """None: the label enrols the namespace."""
        return {}

    @staticmethod
    def job_pod_annotations() -> dict[str, str]:
        """A chart's one-shot hook Job that only talks to the Kubernetes API (e.g. NGF's
        cert-generator) has no identity of its own in the access model; with Kuma's egress closed it
        would hang, so it runs outside the mesh."""
        return {"kuma.io/sidecar-injection": "disabled"}

    @staticmethod
    def workload_pod_annotations(model: AccessModel, vpc_cidr: str) -> dict[str, dict[str, str]]:
        """None: every exit, the database (by VPC CIDR and port) and the Kubernetes API (by address)
        included, is a MeshPassthrough match (:mod:`.exits`)."""
        return {}

    @staticmethod
    def node_startup() -> NodeStartup:
        """Kuma's CNI taint controller (in kuma-cp; chart ``cni.taintController.enabled``, on by default)
        removes ``NodeReadiness:NoSchedule`` once the node's kuma-cni pod is ready (kumahq/kuma
        ``pkg/plugins/runtime/k8s/controllers/cni_taint_controller.go``). It also adds the taint, but
        only after the Node exists, so nodes must be born with it (kumahq/kuma#18741)."""
        return NodeStartup(
            {"key": "NodeReadiness", "effect": "NoSchedule"},
            remover="kuma-cp CNI taint controller (chart cni.taintController.enabled)",
        )

    @staticmethod
    def entry_point_pod_annotations() -> dict[str, str]:
        """A *delegated gateway* keeps its sidecar for outbound mTLS (its identity is what the
        permissions allow) but does not intercept inbound traffic, which arrives in plaintext from
        the load balancer."""
        return {"kuma.io/gateway": "enabled"}

    @staticmethod
    def http_service_annotations(port: int) -> dict[str, str]:
        """Kuma's protocol annotation (read when the port has no ``appProtocol``: kumahq/kuma
        ``pkg/plugins/runtime/k8s/controllers/inbound_converter.go`` ``ProtocolTagFor``)."""
        return {f"{port}.service.kuma.io/protocol": "http"}

    @staticmethod
    def telemetry_hooks(plaintext_ports: tuple[int, ...]) -> TelemetryHooks:
        """The data planes push OTLP themselves, outside mTLS (components/mesh/kuma/observability.py)."""
        return observability.telemetry_hooks(plaintext_ports)

    def __init__(self, name: str, args: MeshArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:mesh:Kuma", name, None, opts)
        self.system_namespace = SYSTEM_NAMESPACE
        prerequisites = list(args.depends_on)

        child = child_options(self)

        # Created here (not by Helm) because the CA Certificates must live in it before the control
        # plane starts: the control plane mounts their Secrets.
        namespace = system_namespace(f"{name}-system", SYSTEM_NAMESPACE, child(*prerequisites))
        certificates = []
        if args.ca_source == "cert-manager":
            for ca in _cas(args):
                certificates.append(
                    ca_certificate(
                        f"{name}-ca-{ca}",
                        metadata_name=_ca_secret(ca),
                        namespace=SYSTEM_NAMESPACE,
                        secret_name=_ca_secret(ca),
                        common_name=f"{args.trust_domain} {ca}",
                        issuer=args.root_issuer_name,
                        rotate_key=False,
                        opts=child(namespace, *prerequisites),
                    )
                )
        release = chart_release(
            f"{name}-control-plane",
            release="kuma",
            chart="kuma",
            version=versions.KUMA_CHART_VERSION,
            repo=versions.KUMA_CHART_REPO,
            namespace=SYSTEM_NAMESPACE,
            values=control_plane_values(args),
            opts=child(namespace, *certificates, *prerequisites),
        )
        mesh = policy_object(
            f"{name}-mesh",
            api_version=API_VERSION,
            kind="Mesh",
            metadata_name=MESH_NAME,
            namespace=None,
            spec=mesh_spec(),
            labels=PART_OF,
            opts=child(release),
        )
        patch = policy_object(
            f"{name}-container-patch",
            api_version=API_VERSION,
            kind="ContainerPatch",
            metadata_name=CONTAINER_PATCH,
            namespace=SYSTEM_NAMESPACE,
            spec=container_patch_spec(),
            labels=PART_OF,
            opts=child(release),
        )

        # No request timeout and no retry of a request the application may have seen (resilience.py).
        resilience = [
            self._policy(f"{name}-{suffix}", kind, metadata_name, SYSTEM_NAMESPACE, spec(), child(mesh))
            for suffix, kind, metadata_name, spec in POLICIES
        ]

        # --- permissions and exits: before any identity turns mTLS (and deny-by-default) on -------
        self.permissions: list[k8s.apiextensions.CustomResource] = []
        for p in permissions(args.model):
            self.permissions.append(
                self._policy(
                    f"{name}-allow-{p.source.name}-{p.destination.name}-{p.edge.port}",
                    "MeshTrafficPermission",
                    k8s_name("allow", p.source.name, "to", p.destination.name, p.edge.port),
                    p.destination.namespace,
                    permission_spec(p, args.trust_domain),
                    child(mesh),
                    args,
                )
            )
        self.exits: dict[str, k8s.apiextensions.CustomResource] = {}
        for workload, egress in egress_by_source(args.model).items():
            w = args.model.workload(workload)
            # In the system namespace (exits are the mesh operator's, not a namespace owner's), so the
            # proxies are selected by namespace label as well as by the workload's selector.
            spec = {
                "targetRef": {"kind": "Dataplane", "labels": {**w.selector, NAMESPACE_LABEL: w.namespace}},
                "default": {
                    "passthroughMode": "Matched",
                    "appendMatch": exit_matches(egress, args.vpc_cidr, args.identity_mode),
                },
            }
            self.exits[workload] = self._policy(
                f"{name}-exit-{workload}",
                "MeshPassthrough",
                k8s_name("exit", workload),
                SYSTEM_NAMESPACE,
                spec,
                child(mesh),
            )
        allowed = [*self.permissions, *self.exits.values()]

        # --- identity (mTLS on), trust, TLS mode ---------------------------------------------------
        identities = [
            self._policy(
                f"{name}-identity-{ca}",
                "MeshIdentity",
                k8s_name("identity", ca),
                SYSTEM_NAMESPACE,
                identity_spec(args, ca, current=ca == args.ca_name),
                child(mesh, *allowed, *certificates),
            )
            for ca in _cas(args)
        ]
        tls = self._policy(
            f"{name}-tls",
            "MeshTLS",
            "mesh-tls",
            SYSTEM_NAMESPACE,
            {
                "targetRef": {"kind": "Mesh"},
                "rules": [
                    {
                        "default": {
                            "mode": "Strict" if args.tls_mode == "strict" else "Permissive",
                            "tlsVersion": {"min": "TLS12", "max": "TLSAuto"},
                        }
                    }
                ],
            },
            child(mesh, *allowed, *identities),
        )
        telemetry = (
            observability.telemetry_policies(name, args.telemetry, SYSTEM_NAMESPACE, MESH_NAME, child(mesh))
            if args.telemetry
            else []
        )

        self.ready: list[pulumi.Resource] = [
            namespace,
            *certificates,
            release,
            mesh,
            *resilience,
            patch,
            *allowed,
            *identities,
            tls,
            *telemetry,
        ]
        self.register_outputs({})

    # ----------------------------------------------------------------------------------------------

    @staticmethod
    def _policy(
        name: str,
        kind: str,
        k8s_name_: str,
        namespace: str,
        spec: dict,
        opts: pulumi.ResourceOptions,
        args: MeshArgs | None = None,
    ) -> k8s.apiextensions.CustomResource:
        return policy_object(
            name,
            api_version=API_VERSION,
            kind=kind,
            metadata_name=k8s_name_,
            namespace=namespace,
            spec=spec,
            labels={"kuma.io/mesh": MESH_NAME, **PART_OF},
            opts=opts,
            namespaces=args.namespaces if args else None,
        )


def identity_spec(args: MeshArgs, ca: str, *, current: bool) -> dict[str, object]:
    """MeshIdentity for one CA. The current CA issues every workload certificate; a previous CA
    selects no proxy but keeps its (auto-created) MeshTrust, so certificates it signed stay valid
    until they have all been renewed by the new one."""
    bundled: dict[str, object] = {
        "meshTrustCreation": "Enabled",
        "certificateParameters": {"expiry": f"{args.certificate_ttl_hours}h"},
    }
    if args.ca_source == "builtin":
        bundled["autogenerate"] = {"enabled": True}
        bundled["insecureAllowSelfSigned"] = True  # Kuma's generated CA is a self-signed root
    else:
        directory = f"{CA_MOUNT_DIR}/{ca}"
        bundled["ca"] = {
            "certificate": {"type": "File", "file": {"path": f"{directory}/tls.crt"}},
            "privateKey": {"type": "File", "file": {"path": f"{directory}/tls.key"}},
        }
    return {
        "selector": {"dataplane": {"matchLabels": {}}} if current else {},
        "spiffeID": {"trustDomain": args.trust_domain, "path": "/ns/{{ .Namespace }}/sa/{{ .ServiceAccount }}"},
        "provider": {"type": "Bundled", "bundled": bundled},
    }


def _cas(args: MeshArgs) -> list[str]:
    return [ca for ca in (args.ca_name, args.previous_ca_name) if ca]


def _ca_secret(ca: str) -> str:
    return k8s_name("mesh-ca", ca)
