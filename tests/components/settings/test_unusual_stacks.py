"""Valid but unusual stacks plan end to end: two full plans (about 3 s each) cover six cases.

- prod in ap-southeast-2 (mocks had no answer there) across 4 AZs, in a /20 VPC with explicit subnets;
- dev in eu-west-1 (no prices: the cost report says "unknown") with Istio, an image pinned by
  digest, Airflow at the apex of its hosted zone, and valid values that look like templates to
  str.format, %-formatting or IAM, which must reach the resources literally.
"""

from __future__ import annotations

import json

import pytest

from plan import cost, harness
from tests import stacks

DIGEST = "sha256:" + "ab" * 32
REGION_A, REGION_B = "ap-southeast-2", "eu-west-1"


@pytest.fixture(scope="module")
def prod_four_azs() -> harness.Plan:
    azs = [f"{REGION_A}{z}" for z in "abcd"]
    return stacks.run(
        "prod",
        {
            "aws:region": REGION_A,
            "availabilityZones": azs,
            "systemNodeMinSize": 4,
            "vpcCidr": "10.40.0.0/20",
            "privateSubnetCidrs": ["10.40.0.0/23", "10.40.2.0/23", "10.40.4.0/23", "10.40.6.0/23"],
            "publicSubnetCidrs": ["10.40.8.0/26", "10.40.8.64/26", "10.40.8.128/26", "10.40.8.192/26"],
        },
    )


#: Valid, but template syntax to str.format, %-formatting or IAM's own ${...} lookalikes.
LITERAL_PREFIX = "{region}/%(x)s/price$/"
LITERAL_GROUP = "${aws:username} {0} %s"


@pytest.fixture(scope="module")
def dev_elsewhere() -> harness.Plan:
    domains = json.loads(stacks.stack_config("dev")[0]["airflow-mesh:domains"])
    domains[0]["s3"][0]["prefixes"] = [LITERAL_PREFIX]
    domains[0]["oidcGroups"] = [LITERAL_GROUP]
    return stacks.run(
        "dev",
        {
            "aws:region": REGION_B,
            "availabilityZones": [f"{REGION_B}a", f"{REGION_B}b"],
            "meshProvider": "istio",
            "meshAcceptUnenforcedEgress": True,  # the dev domains declare egress, which ambient does not enforce
            "airflowImage": f"registry.example.com/data/airflow@{DIGEST}",
            "airflowHostname": "dev.data.example.com",
            "oidcAllowedGroups": [LITERAL_GROUP, "data-platform-admins"],
            "machineEdgeGroup": "airflow-machines",  # the fixture has machine clients: they need it with groups
            "domains": domains,
        },
    )


def test_prod_spans_four_azs_in_a_small_vpc_with_explicit_subnets(prod_four_azs):
    subnets = prod_four_azs.of_type("aws:ec2/subnet:Subnet")
    cidrs = {s["inputs"]["cidrBlock"] for s in subnets}
    assert {"10.40.6.0/23", "10.40.8.192/26"} <= cidrs
    assert {s["inputs"]["availabilityZone"] for s in subnets} == {f"{REGION_A}{z}" for z in "abcd"}
    assert len(prod_four_azs.of_type("aws:ec2/natGateway:NatGateway")) == 4
    cluster = prod_four_azs.one("aws:eks/cluster:Cluster")
    assert cluster["inputs"]["name"] == "airflow-mesh-prod"


def test_dev_with_istio_elsewhere_pins_the_image_by_digest_at_the_zone_apex(dev_elsewhere):
    releases = {
        json.loads(json.dumps(r["inputs"]))["name"]: r for r in dev_elsewhere.of_type("kubernetes:helm.sh/v3:Release")
    }
    assert any("istio" in name for name in releases), sorted(releases)
    airflow = next(r for name, r in releases.items() if "airflow" in name and "oauth2" not in name)
    image = airflow["inputs"]["values"]["images"]["airflow"]
    assert image["repository"] == "registry.example.com/data/airflow" and image["digest"] == DIGEST
    records = dev_elsewhere.of_type("aws:route53/record:Record")
    assert any(r["inputs"]["name"] == "dev.data.example.com" for r in records)
    estimate = cost.estimate("dev", dev_elsewhere.resources)
    assert estimate.unpriced and all(line.monthly is None for line in estimate.lines)
    assert "| unknown |" in cost.render(estimate)


def test_values_that_look_like_templates_reach_the_resources_literally(dev_elsewhere):
    text = dev_elsewhere.to_json()
    assert f"arn:aws:s3:::example-mkt-raw-dev/{LITERAL_PREFIX}*" in text  # the IAM policy
    assert json.dumps(LITERAL_GROUP)[1:-1] in text  # oauth2-proxy's allowed groups, Airflow's role mapping
