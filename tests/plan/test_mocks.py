"""The mocks answer for any region the AWS SDK knows, in its partition (ARNs, DNS suffixes, NLB zones)."""

from __future__ import annotations

import pulumi
import pytest

from plan.mocks import NLB_HOSTED_ZONE_IDS, RealisticMocks


def call(mocks: RealisticMocks, token: str, **args):
    return mocks.call(pulumi.runtime.MockCallArgs(token, args, None))


@pytest.mark.parametrize(
    ("region", "partition", "suffix"),
    [
        ("ap-southeast-2", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
        ("xx-nowhere-9", "aws", "amazonaws.com"),  # unknown: answered as botocore would; settings refuse it
    ],
)
def test_any_region_gets_its_partition(region, partition, suffix):
    mocks = RealisticMocks(region)
    assert call(mocks, "aws:index/getPartition:getPartition") == {
        "partition": partition,
        "dnsSuffix": suffix,
        "id": partition,
    }
    assert call(mocks, "aws:index/getCallerIdentity:getCallerIdentity")["arn"].startswith(f"arn:{partition}:iam::")
    zone = call(mocks, "aws:lb/getHostedZoneId:getHostedZoneId")["id"]
    assert zone == NLB_HOSTED_ZONE_IDS.get(region, zone) and zone.startswith("Z")
    _, state = mocks.new_resource(
        pulumi.runtime.MockResourceArgs("aws:eks/cluster:Cluster", "c", {"name": "c"}, None, None, True)
    )
    assert state["arn"].startswith(f"arn:{partition}:eks:{region}:") and state["endpoint"].endswith(suffix)
