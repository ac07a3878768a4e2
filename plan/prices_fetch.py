"""``make prices``: refresh the instance prices of ``plan/prices.yaml`` from the AWS Price List API.

Needs AWS credentials allowed ``pricing:GetProducts`` (the API answers from us-east-1 for every
region). For each region in the table it asks for every EC2 instance type and RDS PostgreSQL class
the table lists, and rewrites that line with the on-demand hourly USD price, or ``unknown`` when the
API has no single matching product (a type not offered in the region, an ambiguous filter). Comments
and the file's layout stay as they are; ``as_of`` becomes today's date.

The filters are the Price List attributes of a plain on-demand Linux instance (shared tenancy, no
pre-installed software, ``capacitystatus: Used``) and of a Single-AZ RDS for PostgreSQL instance
(AWS Price List API user guide, "Finding products": GetProducts with TERM_MATCH filters). Moto has
no Price List backend, so tests feed the parser recorded response shapes instead.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from plan.harness import load_yaml

PRICES = Path(__file__).with_name("prices.yaml")
#: Table sections refreshed, with the Price List service and filters of one entry.
SECTIONS: dict[str, tuple[str, Callable[[str, str], list[dict[str, str]]]]] = {
    "ec2_instance_hour": (
        "AmazonEC2",
        lambda region, name: _match(
            regionCode=region,
            instanceType=name,
            operatingSystem="Linux",
            tenancy="Shared",
            preInstalledSw="NA",
            capacitystatus="Used",
            licenseModel="No License required",
        ),
    ),
    "rds_postgres_instance_hour": (
        "AmazonRDS",
        lambda region, name: _match(
            regionCode=region, instanceType=name, databaseEngine="PostgreSQL", deploymentOption="Single-AZ"
        ),
    ),
}


class PriceListError(Exception):
    """A Price List answer this script cannot read as one hourly USD price."""


def _match(**fields: str) -> list[dict[str, str]]:
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in fields.items()]


def hourly_usd(price_item: str) -> float:
    """The on-demand hourly USD price in one ``PriceList`` entry (a JSON string, as GetProducts returns it).

    Shape: ``{"product": {...}, "terms": {"OnDemand": {"<sku>.<offer>": {"priceDimensions":
    {"<sku>.<offer>.<rate>": {"unit": "Hrs", "pricePerUnit": {"USD": "0.0672000000"}}}}}}}``.
    """
    item = json.loads(price_item)
    offers = list((item.get("terms") or {}).get("OnDemand", {}).values())
    dimensions = [d for offer in offers for d in offer.get("priceDimensions", {}).values()]
    hourly = [d for d in dimensions if d.get("unit") == "Hrs" and "USD" in d.get("pricePerUnit", {})]
    if len(hourly) != 1:
        raise PriceListError(f"expected one hourly on-demand price, found {len(hourly)}")
    return float(hourly[0]["pricePerUnit"]["USD"])


def lookup(client: Any, service: str, filters: list[dict[str, str]]) -> float | None:
    """The one product's hourly price, or None when the API has none or several."""
    items: list[str] = []
    for page in client.get_paginator("get_products").paginate(ServiceCode=service, Filters=filters):
        items += page["PriceList"]
    prices = set()
    for item in items:
        try:
            prices.add(hourly_usd(item))
        except PriceListError:
            continue
    prices.discard(0.0)  # reserved-capacity and host SKUs price at 0 on demand
    return prices.pop() if len(prices) == 1 else None


def refresh(text: str, table: Mapping[str, Any], client: Any, today: datetime.date) -> tuple[str, list[str]]:
    """``text`` (prices.yaml) with every listed instance price refreshed; and the entries now unknown."""
    unknown = []
    for region, prices in table["regions"].items():
        for section, (service, filters) in SECTIONS.items():
            for name in prices.get(section, {}):
                price = lookup(client, service, filters(region, name))
                value = "unknown" if price is None else f"{price:g}"
                if price is None:
                    unknown.append(f"{region} {section} {name}")
                text = _set(text, region, section, name, value)
    text = re.sub(r'(?m)^as_of: ".*"$', f'as_of: "{today.isoformat()}"', text, count=1)
    return text, unknown


def _set(text: str, region: str, section: str, name: str, value: str) -> str:
    """Replace ``name: <old>`` inside ``regions.<region>.<section>`` (four/six-space YAML indents)."""
    lines = text.splitlines(keepends=True)
    in_region = in_section = False
    for i, line in enumerate(lines):
        if re.match(r"^  \S", line):
            in_region = line.strip() == f"{region}:"
            in_section = False
        elif in_region and re.match(r"^    \S", line):
            in_section = line.strip() == f"{section}:"
        elif in_region and in_section and line.strip().startswith(f"{name}:"):
            comment = line.split("#", 1)[1] if "#" in line else ""
            lines[i] = f"      {name}: {value}" + (f"  #{comment}" if comment else "\n")
            return "".join(lines)
    raise PriceListError(f"{region}.{section}.{name} not found in prices.yaml")


def main(argv: Iterable[str] = ()) -> int:
    import boto3  # only the deployer's `make prices` needs AWS

    client = boto3.client("pricing", region_name="us-east-1")
    text, unknown = refresh(PRICES.read_text(), load_yaml(PRICES), client, datetime.date.today())
    PRICES.write_text(text)
    print(f"wrote {PRICES}" + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
