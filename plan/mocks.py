"""Realistic outputs for the mock engine: what AWS and Kubernetes would hand back after a create.

Values are derived from the resource name only (never random, never the clock) so two runs of the
same stack produce identical plans. ARNs, ids and endpoints have the real shapes, because the
program parses some of them (the OIDC issuer host, role names) and tests read them.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pulumi

from components.settings.regions import partition_of

ACCOUNT_ID = "123456789012"

#: What ``aws.eks.get_addon_version(most_recent=False)`` answers offline. Real answers come from AWS
#: at preview time; these only need the right shape.
ADDON_DEFAULT_VERSIONS = {
    "vpc-cni": "v1.20.4-eksbuild.2",
    "kube-proxy": "v1.34.1-eksbuild.2",
    "eks-pod-identity-agent": "v1.3.10-eksbuild.1",
    "coredns": "v1.12.4-eksbuild.1",
    "aws-ebs-csi-driver": "v1.51.1-eksbuild.1",
}


#: Canonical hosted zone of Network Load Balancers per region (what ``aws.lb.get_hosted_zone_id``
#: answers for ``load_balancer_type="network"``; AWS documents these per region). Other regions get a
#: deterministic stand-in of the same shape (:func:`nlb_hosted_zone_id`).
NLB_HOSTED_ZONE_IDS = {
    "us-east-1": "Z26RNL4JYFTOTI",
    "us-east-2": "ZLMOA37VPKANP",
    "us-west-2": "Z18D5FSROUN65G",
    "eu-west-1": "Z2IFOLAFXWLO4F",
    "eu-central-1": "Z3F0SRJ5LGBH90",
}


def _h(name: str, n: int = 17) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:n]


def nlb_hosted_zone_id(region: str) -> str:
    """The documented NLB zone of ``region``, else a stand-in derived from the region name."""
    return NLB_HOSTED_ZONE_IDS.get(region) or "Z" + _h("nlb-zone-" + region, 13).upper()


class RealisticMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes the way the AWS and Kubernetes providers would."""

    def __init__(self, region: str, first_preview: bool = False):
        """``region``: any region the AWS SDK knows (botocore's partitions data); its partition gives
        the ARN prefix (``arn:aws-cn:``...) and DNS suffix (``amazonaws.com.cn``...). An unknown region
        is answered as botocore would (settings reject it before anything is registered)."""
        self.region = region
        part = partition_of(region)
        self.partition, self.dns_suffix = part.id, part.dns_suffix
        #: Answer like the first `pulumi preview` of an empty stack: nothing exists yet, so every
        #: computed output (ids, ARNs, endpoints) is unknown and only inputs are known.
        self.first_preview = first_preview

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        typ, name, inputs = args.typ, args.name, dict(args.inputs)
        if not args.custom or typ.startswith("pulumi:providers:") or self.first_preview:
            return f"{name}-id", inputs
        service = typ.split(":")[1].split("/")[0]
        rid = f"{name}-{_h(name, 8)}"
        state: dict[str, Any] = {
            "arn": f"arn:{self.partition}:{service}:{self.region}:{ACCOUNT_ID}:{typ.rsplit(':', 1)[-1].lower()}/{rid}"
        }
        handler = getattr(self, "_" + typ.replace(":", "_").replace("/", "_").replace("-", "_"), None)
        if handler is not None:
            rid, extra = handler(name, inputs)
            state.update(extra)
        state.update(inputs)
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            arn = f"arn:{self.partition}:iam::{ACCOUNT_ID}:role/deployer"
            return {"accountId": ACCOUNT_ID, "arn": arn, "userId": "AROAMOCK"}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": self.partition, "dnsSuffix": self.dns_suffix, "id": self.partition}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}
        if args.token == "aws:eks/getAddonVersion:getAddonVersion":
            return {
                **args.args,
                "version": ADDON_DEFAULT_VERSIONS[args.args["addonName"]],
                "id": args.args["addonName"],
            }
        if args.token == "aws:lb/getHostedZoneId:getHostedZoneId":
            zone = nlb_hosted_zone_id(args.args.get("region") or self.region)
            return {**args.args, "id": zone}
        if args.token == "aws:ec2/getVpcEndpointService:getVpcEndpointService":
            # AWS's answer in the commercial and GovCloud partitions; China's ``cn.com.amazonaws.`` names
            # of some interface services are not modelled (the program asks AWS, it does not build them).
            name = f"com.amazonaws.{self.region}.{args.args['service']}"
            return {**args.args, "serviceName": name, "serviceType": args.args.get("serviceType"), "id": name}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{letter}" for letter in "abcd"]
            return {**args.args, "names": names, "zoneIds": [f"{self.region[:3]}az{i}" for i in range(1, 5)]}
        raise NotImplementedError(f"no offline answer for invoke {args.token}; add one to plan/mocks.py")

    # --- per-type computed outputs (method name = type token with separators as underscores) -----

    def _aws_ec2_vpc_Vpc(self, name, inputs):
        return f"vpc-{_h(name)}", {"defaultSecurityGroupId": f"sg-{_h(name + 'default')}"}

    def _aws_ec2_subnet_Subnet(self, name, inputs):
        return f"subnet-{_h(name)}", {}

    def _aws_ec2_securityGroup_SecurityGroup(self, name, inputs):
        return f"sg-{_h(name)}", {}

    def _aws_ec2_launchTemplate_LaunchTemplate(self, name, inputs):
        return f"lt-{_h(name)}", {"latestVersion": 1}

    def _aws_iam_role_Role(self, name, inputs):
        role = inputs.get("name") or f"{name}-{_h(name, 7)}"
        return role, {
            "name": role,
            "arn": f"arn:{self.partition}:iam::{ACCOUNT_ID}:role/{role}",
            "uniqueId": f"AROA{_h(name, 16).upper()}",
        }

    def _aws_sqs_queue_Queue(self, name, inputs):
        queue = inputs.get("name") or f"{name}-{_h(name, 7)}"
        url = f"https://sqs.{self.region}.{self.dns_suffix}/{ACCOUNT_ID}/{queue}"
        return url, {"name": queue, "arn": f"arn:{self.partition}:sqs:{self.region}:{ACCOUNT_ID}:{queue}", "url": url}

    def _aws_kms_key_Key(self, name, inputs):
        key_id = f"{_h(name, 8)}-{_h(name + '1', 4)}-{_h(name + '2', 4)}-{_h(name + '3', 4)}-{_h(name + '4', 12)}"
        return key_id, {"keyId": key_id, "arn": f"arn:{self.partition}:kms:{self.region}:{ACCOUNT_ID}:key/{key_id}"}

    def _aws_cloudwatch_logGroup_LogGroup(self, name, inputs):
        group = inputs.get("name") or f"{name}-{_h(name, 7)}"
        return group, {"name": group, "arn": f"arn:{self.partition}:logs:{self.region}:{ACCOUNT_ID}:log-group:{group}"}

    def _aws_eks_cluster_Cluster(self, name, inputs):
        cluster_id = _h(name, 32).upper()
        vpc = dict(inputs.get("vpcConfig") or {})
        vpc["clusterSecurityGroupId"] = f"sg-{_h(name + 'cluster')}"
        vpc["vpcId"] = f"vpc-{_h(name + 'vpc')}"
        return inputs["name"], {
            "endpoint": f"https://{cluster_id}.gr7.{self.region}.eks.{self.dns_suffix}",
            "certificateAuthority": {"data": base64.b64encode(f"mock-ca-{name}".encode()).decode()},
            "identities": [
                {"oidcs": [{"issuer": f"https://oidc.eks.{self.region}.{self.dns_suffix}/id/{cluster_id}"}]}
            ],
            "vpcConfig": vpc,
            "status": "ACTIVE",
            "platformVersion": "eks.1",
        }

    def _aws_iam_openIdConnectProvider_OpenIdConnectProvider(self, name, inputs):
        host = inputs["url"].removeprefix("https://")
        arn = f"arn:{self.partition}:iam::{ACCOUNT_ID}:oidc-provider/{host}"
        return arn, {"arn": arn}

    def _aws_eks_nodeGroup_NodeGroup(self, name, inputs):
        return f"{name}-{_h(name, 8)}", {"nodeGroupName": f"{name}-{_h(name, 8)}", "status": "ACTIVE"}

    def _kubernetes_core_v1_Service(self, name, inputs):
        """A LoadBalancer Service gets the NLB hostname the AWS cloud provider writes into its status."""
        if (inputs.get("spec") or {}).get("type") != "LoadBalancer":
            return f"{name}-{_h(name, 8)}", {}
        host = f"a{_h(name, 32)}-{_h(name + 'lb', 16)}.elb.{self.region}.{self.dns_suffix}"
        return f"{name}-{_h(name, 8)}", {"status": {"loadBalancer": {"ingress": [{"hostname": host}]}}}

    def _random_index_randomBytes_RandomBytes(self, name, inputs):
        raw = hashlib.sha256(name.encode()).digest() * 8
        data = raw[: int(inputs["length"])]
        return f"{name}-id", {"base64": base64.b64encode(data).decode(), "hex": data.hex()}

    def _random_index_randomPassword_RandomPassword(self, name, inputs):
        result = (hashlib.sha256(name.encode()).hexdigest() * 8)[: int(inputs["length"])]
        return f"{name}-id", {"result": result, "bcryptHash": f"$2a$10${_h(name, 53)}"}

    def _aws_rds_instance_Instance(self, name, inputs):
        ident = inputs.get("identifier") or f"{name}-{_h(name, 7)}"
        host = f"{ident}.c{_h(name, 12)}.{self.region}.rds.{self.dns_suffix}"
        port = int(inputs.get("port") or 5432)
        return ident, {
            "identifier": ident,
            "address": host,
            "port": port,
            "endpoint": f"{host}:{port}",
            "arn": f"arn:{self.partition}:rds:{self.region}:{ACCOUNT_ID}:db:{ident}",
            "engineVersionActual": f"{inputs.get('engineVersion', '17')}.6",
        }

    def _time_index_rotating_Rotating(self, name, inputs):
        """A fixed base per name (never the clock), so plans are reproducible."""
        base = inputs.get("rfc3339") or f"2026-01-{int(_h(name, 2), 16) % 28 + 1:02d}T00:00:00Z"
        return base, {"rfc3339": base, "rotationRfc3339": base}

    def _tls_index_privateKey_PrivateKey(self, name, inputs):
        """A PEM-shaped placeholder key (derived from the name, like every mock value)."""
        body = base64.b64encode(hashlib.sha256(name.encode()).digest() * 2).decode()
        return f"{name}-id", {"privateKeyPem": f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"}

    def _tls_index_selfSignedCert_SelfSignedCert(self, name, inputs):
        """A PEM-shaped placeholder certificate, distinct per name (so trust bundles can be compared)."""
        body = base64.b64encode(hashlib.sha256(name.encode()).digest() * 4).decode()
        return f"{name}-id", {"certPem": f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"}

    def _command_local_Command(self, name, inputs):
        """What `create` printed: for the RDS trust bundle, a PEM-shaped placeholder."""
        body = base64.b64encode(hashlib.sha256(name.encode()).digest() * 4).decode()
        pem = f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
        return f"{name}-{_h(name, 8)}", {"stdout": pem, "stderr": ""}
