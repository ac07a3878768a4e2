"""The cluster's one StorageClass: encrypted gp3 volumes from the EBS CSI driver, the cluster default.

Why the cluster makes one: EKS clusters created at 1.30 or later have no default StorageClass (EKS
docs, "Storage classes"; ``gp2`` still exists for older clusters but is not marked default), so a
PersistentVolumeClaim that names no class stays Pending and its pod is never scheduled. The class
is named plainly (:data:`components.platform.STORAGE_CLASS`) so charts can name it explicitly, and
annotated default so claims from charts that cannot name a class still bind.

Volumes are encrypted with a key of their own (not the cluster's secrets key: one key per purpose,
as for the database, the log bucket and Secrets Manager). The EBS CSI controller creates the volumes,
so its role needs the key: :func:`ebs_csi_key_policy`.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from components.platform import STORAGE_CLASS

#: The annotation the DefaultStorageClass admission plugin reads (Kubernetes docs, "Change the default StorageClass").
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"


def volume_parameters(key_arn: str) -> dict[str, str]:
    """The EBS CSI driver's StorageClass parameters (aws-ebs-csi-driver ``docs/parameters.md``): gp3,
    encrypted with ``key_arn`` (without ``kmsKeyId`` EBS would use the account's ``aws/ebs`` key)."""
    return {"type": "gp3", "encrypted": "true", "kmsKeyId": key_arn}


def default_storage_class(
    name: str, key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> k8s.storage.v1.StorageClass:
    """:data:`STORAGE_CLASS`, annotated as the cluster default.

    ``WaitForFirstConsumer``: EBS volumes are zonal, so the volume is made in the zone the scheduler
    picked for the pod, not in a zone the pod then cannot run in. ``allowVolumeExpansion``: a full
    volume (Redis's) can be grown in place.
    """
    return k8s.storage.v1.StorageClass(
        name,
        metadata={"name": STORAGE_CLASS, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        provisioner=EBS_CSI_PROVISIONER,
        parameters=pulumi.Output.from_input(key_arn).apply(volume_parameters),
        volume_binding_mode="WaitForFirstConsumer",
        allow_volume_expansion=True,
        reclaim_policy="Delete",
        opts=opts,
    )


def ebs_csi_key_policy(key_arn: str) -> str:
    """Inline policy for the EBS CSI controller: use the volume key (AmazonEBSCSIDriverPolicy grants
    no KMS access). The statement pair the EKS User Guide gives for a customer managed key ("Create
    an Amazon EBS CSI driver IAM role", csi-iam-role.html), scoped to this one key and with its
    ``ReEncrypt*``/``GenerateDataKey*`` wildcards written out: grants only for AWS resources (EBS
    attaching the volume to an instance), and the data-key calls EBS makes on the driver's behalf
    when it creates an encrypted volume or a snapshot of one."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EbsGrantsOnTheVolumeKey",
                    "Effect": "Allow",
                    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                    "Resource": [key_arn],
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
                {
                    "Sid": "EbsDataKeysOfTheVolumeKey",
                    "Effect": "Allow",
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncryptFrom",
                        "kms:ReEncryptTo",
                        "kms:GenerateDataKey",
                        "kms:GenerateDataKeyWithoutPlaintext",
                        "kms:DescribeKey",
                    ],
                    "Resource": [key_arn],
                },
            ],
        }
    )
