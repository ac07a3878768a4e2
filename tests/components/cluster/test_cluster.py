"""Cluster: EKS, access, nodes, add-ons, IRSA provider and the Kubernetes provider, as recorded."""

from __future__ import annotations

import json

import pytest

from components.cluster.component import WEBHOOK_PORTS, kubeconfig
from tests.iam.roles import role_by_arn

EKS = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"
K8S_PROVIDER = "pulumi:providers:kubernetes"


def cluster_key(plan):
    (key,) = [k for k in plan.of_type("aws:kms/key:Key") if k["name"].endswith("-cluster-secrets-key")]
    return key


def test_api_authentication_encryption_logging_and_upgrade_policy(plan):
    eks = plan.one(EKS)["inputs"]
    assert eks["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    assert eks["encryptionConfig"]["resources"] == ["secrets"]
    key = cluster_key(plan)
    assert eks["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:")
    assert key["inputs"]["enableKeyRotation"] is True
    assert key["name"] in plan.requires(plan.one(EKS)["name"])
    assert set(eks["enabledClusterLogTypes"]) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    assert eks["upgradePolicy"] == {"supportType": "STANDARD"}
    assert eks["version"] in {"1.34", "1.35"}
    assert eks["bootstrapSelfManagedAddons"] is False
    logs = [g for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup") if "control-plane" in g["name"]]
    assert logs[0]["inputs"]["name"] == f"/aws/eks/{eks['name']}/cluster"
    assert logs[0]["name"] in plan.one(EKS)["dependsOn"]


def test_prod_is_private_and_protected_dev_is_disposable(plans):
    prod = plans["prod"].one(EKS)["inputs"]
    assert prod["vpcConfig"]["endpointPublicAccess"] is False
    assert prod["vpcConfig"]["endpointPrivateAccess"] is True
    assert "publicAccessCidrs" not in prod["vpcConfig"]
    assert prod["deletionProtection"] is True
    assert cluster_key(plans["prod"])["options"].get("protect") is True
    dev = plans["dev"].one(EKS)["inputs"]
    assert dev["vpcConfig"]["endpointPublicAccess"] is True
    assert dev["vpcConfig"]["publicAccessCidrs"] == ["198.51.100.0/24"]
    assert dev["deletionProtection"] is False
    assert not cluster_key(plans["dev"])["options"].get("protect")


def test_every_admin_role_gets_an_access_entry_with_cluster_admin(plan):
    entries = [e for e in plan.of_type("aws:eks/accessEntry:AccessEntry") if e["inputs"]["type"] == "STANDARD"]
    policies = plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert len(entries) == len(policies) == 2
    for entry in entries:
        assert entry["inputs"]["type"] == "STANDARD"
        assert entry["inputs"]["principalArn"].startswith("arn:aws:iam::")
    for policy in policies:
        assert policy["inputs"]["policyArn"].endswith("cluster-access-policy/AmazonEKSClusterAdminPolicy")
        assert policy["inputs"]["accessScope"] == {"type": "cluster"}
    assert not [
        c for c in plan.of_type("kubernetes:core/v1:ConfigMap") if c["inputs"]["metadata"].get("name") == "aws-auth"
    ], "no aws-auth ConfigMap with authentication_mode API"


def test_oidc_provider_url_is_the_cluster_issuer(plan):
    """Exactly the issuer EKS reports for this cluster (as the mocks answer for it), and every IRSA
    condition key is built on that same host."""
    from plan.mocks import RealisticMocks

    eks = plan.one(EKS)
    _, outputs = RealisticMocks("us-east-1")._aws_eks_cluster_Cluster(eks["name"], eks["inputs"])
    issuer = outputs["identities"][0]["oidcs"][0]["issuer"]
    oidc = plan.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc["inputs"]["url"] == issuer
    assert oidc["inputs"]["clientIdLists"] == ["sts.amazonaws.com"]
    assert eks["name"] in oidc["dependsOn"]
    host = issuer.removeprefix("https://")
    for role in plan.of_type("aws:iam/role:Role"):
        for statement in json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]:
            for key in statement.get("Condition", {}).get("StringEquals", {}):
                if key.endswith((":sub", ":aud")):  # service principals' aws:SourceAccount is not IRSA
                    assert key.startswith(host + ":"), (role["name"], key)


def test_node_groups_on_al2023_with_imdsv2_and_spot_only_outside_prod(plans):
    for stack, plan in plans.items():
        groups = {g["name"].rsplit("-", 1)[1]: g["inputs"] for g in plan.of_type(NODE_GROUP)}
        # Task pods get Karpenter nodes: no workload group; dev's system group is Spot, prod's never.
        assert set(groups) == {"system"}
        assert groups["system"]["capacityType"] == ("SPOT" if stack == "dev" else "ON_DEMAND")
        private = sorted(s["name"] for s in plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in s["name"])
        for name, g in groups.items():
            assert g["amiType"].startswith("AL2023_")
            assert "remoteAccess" not in g
            (record,) = [r for r in plan.of_type(NODE_GROUP) if r["name"].endswith(name)]
            subnets = sorted(d for d in record["dependsOn"] if "-network-p" in d)
            assert subnets == private, (stack, name, subnets)  # never a public subnet
        template = plan.one("aws:ec2/launchTemplate:LaunchTemplate")["inputs"]
        assert template["metadataOptions"]["httpTokens"] == "required"
        assert template["metadataOptions"]["httpPutResponseHopLimit"] == 1
        assert template["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"


def test_node_groups_boot_while_the_core_addons_install(plan):
    """Nodes wait for the cluster, not for the core add-ons (DaemonSets, ACTIVE before a node boots):
    that wait put a minute on every deploy's critical path (plan/deploy_time.py)."""
    core = {
        a["name"]
        for a in plan.of_type(ADDON)
        if a["inputs"]["addonName"] in {"vpc-cni", "kube-proxy", "eks-pod-identity-agent"}
    }
    assert len(core) == 3
    for group in plan.of_type(NODE_GROUP):
        needs = plan.requires(group["name"])
        assert plan.one(EKS)["name"] in needs
        assert not core & needs
    for addon in plan.of_type(ADDON):
        if addon["inputs"]["addonName"] in {"coredns", "aws-ebs-csi-driver"}:
            assert {g["name"] for g in plan.of_type(NODE_GROUP)} <= plan.requires(addon["name"])


def test_addons_with_aws_access_use_their_own_irsa_role(plan):
    addons = {a["inputs"]["addonName"]: a for a in plan.of_type(ADDON)}
    assert set(addons) == {"vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns", "aws-ebs-csi-driver"}
    for name, sa in (("vpc-cni", "aws-node"), ("aws-ebs-csi-driver", "ebs-csi-controller-sa")):
        role_arn = addons[name]["inputs"]["serviceAccountRoleArn"]
        role = role_by_arn(plan, role_arn)
        trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
        condition = trust["Condition"]["StringEquals"]
        assert f"system:serviceaccount:kube-system:{sa}" in condition.values()
    for addon in addons.values():
        assert addon["inputs"]["addonVersion"].startswith("v")


def test_node_security_group_lets_the_control_plane_reach_webhooks(plan):
    rules = plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    node_sg = next(r for r in plan.of_type("aws:ec2/securityGroup:SecurityGroup") if r["name"].endswith("node-sg"))
    ports = {r["inputs"]["fromPort"] for r in rules if r["name"].rsplit("-", 1)[0].endswith("api-to-nodes")}
    assert ports == set(WEBHOOK_PORTS) >= {5443, 10250, 15017}
    assert all(node_sg["name"] in r["dependsOn"] for r in rules if "api-to-nodes" in r["name"])


def test_one_kubernetes_provider_after_cluster_access_and_nodes(plan):
    provider = plan.one(K8S_PROVIDER)
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    deps = set(provider["dependsOn"])
    assert plan.one(EKS)["name"] in deps
    admins = [e for e in plan.of_type("aws:eks/accessEntry:AccessEntry") if e["inputs"]["type"] == "STANDARD"]
    assert {e["name"] for e in admins} <= deps
    assert {e["name"] for e in plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")} <= deps
    assert {g["name"] for g in plan.of_type(NODE_GROUP)} <= deps


def test_kubeconfig_is_deterministic_and_uses_aws_eks_get_token_without_a_profile():
    a = kubeconfig("c", "https://x.eks.amazonaws.com", "Q0E=", "us-east-1")
    assert a == kubeconfig("c", "https://x.eks.amazonaws.com", "Q0E=", "us-east-1")
    user = json.loads(a)["users"][0]["user"]["exec"]
    assert user["command"] == "aws"
    assert user["args"][:4] == ["eks", "get-token", "--cluster-name", "c"]
    assert "--profile" not in user["args"] and "env" not in user


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_tags_reach_what_node_groups_launch(plans, stack):
    template = plans[stack].one("aws:ec2/launchTemplate:LaunchTemplate")["inputs"]
    kinds = {t["resourceType"]: t["tags"] for t in template["tagSpecifications"]}
    assert set(kinds) == {"instance", "volume", "network-interface"}
    assert all(tags["stack"] == stack and tags["managed-by"] == "pulumi" for tags in kinds.values())


def test_one_default_storage_class_of_encrypted_gp3_that_airflow_waits_for(plans):
    """EKS >= 1.30 has no default StorageClass: the cluster makes one, encrypted with a key of its own."""
    for stack, plan in plans.items():
        (sc,) = plan.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
        assert sc["inputs"]["metadata"] == {
            "name": "gp3",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        }, stack
        assert sc["inputs"]["provisioner"] == "ebs.csi.aws.com"
        assert sc["inputs"]["volumeBindingMode"] == "WaitForFirstConsumer"  # EBS is zonal
        params = sc["inputs"]["parameters"]
        assert params["type"] == "gp3" and params["encrypted"] == "true"
        (volume_key,) = [k for k in plan.of_type("aws:kms/key:Key") if k["name"].endswith("-cluster-volumes-key")]
        assert volume_key["name"] in plan.requires(sc["name"])
        assert params["kmsKeyId"].startswith("arn:aws:kms:")
        (airflow,) = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["name"] == "airflow"]
        assert sc["name"] in plan.requires(airflow["name"]), stack
