"""Certificates: cert-manager and the ClusterIssuers every other layer asks for certificates.

- ``acme_issuer_name``: Let's Encrypt (production or staging per stack), DNS-01 on Route 53. The
  controller reaches Route 53 with its own IAM role (IRSA annotation on its ServiceAccount, or an EKS
  Pod Identity association made by the identity layer) and *ambient* credentials, which cert-manager
  allows for ClusterIssuers by default; no AWS key ever sits in a Secret. DNS-01 (not HTTP-01) so an
  internal-only edge gets public certificates too.
- ``mesh_root_issuer_name``: a private CA chain for the mesh: a self-signed issuer signs a long-lived
  root CA Certificate (renewed a year ahead, same key, so what it signed keeps verifying), and a CA
  ClusterIssuer signs with that root. The mesh issues its own (shorter-lived, rotating) mesh CA from it.

cert-manager itself stays outside the mesh: it talks only to the API server, Route 53 and ACME.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from components import sizing, versions
from components.platform import CERT_MANAGER_NAMESPACE

ACME_SERVERS = {
    "production": "https://acme-v02.api.letsencrypt.org/directory",
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}
#: The release name; the chart names the controller's ServiceAccount after it, and the IAM role
#: trusts exactly ``cert-manager:cert-manager`` (access model).
RELEASE_NAME = "cert-manager"
SERVICE_ACCOUNT = "cert-manager"
SELFSIGNED_ISSUER = "selfsigned"
MESH_ROOT_CA = "mesh-root-ca"
PART_OF = {"app.kubernetes.io/part-of": "airflow-mesh"}


@dataclass(frozen=True)
class CertificatesArgs:
    """Inputs of :class:`Certificates`."""

    #: Contact address of the ACME account (expiry notices).
    acme_email: str
    #: ``production`` (trusted certificates) or ``staging`` (untrusted, generous rate limits).
    acme_environment: Literal["production", "staging"]
    #: Route 53 zone the DNS-01 TXT records go into, and its name (the solver only serves that zone).
    hosted_zone_id: str
    hosted_zone_name: str
    #: AWS region of the Route 53 API calls.
    region: str
    #: IAM role of the cert-manager controller (from the identity layer).
    role_arn: pulumi.Input[str]
    #: ``irsa``: annotate the chart's ServiceAccount with the role; ``pod-identity``: the association
    #: already binds it, and an IRSA annotation would make the SDK try web identity first and fail.
    identity_mode: Literal["irsa", "pod-identity"]
    #: Two replicas and PodDisruptionBudgets for controller, webhook and cainjector (outside dev).
    high_availability: bool
    #: Subject of the mesh root CA, e.g. ``airflow-mesh-prod``: tells stacks' roots apart.
    ca_subject: str
    #: Helm timeout in seconds; the release is atomic (rolled back if not ready in time).
    timeout_seconds: int = 600


class Certificates(pulumi.ComponentResource):
    """cert-manager (Helm release, CRDs included), an ACME ClusterIssuer and the mesh root CA chain.

    Outputs: ``acme_issuer_name``, ``mesh_root_issuer_name``, ``namespace``, and ``ready`` (the
    release and every issuer: what anything that creates a Certificate must depend on).
    """

    def __init__(self, name: str, args: CertificatesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:certificates:Certificates", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata={
                "name": CERT_MANAGER_NAMESPACE,
                # Not meshed; every cert-manager pod (and the startupapicheck Job) meets `restricted`.
                "labels": {**PART_OF, "pod-security.kubernetes.io/enforce": "restricted"},
            },
            opts=child,
        )
        release = k8s.helm.v3.Release(
            f"{name}-cert-manager",
            name=RELEASE_NAME,
            chart="cert-manager",
            version=versions.CERT_MANAGER_CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=versions.CERT_MANAGER_CHART_REPO),
            namespace=namespace.metadata.name,
            values=cert_manager_values(args),
            # Helm hooks run (helm.v3, not v4.Chart): the post-install startupapicheck Job only
            # succeeds once the webhook answers, so issuers created after this never hit a cold webhook.
            atomic=True,
            cleanup_on_fail=True,
            timeout=args.timeout_seconds,
            opts=child,
        )
        after_release = pulumi.ResourceOptions(parent=self, depends_on=[release])

        self.acme_issuer_name = f"letsencrypt-{args.acme_environment}"
        acme = _cluster_issuer(
            f"{name}-acme",
            self.acme_issuer_name,
            {"acme": acme_spec(args)},
            after_release,
        )

        selfsigned = _cluster_issuer(f"{name}-selfsigned", SELFSIGNED_ISSUER, {"selfSigned": {}}, after_release)
        root = k8s.apiextensions.CustomResource(
            f"{name}-mesh-root-ca",
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata={
                "name": MESH_ROOT_CA,
                # A CA ClusterIssuer reads its key pair from cert-manager's own namespace.
                "namespace": CERT_MANAGER_NAMESPACE,
                "labels": PART_OF,
                "annotations": {"pulumi.com/waitFor": "condition=Ready"},
            },
            spec=root_ca_spec(args.ca_subject),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[release, selfsigned]),
        )
        self.mesh_root_issuer_name = MESH_ROOT_CA
        root_issuer = _cluster_issuer(
            f"{name}-mesh-root-issuer",
            MESH_ROOT_CA,
            {"ca": {"secretName": MESH_ROOT_CA}},
            pulumi.ResourceOptions(parent=self, depends_on=[release, root]),
        )

        self.namespace = CERT_MANAGER_NAMESPACE
        self.ready: list[pulumi.Resource] = [release, acme, selfsigned, root, root_issuer]
        self.register_outputs(
            {"acme_issuer_name": self.acme_issuer_name, "mesh_root_issuer_name": self.mesh_root_issuer_name}
        )


def cert_manager_values(args: CertificatesArgs) -> dict[str, Any]:
    """Helm values of the cert-manager chart (validated against its values.schema.json in tests)."""
    replicas = 2 if args.high_availability else 1
    tier: sizing.Tier = "standard" if args.high_availability else "small"

    def _size(pod: str) -> dict[str, dict[str, str]]:  # requests per tier: components/sizing.py
        return sizing.helm_resources(pod if pod != "cainjector" else "cert-manager-cainjector", tier)

    # A budget of one available pod would block every node drain with a single replica.
    pdb = {"enabled": True, "minAvailable": 1} if args.high_availability else {"enabled": False}
    service_account: dict[str, Any] = {"create": True, "name": SERVICE_ACCOUNT}
    if args.identity_mode == "irsa":
        service_account["annotations"] = {"eks.amazonaws.com/role-arn": args.role_arn}
    return {
        # CRDs belong to the release (upgraded with it); `keep` leaves them if the release is removed
        # by hand, so existing Certificates are not garbage-collected with them.
        "crds": {"enabled": True, "keep": True},
        "global": {"leaderElection": {"namespace": CERT_MANAGER_NAMESPACE}},
        "replicaCount": replicas,
        "podDisruptionBudget": pdb,
        "serviceAccount": service_account,
        "webhook": {"replicaCount": replicas, "podDisruptionBudget": pdb, "resources": _size("cert-manager-webhook")},
        "cainjector": {"replicaCount": replicas, "podDisruptionBudget": pdb, "resources": _size("cainjector")},
        "resources": _size("cert-manager"),
        # The post-install check Job: without requests it would be BestEffort on a busy node.
        "startupapicheck": {"resources": _size("cert-manager-startupapicheck")},
    }


def acme_spec(args: CertificatesArgs) -> dict[str, Any]:
    """The ACME block of the Let's Encrypt ClusterIssuer: DNS-01 in the stack's zone only."""
    return {
        "email": args.acme_email,
        "server": ACME_SERVERS[args.acme_environment],
        "privateKeySecretRef": {"name": f"letsencrypt-{args.acme_environment}-account-key"},
        "solvers": [
            {
                "selector": {"dnsZones": [args.hosted_zone_name.rstrip(".")]},
                # No accessKeyID/secret: ambient credentials, i.e. the controller's own IAM role.
                "dns01": {"route53": {"region": args.region, "hostedZoneID": args.hosted_zone_id}},
            }
        ],
    }


def root_ca_spec(subject: str) -> dict[str, Any]:
    """The mesh root CA: ten years, renewed one year ahead, keeping its key across renewals so that
    intermediates it signed stay valid against the renewed root."""
    return {
        "isCA": True,
        "commonName": f"{subject} mesh root CA",
        "subject": {"organizations": ["airflow-mesh"]},
        "secretName": MESH_ROOT_CA,
        "duration": "87600h",
        "renewBefore": "8760h",
        # RSA: the one key type every mesh CA consumer (Kuma's provided CA, Istio plugged-in certs) takes.
        "privateKey": {"algorithm": "RSA", "size": 4096, "rotationPolicy": "Never"},
        "usages": ["cert sign", "crl sign", "digital signature"],
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": SELFSIGNED_ISSUER},
    }


def _cluster_issuer(
    resource_name: str, issuer_name: str, spec: dict[str, Any], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version="cert-manager.io/v1",
        kind="ClusterIssuer",
        # Wait for Ready: an ACME issuer is only ready once its account is registered, a CA issuer
        # once its key pair exists; a failure surfaces here, not at the first Certificate.
        metadata={"name": issuer_name, "labels": PART_OF, "annotations": {"pulumi.com/waitFor": "condition=Ready"}},
        spec=spec,
        opts=opts,
    )
