"""cost.md: every stack fully priced from the dated table; the pricing rules a reader relies on."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from plan import cost, delivery_doc
from plan.__main__ import main as plan_main

TABLE = cost.price_table()
US_EAST_1 = TABLE["regions"]["us-east-1"]


def provider(region: str = "us-east-1", environment: str = "dev") -> dict:
    tags = {"tags": {"project": "airflow-mesh", "environment": environment}}
    return {
        "type": "pulumi:providers:aws",
        "name": "aws",
        "inputs": {"region": region, "defaultTags": json.dumps(tags)},
    }


def record(type_: str, name: str, deps=(), **inputs) -> dict:
    return {"type": type_, "name": name, "custom": True, "parent": None, "dependsOn": list(deps), "inputs": inputs}


def line(estimate: cost.Estimate, name: str) -> cost.Line:
    (found,) = [x for x in estimate.lines if x.resource == name]
    return found


def test_price_table_is_dated_and_sourced():
    assert dt.date.fromisoformat(TABLE["as_of"]) <= dt.date.today()
    assert {"eks", "ec2", "vpc", "rds", "kms", "secrets_manager", "privatelink", "elb"} <= set(TABLE["sources"])
    assert 0 < TABLE["assumptions"]["spot_discount"] < 1


def test_every_stack_is_fully_priced(plan):
    estimate = cost.estimate(plan.stack, plan.resources)
    assert estimate.unpriced == [], [x.resource for x in estimate.unpriced]
    assert estimate.region in TABLE["regions"]
    assert estimate.total > 73, "at least the EKS control plane"
    assert estimate.total_at_max >= estimate.total
    kinds = {x.what.split(",")[0] for x in estimate.lines}
    assert "EKS control plane" in kinds


def test_environments_cost_what_their_shape_says(plans):
    totals = {s: cost.estimate(s, p.resources).total for s, p in plans.items()}
    assert totals["dev"] < totals["staging"] < totals["prod"]


def test_spot_is_discounted_and_root_volumes_counted():
    lt = record("aws:ec2/launchTemplate:LaunchTemplate", "lt", blockDeviceMappings=[{"ebs": {"volumeSize": 100}}])

    def group(capacity: str) -> dict:
        scaling = {"desiredSize": 2, "minSize": 2, "maxSize": 4}
        return record(
            "aws:eks/nodeGroup:NodeGroup",
            capacity,
            deps=["lt"],
            instanceTypes=["m7i.large"],
            capacityType=capacity,
            scalingConfig=scaling,
        )

    estimate = cost.estimate("dev", [provider(), lt, group("SPOT"), group("ON_DEMAND")])
    disk = 100 * US_EAST_1["ebs_gp3_gb_month"]
    hourly = US_EAST_1["ec2_instance_hour"]["m7i.large"] * 730
    assert line(estimate, "ON_DEMAND").monthly == pytest.approx(2 * (hourly + disk), abs=0.01)
    assert line(estimate, "SPOT").monthly == pytest.approx(2 * (hourly * 0.35 + disk), abs=0.01)
    assert line(estimate, "SPOT").at_max == pytest.approx(4 * (hourly * 0.35 + disk), abs=0.01)


def test_multi_az_doubles_instance_and_storage():
    def db(multi: bool) -> dict:
        return record(
            "aws:rds/instance:Instance",
            f"db-{multi}",
            instanceClass="db.m7g.large",
            multiAz=multi,
            allocatedStorage=100,
        )

    estimate = cost.estimate("prod", [provider(environment="prod"), db(True), db(False)])
    assert line(estimate, "db-True").monthly == pytest.approx(2 * line(estimate, "db-False").monthly, abs=0.02)
    single = US_EAST_1["rds_postgres_instance_hour"]["db.m7g.large"] * 730 + 100 * US_EAST_1["rds_gp3_gb_month"]
    assert line(estimate, "db-False").monthly == pytest.approx(single, abs=0.01)


def test_interface_endpoints_per_az_gateway_endpoints_free_nat_data_shared():
    resources = [
        provider(environment="staging"),
        record("aws:ec2/vpcEndpoint:VpcEndpoint", "sts", vpcEndpointType="Interface", subnetIds=["a", "b", "c"]),
        record("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", vpcEndpointType="Gateway"),
        record("aws:ec2/natGateway:NatGateway", "nat-a"),
        record("aws:ec2/natGateway:NatGateway", "nat-b"),
        record("kubernetes:core/v1:Service", "lb", spec={"type": "LoadBalancer"}),
        record("aws:kms/key:Key", "key"),
        record("aws:secretsmanager/secret:Secret", "secret"),
    ]
    estimate = cost.estimate("staging", resources)
    assert line(estimate, "sts").monthly == pytest.approx(3 * 730 * US_EAST_1["interface_endpoint_az_hour"])
    assert not [x for x in estimate.lines if x.resource == "s3"]
    gb = TABLE["assumptions"]["nat_gb_per_month"]["staging"]
    nat = 730 * US_EAST_1["nat_gateway_hour"] + gb / 2 * US_EAST_1["nat_gateway_gb_processed"]
    assert line(estimate, "nat-a").monthly == pytest.approx(nat, abs=0.01)
    assert line(estimate, "lb").monthly > 0
    assert line(estimate, "key").monthly == US_EAST_1["kms_key_month"]
    assert line(estimate, "secret").monthly == US_EAST_1["secrets_manager_secret_month"]
    assert "GB a month through NAT" in " ".join(estimate.assumptions)


def test_missing_prices_are_reported_not_guessed():
    key = record("aws:kms/key:Key", "key")
    elsewhere = cost.estimate("dev", [provider(region="eu-west-3"), key])
    assert [line.monthly for line in elsewhere.lines] == [None]
    assert "eu-west-3" in elsewhere.lines[0].what and "| unknown |" in cost.render(elsewhere)
    odd = record("aws:eks/nodeGroup:NodeGroup", "odd", instanceTypes=["x9.huge"], scalingConfig={"desiredSize": 1})
    estimate = cost.estimate("dev", [provider(), odd])
    assert estimate.unpriced and "Incomplete" in cost.render(estimate)


def test_make_plan_writes_cost_and_deploy_time(tmp_path, capsys):
    assert plan_main(["dev", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "dev" / "cost.md").read_text()
    assert text.startswith("# Estimated monthly cost: stack `dev`")
    assert TABLE["as_of"] in text and "| **total** |" in text
    assert (tmp_path / "dev" / "deploy-time.md").read_text().startswith("# Expected `pulumi up` from empty")
    out = capsys.readouterr().out
    assert "estimated $" in out and "expected `pulumi up` from empty" in out


def test_generated_numbers_in_readme_and_delivery_doc_are_current(plans):
    for path, text in delivery_doc.render(plans).items():
        assert path.read_text() == text, f"{path.name} is stale: run `make delivery-doc`"
