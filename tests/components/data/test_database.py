"""Database: RDS PostgreSQL, private, TLS-only, rotated password, protected in prod, disposable in dev."""

from __future__ import annotations

from components import versions

RDS = "aws:rds/instance:Instance"
EKS = "aws:eks/cluster:Cluster"


def rds(plan):
    return plan.one(RDS)


def test_private_encrypted_and_tls_only(plan):
    db = rds(plan)["inputs"]
    assert db["engine"] == "postgres"
    assert db["engineVersion"] == versions.POSTGRES_MAJOR_VERSION
    assert db["publiclyAccessible"] is False
    assert db["storageEncrypted"] is True
    assert db["kmsKeyId"].startswith("arn:aws:kms:")
    assert db["caCertIdentifier"] == versions.RDS_CA_CERT_IDENTIFIER
    assert db["password"] == "[secret]"
    params = plan.one("aws:rds/parameterGroup:ParameterGroup")["inputs"]
    assert params["family"] == f"postgres{versions.POSTGRES_MAJOR_VERSION}"
    assert {"name": "rds.force_ssl", "value": "1"} in params["parameters"]
    # the key is the database's own, not the log bucket's or the cluster's
    (key,) = [k for k in plan.of_type("aws:kms/key:Key") if k["name"] in rds(plan)["dependsOn"]]
    assert key["parent"] == rds(plan)["parent"]


def test_reachable_only_from_the_nodes_on_5432_in_private_subnets(plan):
    name = rds(plan)["parent"]
    rules = [
        r for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if r["parent"] == name
    ]
    assert len(rules) == 1
    rule = rules[0]["inputs"]
    assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == (5432, 5432, "tcp")
    node_sg = next(g for g in plan.of_type("aws:ec2/securityGroup:SecurityGroup") if g["name"].endswith("-node-sg"))
    assert node_sg["name"] in rules[0]["dependsOn"] and "cidrIpv4" not in rule
    subnets = next(g for g in plan.of_type("aws:rds/subnetGroup:SubnetGroup") if g["parent"] == name)
    private = {s["name"] for s in plan.of_type("aws:ec2/subnet:Subnet") if "private" in s["name"]}
    assert private and private <= set(subnets["dependsOn"])
    assert not any("public" in d for d in subnets["dependsOn"])


def test_database_and_log_bucket_do_not_wait_for_the_eks_cluster(plan):
    eks = plan.one(EKS)["name"]
    bucket = plan.one("aws:s3/bucket:Bucket")["name"]
    for name in (rds(plan)["name"], bucket):
        assert eks not in plan.requires(name), f"{name} would wait for the EKS cluster"
    assert not any(r.startswith("pulumi:providers:kubernetes") for r in plan.requires(rds(plan)["name"]))


def test_password_rotates_on_the_settings_schedule(plans):
    for stack, plan in plans.items():
        name = rds(plan)["parent"]
        (password,) = [p for p in plan.of_type("random:index/randomPassword:RandomPassword") if p["parent"] == name]
        (rotation,) = [r for r in plan.of_type("time:index/rotating:Rotating") if r["parent"] == name]
        assert rotation["name"] in password["dependsOn"]
        assert set(password["inputs"]["keepers"]) == {"rotation"}
        assert password["inputs"]["special"] is False and password["inputs"]["length"] >= 32
        expected = {"dev": 30}.get(stack, 90)
        assert rotation["inputs"]["rotationDays"] == expected
        assert password["name"] in rds(plan)["dependsOn"]


def test_prod_is_protected_retained_and_highly_available(plans):
    plan = plans["prod"]
    db = rds(plan)
    assert db["options"].get("protect") and db["options"].get("retainOnDelete")
    inputs = db["inputs"]
    assert inputs["multiAz"] is True and inputs["deletionProtection"] is True
    assert inputs["skipFinalSnapshot"] is False and inputs["finalSnapshotIdentifier"]
    assert inputs["backupRetentionPeriod"] == 30
    key = next(k for k in plan.of_type("aws:kms/key:Key") if k["name"] in db["dependsOn"])
    assert key["options"].get("protect") and key["options"].get("retainOnDelete")


def test_dev_destroys_cleanly(plans):
    plan = plans["dev"]
    db = rds(plan)
    assert not db["options"].get("protect") and not db["options"].get("retainOnDelete")
    inputs = db["inputs"]
    assert inputs["deletionProtection"] is False and inputs["skipFinalSnapshot"] is True
    assert "finalSnapshotIdentifier" not in inputs
    assert inputs["multiAz"] is False and inputs["instanceClass"] == "db.t4g.micro"  # dev under $200 (issue 18)
    assert not any(r["options"].get("protect") for r in plan.resources), "nothing in dev blocks `pulumi destroy`"


def test_rds_trust_bundle_is_fetched_over_https_for_the_region(plan):
    (fetch,) = plan.of_type("command:local:Command")
    url = versions.RDS_CA_BUNDLE_URL.format(region="us-east-1")
    assert fetch["inputs"]["create"].endswith(url) and "--proto =https" in fetch["inputs"]["create"]
    assert fetch["inputs"]["triggers"] == [url]
