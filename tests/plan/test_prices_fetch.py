"""`make prices` (plan/prices_fetch.py) against recorded Price List API shapes: botocore's Stubber checks
each GetProducts request against the real service model, and the answers are in the API's shape
(``PriceList`` entries are JSON strings). Moto has no Price List backend."""

from __future__ import annotations

import datetime
import json

import boto3
import pytest
from botocore.stub import Stubber

from plan import prices_fetch

TABLE_TEXT = """\
as_of: "2026-01-01"
regions:
  us-east-1:
    eks_cluster_hour: 0.10
    ec2_instance_hour:
      t4g.large: 0.06  # old
      x9.mega: 1.0
    rds_postgres_instance_hour:
      db.t4g.micro: 0.02
"""
TABLE = {
    "regions": {
        "us-east-1": {
            "ec2_instance_hour": {"t4g.large": 0.06, "x9.mega": 1.0},
            "rds_postgres_instance_hour": {"db.t4g.micro": 0.02},
        }
    }
}


def product(usd: str, unit: str = "Hrs") -> str:
    """One PriceList entry as GetProducts returns it (abridged to the fields the parser reads)."""
    return json.dumps(
        {
            "product": {
                "productFamily": "Compute Instance",
                "sku": "SKU1",
                "attributes": {"instanceType": "t4g.large"},
            },
            "serviceCode": "AmazonEC2",
            "terms": {
                "OnDemand": {
                    "SKU1.JRTCKXETXF": {
                        "offerTermCode": "JRTCKXETXF",
                        "priceDimensions": {
                            "SKU1.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": unit,
                                "pricePerUnit": {"USD": usd},
                                "description": f"${usd} per On Demand Linux t4g.large Instance Hour",
                            }
                        },
                    }
                }
            },
        }
    )


def test_hourly_usd_reads_the_on_demand_dimension():
    assert prices_fetch.hourly_usd(product("0.0672000000")) == 0.0672
    with pytest.raises(prices_fetch.PriceListError):
        prices_fetch.hourly_usd(product("0.10", unit="GB-Mo"))
    with pytest.raises(prices_fetch.PriceListError):
        prices_fetch.hourly_usd(json.dumps({"product": {}, "terms": {"Reserved": {}}}))


def test_refresh_rewrites_known_prices_and_marks_the_rest_unknown():
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    ec2 = prices_fetch.SECTIONS["ec2_instance_hour"][1]
    rds = prices_fetch.SECTIONS["rds_postgres_instance_hour"][1]
    answers = [
        ("AmazonEC2", ec2("us-east-1", "t4g.large"), [product("0.0672000000"), product("0.0000000000")]),
        ("AmazonEC2", ec2("us-east-1", "x9.mega"), []),
        ("AmazonRDS", rds("us-east-1", "db.t4g.micro"), [product("0.0160000000")]),
    ]
    for service, filters, items in answers:
        stub.add_response(
            "get_products",
            {"PriceList": items, "FormatVersion": "aws_v1"},
            {"ServiceCode": service, "Filters": filters},
        )
    with stub:
        text, unknown = prices_fetch.refresh(TABLE_TEXT, TABLE, client, datetime.date(2026, 11, 30))
    stub.assert_no_pending_responses()
    assert 'as_of: "2026-11-30"' in text
    assert "      t4g.large: 0.0672  # old\n" in text
    assert "      x9.mega: unknown\n" in text and unknown == ["us-east-1 ec2_instance_hour x9.mega"]
    assert "      db.t4g.micro: 0.016\n" in text
    assert "    eks_cluster_hour: 0.10\n" in text  # what the script does not fetch stays as it was


def test_every_listed_price_of_the_shipped_table_is_a_number_or_unknown():
    from plan.cost import price_table

    for region, prices in price_table()["regions"].items():
        for section in prices_fetch.SECTIONS:
            for name, value in prices[section].items():
                assert value == "unknown" or isinstance(value, int | float), (region, name, value)
