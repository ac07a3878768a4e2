"""ClusterAddons: EKS managed add-ons, with their AWS permissions through workload roles."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import versions
from components.cluster.storage import ebs_csi_key_policy
from components.cluster.workload_role import WorkloadIdentity, WorkloadRole, WorkloadRoleArgs

#: Add-ons that call AWS APIs: the service account they run as and the AWS-maintained policy they need
#: (its name; the ARN is in the stack's partition).
ADDON_ROLES: dict[str, tuple[str, str]] = {
    "vpc-cni": ("aws-node", "AmazonEKS_CNI_Policy"),
    "aws-ebs-csi-driver": ("ebs-csi-controller-sa", "service-role/AmazonEBSCSIDriverPolicy"),
}


@dataclass(frozen=True)
class ClusterAddonsArgs:
    """Inputs of :class:`ClusterAddons`."""

    #: EKS cluster name.
    cluster_name: pulumi.Input[str]
    #: Kubernetes version, to resolve AWS's default add-on build.
    kubernetes_version: str
    #: True: the add-ons nodes need to join (vpc-cni, kube-proxy, pod identity agent); False: the rest.
    before_compute: bool
    #: ``name -> version`` pins from the stack; unpinned add-ons get AWS's default for the version.
    version_pins: Mapping[str, str]
    #: How add-on pods get AWS credentials.
    identity: WorkloadIdentity
    #: What every add-on waits for (CoreDNS and EBS CSI need nodes to schedule on).
    depends_on: Sequence[pulumi.Resource] = ()
    #: KMS key of the volumes the EBS CSI driver creates (components/cluster/storage.py); its role may use it.
    volume_key_arn: pulumi.Input[str] | None = None


class ClusterAddons(pulumi.ComponentResource):
    """One phase of the EKS managed add-ons (see ``versions.EKS_ADDONS``).

    Outputs: ``addons`` (the ``aws.eks.Addon`` resources).
    """

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:cluster:ClusterAddons", name, None, opts)
        self.addons: list[aws.eks.Addon] = []
        for addon, spec in versions.EKS_ADDONS.items():
            if spec["before_compute"] != args.before_compute:
                continue
            role_arn = None
            if addon in ADDON_ROLES:
                service_account, policy = ADDON_ROLES[addon]
                identity = args.identity
                if addon == "vpc-cni":
                    # aws-node must assign pod IPs before any pod (the Pod Identity agent included) can
                    # start, so the CNI always uses IRSA, which needs nothing running on the node.
                    identity = dataclasses.replace(identity, mode="irsa")
                role = WorkloadRole(
                    f"{name}-{addon}",
                    WorkloadRoleArgs(
                        identity=identity,
                        namespace="kube-system",
                        service_account=service_account,
                        managed_policy_arns=[identity.partition.managed_policy(policy)],
                        policy=pulumi.Output.from_input(args.volume_key_arn).apply(ebs_csi_key_policy)
                        if addon == "aws-ebs-csi-driver" and args.volume_key_arn is not None
                        else None,
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
                role_arn = role.role_arn if identity.mode == "irsa" else None
            version = (
                args.version_pins.get(addon)
                or aws.eks.get_addon_version_output(
                    addon_name=addon,
                    kubernetes_version=args.kubernetes_version,
                    most_recent=False,
                    opts=pulumi.InvokeOutputOptions(parent=self),
                ).version
            )
            self.addons.append(
                aws.eks.Addon(
                    f"{name}-{addon}-addon",
                    cluster_name=args.cluster_name,
                    addon_name=addon,
                    addon_version=version,
                    service_account_role_arn=role_arn,
                    resolve_conflicts_on_create="OVERWRITE",
                    resolve_conflicts_on_update="PRESERVE",
                    opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
                )
            )
        self.register_outputs({})
