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
