"""Every pinned version in one place.

Chart versions are the ones whose schemas and CRDs sit in ``$AIRFLOW_MESH_UPSTREAM_DIR`` so the
offline checks test exactly what ``pulumi up`` installs. Where upstream has moved on, the newer
release is noted beside the pin instead of silently bumped.
"""

from __future__ import annotations

#: EKS Kubernetes versions this platform is tested against. 1.29+ is needed for native sidecars
#: (apache/airflow#40359); anything outside this list is rejected by the settings.
KUBERNETES_VERSIONS: tuple[str, ...] = ("1.34", "1.35")
DEFAULT_KUBERNETES_VERSION = "1.34"

#: EKS managed add-ons installed on every cluster. Their versions are resolved per Kubernetes
#: version with ``aws.eks.get_addon_version(most_recent=False)`` (AWS's default build for that
#: cluster version) unless a stack pins one with ``airflow-mesh:addonVersions``.
#: ``before_compute`` add-ons must exist before nodes join: the cluster is created with
#: ``bootstrap_self_managed_addons=False``, so without vpc-cni no node ever becomes Ready.
EKS_ADDONS: dict[str, dict[str, bool]] = {
    "vpc-cni": {"before_compute": True},
    "kube-proxy": {"before_compute": True},
    "eks-pod-identity-agent": {"before_compute": True},
    "coredns": {"before_compute": False},
    "aws-ebs-csi-driver": {"before_compute": False},
}

#: Service mesh charts (issue 4). Kuma 2.14.3 is the release whose CRDs and values are in upstream/;
#: Istio's base, istiod, cni and ztunnel charts share one version.
KUMA_CHART_VERSION = "2.14.3"
KUMA_CHART_REPO = "https://kumahq.github.io/charts"
ISTIO_VERSION = "1.30.3"
ISTIO_CHART_REPO = "https://istio-release.storage.googleapis.com/charts"
#: Linkerd (issue 16): only *edge* releases are published as open source (stable 2.x builds come
#: from vendors, e.g. Buoyant Enterprise for Linkerd): upstream/linkerd/docs/releases/_index.md.
#: Edge charts are versioned ``YYYY.M.N`` for the edge release ``edge-YY.M.N``; edge-26.8.3 is the
#: newest in upstream/ (Linkerd 2.20 corresponds to edge-26.6.3).
LINKERD_EDGE_RELEASE = "edge-26.8.3"
LINKERD_CHART_VERSION = "2026.8.3"
LINKERD_CHART_REPO = "https://helm.linkerd.io/edge"
#: Consul on Kubernetes (issue 16): the consul-k8s chart 1.9.11 deploys Consul 1.22.7 (the newest
#: 1.x; the chart's 2.0 line also exists). The chart is MPL-2.0; the Consul *server* is BUSL-1.1.
CONSUL_CHART_VERSION = "1.9.11"
CONSUL_VERSION = "1.22.7"
CONSUL_CHART_REPO = "https://helm.releases.hashicorp.com"
#: kubectl of the Consul CNI untaint DaemonSet (components/mesh/consul/untaint.py). The Kubernetes
#: project's image ships bash, grep, coreutils and jq beside kubectl (kubernetes/kubernetes
#: build/server-image/kubectl/Dockerfile, debian-base); v1.34 is within kubectl's skew of both supported
#: cluster versions. The digest is the multi-arch index digest recorded for this tag by several public
#: Dockerfiles (not re-resolved here: the build machine has no registry access); re-resolve with
#: ``crane digest registry.k8s.io/kubectl:v1.34.1`` when the tag moves.
KUBECTL_IMAGE = (
    "registry.k8s.io/kubectl:v1.34.1@sha256:59bafa07ff3a6d4b417e7633ddb9d79a9606ca98bf64bac080b3e65748669250"
)

#: Certificates and edge (issue 5). cert-manager installs its CRDs from the release (crds.enabled).
CERT_MANAGER_CHART_VERSION = "v1.21.1"
CERT_MANAGER_CHART_REPO = "https://charts.jetstack.io"
#: NGINX Gateway Fabric 2.7.0: the first release with ``useClusterIP`` (NginxProxy and
#: UpstreamSettingsPolicy), without which NGINX sends to oauth2-proxy's pod IPs and a mesh that needs
#: the Service address drops the hop (nginx/nginx-gateway-fabric#5243; issue 14, journey 1).
NGINX_GATEWAY_FABRIC_CHART = "oci://ghcr.io/nginx/charts/nginx-gateway-fabric"
NGINX_GATEWAY_FABRIC_CHART_VERSION = "2.7.0"
#: The offline data the 2.7.0 pin is checked against: 2.7.0's own chart and CRDs are not in upstream/,
#: the closest is NGF's main branch at e55bfe33 (after 2.6.7, with ``useClusterIP`` in its values schema
#: and CRDs; its compatibility table row is "Edge"). Replace with "2.7.0" once that data is fetched.
NGINX_GATEWAY_FABRIC_OFFLINE_DATA = "main-e55bfe33"
OAUTH2_PROXY_CHART_VERSION = "10.7.0"
OAUTH2_PROXY_CHART_REPO = "https://oauth2-proxy.github.io/manifests"
#: Gateway API standard channel that NGF's offline data (main-e55bfe33, "Edge": 1.5.1) and Istio 1.30 are
#: built against. The 2.7.0 release notes name v1.6; NGF accepts an older minor of the CRDs, and moving
#: to v1.6.1 (in upstream/) is a separate pin change checked with Istio.
GATEWAY_API_VERSION = "v1.5.1"


def gateway_api_crds_url(channel: str) -> str:
    """The release manifest of :data:`GATEWAY_API_VERSION` for ``channel`` (``standard`` or
    ``experimental``); both install a ``safe-upgrades`` ValidatingAdmissionPolicy of their own."""
    return (
        f"https://github.com/kubernetes-sigs/gateway-api/releases/download/{GATEWAY_API_VERSION}/{channel}-install.yaml"
    )


#: Versions of the route kinds the meshes read that each channel of :data:`GATEWAY_API_VERSION` serves
#: (kubernetes-sigs/gateway-api v1.5.1 ``config/crd/<channel>/gateway.networking.k8s.io_<kind>s.yaml``,
#: versions with ``served: true``; standard has no tcproutes file). Neither CRD has a conversion webhook,
#: so every served version shows the same stored objects.
GATEWAY_API_SERVED: dict[str, dict[str, frozenset[str]]] = {
    "standard": {"TLSRoute": frozenset({"v1"}), "TCPRoute": frozenset()},
    "experimental": {"TLSRoute": frozenset({"v1", "v1alpha2", "v1alpha3"}), "TCPRoute": frozenset({"v1alpha2"})},
}


#: Airflow (issue 6): the official chart 1.19.0 ships Airflow 3.1.7; its values schema is the one in
#: upstream/. Upstream has moved on to 1.22.0 (Airflow 3.2.x); moving is a pin change once its schema
#: is in the offline data.
AIRFLOW_CHART = "airflow"
AIRFLOW_CHART_VERSION = "1.19.0"
AIRFLOW_CHART_REPO = "https://airflow.apache.org"
AIRFLOW_VERSION = "3.1.7"
#: git-sync image the chart 1.19.0 uses; task pods' own git-sync init container uses the same.
GIT_SYNC_IMAGE = "registry.k8s.io/git-sync/git-sync:v4.4.2"
#: RDS PostgreSQL major version (Airflow 3.1 supports 13-17). Minor versions roll forward in the
#: maintenance window (auto_minor_version_upgrade), so only the major version is pinned.
POSTGRES_MAJOR_VERSION = "17"
#: CA that signs the RDS server certificate; clients verify it with the regional trust bundle below.
RDS_CA_CERT_IDENTIFIER = "rds-ca-rsa2048-g1"
#: AWS's public RDS trust bundle for a region, fetched once at deploy time into the stack state.
RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/{region}/{region}-bundle.pem"
#: The same per partition: each has its own trust store host (RDS user guide, "Certificate bundles by
#: AWS Region"; docs.amazonaws.cn for China). Partitions missing here are refused by the settings.
RDS_CA_BUNDLE_URLS = {
    "aws": RDS_CA_BUNDLE_URL,
    "aws-us-gov": "https://truststore.pki.us-gov-west-1.rds.amazonaws.com/{region}/{region}-bundle.pem",
    "aws-cn": "https://rds-truststore.s3.cn-north-1.amazonaws.com.cn/{region}/{region}-bundle.pem",
}

#: Karpenter (issue 18): chart 1.14.1 (its CRDs, values and the IAM policies of its CloudFormation
#: template are in upstream/karpenter/1.14.1). The chart is published as an OCI artifact.
KARPENTER_CHART = "oci://public.ecr.aws/karpenter/karpenter"
KARPENTER_VERSION = "1.14.1"
#: EKS-optimised AL2023 AMI release Karpenter launches task nodes from. Pinned, as Karpenter's
#: "Managing AMIs" page asks (``@latest`` rolls every node when AWS publishes an AMI); bump it in a
#: reviewed change. The release name is not checked offline: confirm it with
#: ``aws ssm get-parameters-by-path --path /aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/``.
KARPENTER_AMI_ALIAS = "al2023@v20260828"
#: Observability (issue 17): the OpenTelemetry Collector chart 0.170.0 (values and closed schema in
#: upstream/) ships no default image; its appVersion is collector 0.158.0. The contrib distribution is
#: the one with the AWS exporters (the Kubernetes distribution has none).
OTEL_COLLECTOR_CHART = "opentelemetry-collector"
OTEL_COLLECTOR_CHART_VERSION = "0.170.0"
OTEL_COLLECTOR_CHART_REPO = "https://open-telemetry.github.io/opentelemetry-helm-charts"
OTEL_COLLECTOR_IMAGE = "otel/opentelemetry-collector-contrib"
OTEL_COLLECTOR_VERSION = "0.158.0"
