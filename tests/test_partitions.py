"""A stack outside the ``aws`` partition (China, GovCloud) writes every ARN, service principal and AWS
hostname in its own partition, and a service the partition lacks is refused by the settings.

One plan per partition (the dev fixture moved to ``cn-north-1`` and ``us-gov-west-1``), shared by the
module's tests: ~4 s each.
"""

from __future__ import annotations

import json
import re

import parliament
import pytest

from components import settings
from components.settings.regions import offers, partition_of
from tests import stacks
from tests.iam.roles import workload_roles
from tests.iam.test_effective_permissions import REVIEWED_FINDINGS, failing

REGIONS = ("cn-north-1", "us-gov-west-1")
ARN = re.compile(r"\barn:([a-z0-9-]*):")
#: An AWS hostname (``<service>.<region>.amazonaws.com[.cn]``, ``*.s3.<region>...``).
AWS_HOST = re.compile(r"[a-z0-9*.-]+\.amazonaws\.com(?:\.cn)?\b")
#: Names in the AWS domain that are not hosts of the partition: service principals (standardised to
#: ``<service>.amazonaws.com`` in every partition), the IRSA token audience, annotation keys.
NOT_HOSTS = re.compile(r"^(ec2|eks|pods\.eks|events|sqs|scheduler|vpc-flow-logs|sts)\.amazonaws\.com$")


def move(region: str) -> dict:
    """Overrides moving the dev fixture to ``region``: its zones and an admin role of its partition."""
    part = partition_of(region).id
    return {
        "aws:region": region,
        "availabilityZones": [f"{region}a", f"{region}b"],
        "adminRoleArns": [f"arn:{part}:iam::111122223333:role/platform-admin"],
    }


@pytest.fixture(scope="module", params=REGIONS)
def moved(request) -> tuple[str, stacks.harness.Plan, str]:
    plan = stacks.run("dev", move(request.param))
    return request.param, plan, json.dumps([r["inputs"] for r in plan.resources], sort_keys=True)


def strings(value):
    """Every string inside ``value``, JSON documents (policies) opened up."""
    if isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, str):
        if value[:1] in "{[":
            try:
                yield from strings(json.loads(value))
                return
            except ValueError:
                pass
        yield value


def test_no_arn_is_in_another_partition(moved):
    region, plan, text = moved
    assert "arn:aws:" not in text
    part = partition_of(region).id
    found = {m for r in plan.resources for s in strings(r["inputs"]) for m in ARN.findall(s)}
    assert found == {part}


def test_every_aws_host_has_the_partition_dns_suffix(moved):
    """Mesh exits, KMS ``ViaService`` conditions, the RDS trust bundle, queue URLs: a host with the
    commercial suffix resolves to nothing in China."""
    region, plan, _ = moved
    suffix = partition_of(region).dns_suffix
    hosts = {h for r in plan.resources for s in strings(r["inputs"]) for h in AWS_HOST.findall(s)}
    wrong = sorted(h for h in hosts if not h.endswith(f".{suffix}") and not NOT_HOSTS.match(h))
    assert wrong == []
    # The exits the mesh opens for the AWS APIs, S3 buckets under their virtual-hosted names included.
    exits = json.dumps([r["inputs"] for r in plan.of_type("kubernetes:kuma.io/v1alpha1:MeshPassthrough")])
    assert f"sts.{region}.{suffix}" in exits and f".s3.{region}.{suffix}" in exits


def test_the_partitions_policies_pass_parliament(moved):
    region, plan, _ = moved
    findings, linted = [], 0
    for docs in workload_roles(plan).values():
        assert set(ARN.findall(json.dumps([docs.trust, docs.policy, docs.managed]))) <= {partition_of(region).id}
        if docs.policy:
            linted += 1
            for finding in parliament.analyze_policy_string(json.dumps(docs.policy)).findings:
                if failing(finding.issue) and (docs.workload, finding.issue) not in REVIEWED_FINDINGS:
                    findings.append((docs.workload, finding.issue, finding.detail))
    assert findings == []
    assert linted >= 8


def refusal(overrides: dict) -> str:
    with pytest.raises(settings.SettingsError) as caught:
        stacks.run("dev", overrides)
    assert caught.value.registered_resources == 0
    return str(caught.value)


def test_a_service_the_partition_lacks_is_refused_naming_key_and_value():
    """botocore knows no EKS Pod Identity (``eks-auth``) endpoint in the ``aws-iso`` partition."""
    assert not offers("eks-auth", "us-iso-east-1") and offers("eks-auth", "cn-north-1")
    message = refusal({**move("us-iso-east-1"), "identityMode": "pod-identity"})
    assert "Pulumi.dev.yaml" in message
    assert "airflow-mesh:identityMode: 'pod-identity' needs EKS Pod Identity (eks-auth)" in message
    assert "us-iso-east-1 (partition aws-iso" in message


def test_a_region_whose_partition_lacks_a_service_every_stack_needs_is_refused():
    assert not offers("route53", "eusc-de-east-1")
    message = refusal(move("eusc-de-east-1"))
    assert "aws:region: 'eusc-de-east-1': Route 53" in message


def test_an_arn_of_another_partition_is_refused():
    message = refusal({**move("cn-north-1"), "adminRoleArns": ["arn:aws:iam::111122223333:role/platform-admin"]})
    assert "airflow-mesh:adminRoleArns[0]: 'arn:aws:iam::111122223333:role/platform-admin' is in partition 'aws'" in (
        message
    )


@pytest.mark.parametrize(
    ("region", "arn", "host", "principals"),
    [
        ("us-east-1", "arn:aws:s3:::b", "sts.us-east-1.amazonaws.com", ("ec2.amazonaws.com", "logs.amazonaws.com")),
        (
            "cn-north-1",
            "arn:aws-cn:s3:::b",
            "sts.cn-north-1.amazonaws.com.cn",
            ("ec2.amazonaws.com", "logs.amazonaws.com.cn"),  # AWS CDK region-info: logs is partitional in China
        ),
        (
            "us-gov-west-1",
            "arn:aws-us-gov:s3:::b",
            "sts.us-gov-west-1.amazonaws.com",
            ("ec2.amazonaws.com", "logs.amazonaws.com"),
        ),
    ],
)
def test_the_partition_writes_arns_hosts_and_principals(region, arn, host, principals):
    part = partition_of(region)
    assert part.arn("s3", "b") == arn
    assert part.host("sts", region) == host
    assert (part.principal("ec2"), part.principal("logs")) == principals
    assert part.managed_policy("AmazonEKSClusterPolicy") == f"arn:{part.id}:iam::aws:policy/AmazonEKSClusterPolicy"


def test_ci_roles_are_in_the_stack_partition(tmp_path):
    from plan import ci

    text = (stacks.DIR / "Pulumi.dev.yaml").read_text().replace("aws:region: us-east-1", "aws:region: cn-north-1")
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    info = ci.stack_info("dev", stacks_dir=tmp_path)
    assert info["deploy_role"] == "arn:aws-cn:iam::111122223333:role/github-actions-deployer"
