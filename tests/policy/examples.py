"""One compliant and one violating example per policy rule, written as the engine would register them.

Each example is ``(environment, resources)``; for a resource rule the rule is judged on every
resource of a type it covers, for a stack rule on the list as a whole.
"""

from __future__ import annotations

import json
from typing import Any

from policy.rules.model import Resource

ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABC123"
OIDC_ARN = f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"
TAGS = {"project": "airflow-mesh", "stack": "prod", "environment": "prod", "owner": "data", "managed-by": "pulumi"}
AWS_PROVIDER = {
    "defaultTags": json.dumps({"tags": TAGS}),
    "allowedAccountIds": '["111122223333"]',
    "region": "us-east-1",
}


def res(type_: str, name: str = "r", protect: bool = False, deps: tuple[str, ...] = (), **props: Any) -> Resource:
    provider = ("pulumi:providers:aws", AWS_PROVIDER) if type_.startswith("aws:") else (None, {})
    return Resource(
        type=type_,
        name=name,
        props=props,
        protect=protect,
        dependencies=deps,
        provider_type=provider[0],
        provider_props=provider[1],
    )


def trust(condition: dict[str, Any]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": OIDC_ARN},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": condition,
                }
            ],
        }
    )


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


PINNED = {
    "StringEquals": {
        f"{ISSUER}:sub": "system:serviceaccount:airflow:airflow-worker",
        f"{ISSUER}:aud": "sts.amazonaws.com",
    }
}
CLUSTER_OK = {
    "vpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True},
    "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:us-east-1:1:key/k"}},
    "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
    "accessConfig": {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False},
}
LT_OK = {
    "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeType": "gp3"}}],
}
BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
TLS_ONLY = policy(
    {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
)
RDS_OK = {
    "storageEncrypted": True,
    "publiclyAccessible": False,
    "multiAz": True,
    "deletionProtection": True,
    "skipFinalSnapshot": False,
    "backupRetentionPeriod": 30,
}
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
MTP = "kubernetes:kuma.io/v1alpha1:MeshTrafficPermission"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def ns(name: str, **labels: str) -> Resource:
    return res(NAMESPACE, f"ns-{name}", metadata={"name": name, "labels": labels})


def mtp(namespace: str, **spec: Any) -> Resource:
    return res(MTP, f"mtp-{namespace}", metadata={"name": "allow", "namespace": namespace}, spec=spec)


def route(*rules: dict[str, Any]) -> Resource:
    return res(ROUTE, "route", metadata={"name": "airflow", "namespace": "edge"}, spec={"rules": list(rules)})


def release(name: str = "airflow", **props: Any) -> Resource:
    base = {
        "chart": "airflow",
        "version": "1.19.0",
        "atomic": True,
        "timeout": 900,
        "namespace": "airflow",
        "values": {},
    }
    return res(RELEASE, name, **{**base, **props})


def bucket_with(*companions: str, algorithm: str = "aws:kms", blocks: bool = True) -> list[Resource]:
    out = [res(BUCKET, "logs-bucket", bucket="logs", forceDestroy=False)]
    if "sse" in companions:
        rules = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}]
        out.append(res(SSE, "logs-encryption", deps=("logs-bucket",), bucket="logs-bucket-1a2b", rules=rules))
    if "pab" in companions:
        flags = dict.fromkeys(
            ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True
        )
        flags["restrictPublicBuckets"] = blocks
        out.append(res(PAB, "logs-pab", deps=("logs-bucket",), bucket="logs-bucket-1a2b", **flags))
    if "policy" in companions:
        out.append(res(BUCKET_POLICY, "logs-tls", deps=("logs-bucket",), bucket="logs-bucket-1a2b", policy=TLS_ONLY))
    return out


#: rule name -> (environment, compliant resources, violating resources)
EXAMPLES: dict[str, tuple[str, list[Resource], list[Resource]]] = {
    "irsa-trust-pins-sub-and-aud": (
        "dev",
        [res("aws:iam/role:Role", assumeRolePolicy=trust(PINNED))],
        [
            res(
                "aws:iam/role:Role",
                assumeRolePolicy=trust({"StringLike": {f"{ISSUER}:sub": "system:serviceaccount:airflow:*"}}),
            )
        ],
    ),
    "iam-no-admin-wildcards": (
        "dev",
        [
            res(
                "aws:iam/rolePolicy:RolePolicy",
                policy=policy({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::logs/*"}),
            )
        ],
        [res("aws:iam/rolePolicy:RolePolicy", policy=policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))],
    ),
    "eks-endpoint-private-in-prod": (
        "prod",
        [res("aws:eks/cluster:Cluster", **CLUSTER_OK)],
        [
            res(
                "aws:eks/cluster:Cluster",
                **{**CLUSTER_OK, "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]}},
            )
        ],
    ),
    "eks-secrets-kms-encrypted": (
        "dev",
        [res("aws:eks/cluster:Cluster", **CLUSTER_OK)],
        [res("aws:eks/cluster:Cluster", **{k: v for k, v in CLUSTER_OK.items() if k != "encryptionConfig"})],
    ),
    "eks-control-plane-audit-logs": (
        "dev",
        [res("aws:eks/cluster:Cluster", **CLUSTER_OK)],
        [res("aws:eks/cluster:Cluster", **{**CLUSTER_OK, "enabledClusterLogTypes": ["api"]})],
    ),
    "eks-access-entries-only": (
        "dev",
        [res("aws:eks/cluster:Cluster", **CLUSTER_OK)],
        [
            res(
                "aws:eks/cluster:Cluster",
                **{**CLUSTER_OK, "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP"}},
            )
        ],
    ),
    "nodes-require-imdsv2": (
        "dev",
        [res("aws:ec2/launchTemplate:LaunchTemplate", **LT_OK)],
        [
            res(
                "aws:ec2/launchTemplate:LaunchTemplate",
                **{**LT_OK, "metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 2}},
            )
        ],
    ),
    "node-volumes-encrypted": (
        "dev",
        [res("aws:ec2/launchTemplate:LaunchTemplate", **LT_OK)],
        [
            res(
                "aws:ec2/launchTemplate:LaunchTemplate",
                **{**LT_OK, "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]},
            )
        ],
    ),
    "s3-bucket-encrypted": ("dev", bucket_with("sse"), bucket_with("sse", algorithm="AES256")),
    "s3-public-access-blocked": ("dev", bucket_with("pab"), bucket_with("pab", blocks=False)),
    "s3-tls-only": ("dev", bucket_with("policy"), bucket_with()),
    "rds-encrypted-and-private": (
        "dev",
        [res("aws:rds/instance:Instance", **RDS_OK)],
        [res("aws:rds/instance:Instance", **{**RDS_OK, "storageEncrypted": False})],
    ),
    "rds-prod-resilient": (
        "prod",
        [res("aws:rds/instance:Instance", protect=True, **RDS_OK)],
        [res("aws:rds/instance:Instance", protect=True, **{**RDS_OK, "multiAz": False, "deletionProtection": False})],
    ),
    "prod-data-protected": (
        "prod",
        [res("aws:rds/instance:Instance", protect=True, **RDS_OK)],
        [res("aws:rds/instance:Instance", protect=False, **RDS_OK)],
    ),
    "kms-key-rotation": (
        "prod",
        [res("aws:kms/key:Key", protect=True, enableKeyRotation=True, deletionWindowInDays=30)],
        [res("aws:kms/key:Key", protect=True, enableKeyRotation=False, deletionWindowInDays=30)],
    ),
    "helm-values-no-plaintext-secrets": (
        "dev",
        [release(values={"fernetKeySecretName": "airflow-fernet", "data": {"metadataSecretName": "airflow-db"}})],
        [
            release(
                values={"webserverSecretKey": "hunter2hunter2", "data": {"metadataConnection": {"pass": "postgres"}}}
            )
        ],
    ),
    "helm-chart-version-pinned": ("dev", [release()], [release(version="^1.19")]),
    "helm-release-atomic": ("dev", [release()], [release(atomic=False)]),
    "mesh-mtls-strict-outside-dev": (
        "staging",
        [
            res(
                "kubernetes:kuma.io/v1alpha1:MeshTLS",
                spec={"targetRef": {"kind": "Mesh"}, "rules": [{"default": {"mode": "Strict"}}]},
            )
        ],
        [
            res(
                "kubernetes:kuma.io/v1alpha1:MeshTLS",
                spec={"targetRef": {"kind": "Mesh"}, "rules": [{"default": {"mode": "Permissive"}}]},
            )
        ],
    ),
    "mesh-namespaces-labelled": (
        "prod",
        [ns("airflow", **{"kuma.io/sidecar-injection": "enabled"}), mtp("airflow")],
        [ns("airflow"), mtp("airflow")],
    ),
    "mesh-no-allow-all": (
        "prod",
        [
            mtp(
                "airflow",
                targetRef={"kind": "Mesh"},
                rules=[
                    {
                        "default": {
                            "allow": [
                                {"spiffeID": {"type": "Exact", "value": "spiffe://m/ns/airflow/sa/airflow-scheduler"}}
                            ]
                        }
                    }
                ],
            )
        ],
        [
            mtp(
                "airflow",
                targetRef={"kind": "Mesh"},
                **{"from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}]},
            )
        ],
    ),
    "httproute-to-airflow-authenticated": (
        "prod",
        [route({"backendRefs": [{"name": "oauth2-proxy", "port": 80}]})],
        [route({"backendRefs": [{"name": "airflow-api-server", "namespace": "airflow", "port": 8080}]})],
    ),
    "edge-loadbalancer-restricted": (
        "dev",
        [
            res(
                "kubernetes:core/v1:Service",
                metadata={"annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}},
                spec={"type": "LoadBalancer", "loadBalancerSourceRanges": ["198.51.100.0/24"]},
            )
        ],
        [
            res(
                "kubernetes:core/v1:Service",
                metadata={"annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}},
                spec={"type": "LoadBalancer"},
            )
        ],
    ),
    "aws-provider-tagged-and-pinned": (
        "dev",
        [res("aws:ec2/vpc:Vpc", cidrBlock="10.0.0.0/16")],
        [
            Resource(
                type="aws:ec2/vpc:Vpc",
                name="vpc",
                props={"cidrBlock": "10.0.0.0/16"},
                provider_type="pulumi:providers:aws",
                provider_props={"region": "us-east-1"},
            )
        ],
    ),
    "no-world-open-ingress": (
        "dev",
        [res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", cidrIpv4="10.0.0.0/16", fromPort=443)],
        [res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", cidrIpv4="0.0.0.0/0", fromPort=443)],
    ),
}
