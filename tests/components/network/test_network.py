"""Network: what each stack's VPC looks like in the recorded plan."""

from __future__ import annotations

import ipaddress

import pytest

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def subnets(plan, kind):
    return [r for r in plan.of_type(SUBNET) if f"-{kind}-" in r["name"]]


def test_public_and_private_subnet_in_every_az_with_discovery_tags(plan):
    vpc = plan.one("aws:ec2/vpc:Vpc")
    azs = {r["inputs"]["availabilityZone"] for r in plan.of_type(SUBNET)}
    for kind, role_tag in (("public", "kubernetes.io/role/elb"), ("private", "kubernetes.io/role/internal-elb")):
        found = subnets(plan, kind)
        assert {s["inputs"]["availabilityZone"] for s in found} == azs
        for s in found:
            tags = s["inputs"]["tags"]
            assert tags[role_tag] == "1"
            assert tags[f"kubernetes.io/cluster/airflow-mesh-{plan.stack}"] == "shared"
            assert ipaddress.ip_network(s["inputs"]["cidrBlock"]).subnet_of(
                ipaddress.ip_network(vpc["inputs"]["cidrBlock"])
            )
            assert s["inputs"].get("mapPublicIpOnLaunch") is not True
    assert vpc["inputs"]["enableDnsHostnames"] and vpc["inputs"]["enableDnsSupport"]


def test_dev_shares_one_nat_and_prod_has_one_per_az(plans):
    assert len(plans["dev"].of_type(NAT)) == 1
    prod = plans["prod"]
    nats = prod.of_type(NAT)
    assert len(nats) == 3
    # each private route table sends 0.0.0.0/0 to the NAT gateway of its own AZ
    nat_ids = {n["name"].rsplit("-nat-", 1)[1]: n for n in nats}
    for rt in prod.of_type(ROUTE_TABLE):
        if "-private-rt-" not in rt["name"]:
            continue
        az = rt["name"].rsplit("-private-rt-", 1)[1]
        assert nat_ids[az]["name"] in rt["dependsOn"]
        assert [r["cidrBlock"] for r in rt["inputs"]["routes"]] == ["0.0.0.0/0"]


def test_private_subnets_are_private_and_public_ones_reach_the_internet(plan):
    for rt in plan.of_type(ROUTE_TABLE):
        (route,) = rt["inputs"]["routes"]
        if "-public-rt" in rt["name"]:
            assert "gatewayId" in route and "natGatewayId" not in route
        else:
            assert "natGatewayId" in route and "gatewayId" not in route


def test_s3_gateway_endpoint_always_and_interface_endpoints_per_stack(plans):
    for stack, expected in (("dev", set()), ("prod", {"sts", "ecr.api", "ecr.dkr", "secretsmanager", "logs"})):
        endpoints = plans[stack].of_type(ENDPOINT)
        gateway = [e for e in endpoints if e["inputs"]["vpcEndpointType"] == "Gateway"]
        assert [g["inputs"]["serviceName"] for g in gateway] == ["com.amazonaws.us-east-1.s3"]
        assert len(gateway[0]["inputs"]["routeTableIds"]) == len(subnets(plans[stack], "private"))
        interface = {
            e["inputs"]["serviceName"].removeprefix("com.amazonaws.us-east-1.")
            for e in endpoints
            if e["inputs"]["vpcEndpointType"] == "Interface"
        }
        assert interface == expected
        for e in endpoints:
            if e["inputs"]["vpcEndpointType"] == "Interface":
                assert e["inputs"]["privateDnsEnabled"] is True


def test_default_security_group_is_emptied_and_flow_logs_are_on(plan):
    default_sg = plan.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default_sg["inputs"].get("ingress", []) == [] and default_sg["inputs"].get("egress", []) == []
    flow = plan.one("aws:ec2/flowLog:FlowLog")
    assert flow["inputs"]["trafficType"] == "ALL"
    assert flow["inputs"]["logDestinationType"] == "cloud-watch-logs"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_nothing_in_the_network_waits_for_the_cluster(plans, stack):
    """The network is created first and destroyed last."""
    plan = plans[stack]
    for r in plan.resources:
        if r["name"].startswith(f"airflow-mesh-{stack}-network"):
            assert not any("-cluster" in dep for dep in plan.requires(r["name"])), r["name"]
