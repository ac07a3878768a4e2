"""Estimated monthly cost of a stack from its recorded plan and the dated price table.

``make plan STACK`` writes it to ``build/plan/STACK/cost.md``. Prices are on-demand list prices from
``plan/prices.yaml`` (its ``as_of`` date is printed with every estimate); usage the plan cannot know
(NAT data, Spot discount, load balancer capacity, log and trace volumes) comes from that file's
``assumptions``. What observability costs is :mod:`plan.observability_cost`, the EKS control-plane and
VPC flow-log groups :mod:`plan.service_logs_cost`. Node groups
are priced at their desired (initial) size, with the maximum shown beside the total.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from plan import capacity_cost, observability_cost, service_logs_cost
from plan.harness import load_yaml

PRICES = Path(__file__).with_name("prices.yaml")


class PriceTableError(Exception):
    """The price table has no entry the stack needs (a region, an instance type)."""


@cache
def price_table(path: Path = PRICES) -> dict[str, Any]:
    return load_yaml(path)


@dataclass(frozen=True)
class Line:
    """One priced resource."""

    resource: str
    category: str
    what: str
    monthly: float | None  # None: no price in the table
    at_max: float | None = None  # node groups: cost at their maximum size
    kind: str = ""  # "node-group", "database": what a sleep schedule stops
    sleepable: float = 0.0  # the part of ``monthly`` a stopped database does not bill (instance-hours)


@dataclass
class Estimate:
    stack: str
    region: str
    environment: str
    as_of: str
    lines: list[Line] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    #: Working hours of a sleep schedule (None: always on) and what sleeping saves a month.
    working_hours: str | None = None
    asleep_saving: float = 0.0
    #: (environment class, $/month) of the smallest priced MWAA environment, for comparison.
    mwaa: tuple[str, float] | None = None

    @property
    def total_with_sleep(self) -> float:
        return round(self.total - self.asleep_saving, 2)

    @property
    def total(self) -> float:
        return round(sum(line.monthly or 0.0 for line in self.lines), 2)

    @property
    def total_at_max(self) -> float:
        return round(sum((line.at_max if line.at_max is not None else line.monthly) or 0.0 for line in self.lines), 2)

    @property
    def unpriced(self) -> list[Line]:
        return [line for line in self.lines if line.monthly is None]


class _NoPriceError(Exception):
    """Raised by :class:`_NoPrices` for any price: the region has no entry in plan/prices.yaml."""


class _NoPrices(dict):
    def __missing__(self, key: str) -> Any:
        raise _NoPriceError(key)


def _get(record: Mapping[str, Any], path: str, default: Any = None) -> Any:
    value: Any = record.get("inputs") or {}
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    return value


def _aws_provider(resources: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    providers = [r for r in resources if r["type"] == "pulumi:providers:aws"]
    if not providers:
        raise PriceTableError("the plan has no AWS provider: cannot tell the region")
    return providers[0]


def estimate(stack: str, resources: Sequence[Mapping[str, Any]], table: Mapping[str, Any] | None = None) -> Estimate:
    """Price every resource of the plan that costs money by itself."""
    table = table or price_table()
    provider = _aws_provider(resources)
    region = _get(provider, "region", "us-east-1")
    # A region without prices still gets its report: every line that would be priced says "unknown".
    priced_region = region in table["regions"]
    tags = json.loads(_get(provider, "defaultTags", "{}") or "{}").get("tags", {})
    environment = tags.get("environment", stack)
    p = table["regions"][region] if priced_region else _NoPrices()
    a = table["assumptions"]
    hours = table["hours_per_month"]
    by_name = {r["name"]: r for r in resources}
    prefix = f"{tags.get('project', 'airflow-mesh')}-{stack}-"
    out = Estimate(stack=stack, region=region, environment=environment, as_of=str(table["as_of"]))

    def add(
        r: Mapping[str, Any],
        category: str,
        what: str,
        monthly: float | None,
        at_max: float | None = None,
        kind: str = "",
        sleepable: float = 0.0,
    ) -> None:
        name = r["name"].removeprefix(prefix)
        rounded = None if monthly is None else round(monthly, 2)
        out.lines.append(Line(name, category, what, rounded, at_max, kind, round(sleepable, 2)))

    nats = [r for r in resources if r["type"] == "aws:ec2/natGateway:NatGateway"]
    fronted = _fronted_gateways(resources)
    nat_gb = observability_cost.per_environment(a, "nat_gb_per_month", environment)
    for r in resources:
        t = r["type"]
        try:
            if t == "aws:eks/cluster:Cluster":
                price = p["eks_cluster_hour"]
                add(r, "compute", f"EKS control plane, {hours} h x ${price:.2f} (standard support)", hours * price)
            elif t == "aws:eks/nodeGroup:NodeGroup":
                _node_group(r, by_name, p, a, hours, add)
            elif t == "aws:ec2/natGateway:NatGateway":
                share = nat_gb / len(nats)
                monthly = hours * p["nat_gateway_hour"] + share * p["nat_gateway_gb_processed"]
                add(r, "network", f"NAT gateway + {share:.0f} GB processed (assumed)", monthly)
            elif t == "aws:ec2/eip:Eip":
                add(r, "network", "public IPv4 address", hours * p["public_ipv4_hour"])
            elif t == "aws:ec2/vpcEndpoint:VpcEndpoint" and _get(r, "vpcEndpointType") == "Interface":
                azs = len(_get(r, "subnetIds", []) or []) or 1
                service = str(_get(r, "serviceName", "")).split(f".{region}.", 1)[-1]  # [cn.]com.amazonaws.<region>.
                add(
                    r,
                    "network",
                    f"interface endpoint {service} in {azs} AZs",
                    azs * hours * p["interface_endpoint_az_hour"],
                )
            elif _is_load_balancer(r, fronted):
                monthly = hours * (p["nlb_hour"] + a["nlb_lcu"] * p["nlb_lcu_hour"])
                add(r, "network", f"network load balancer, {a['nlb_lcu']} LCU (assumed)", monthly)
            elif t == "aws:rds/instance:Instance":
                _database(r, p, hours, add)
            elif t == "aws:kms/key:Key":
                add(r, "security", "KMS customer-managed key", p["kms_key_month"])
            elif t == "aws:secretsmanager/secret:Secret":
                add(r, "security", "Secrets Manager secret", p["secrets_manager_secret_month"])
        except _NoPriceError:
            add(r, "unpriced", f"{t}: no prices for region {region} in plan/prices.yaml", None)

    capacity_cost.karpenter_lines(resources, p, a, hours, add)
    watched = observability_cost.lines(resources, p, a, environment, add)
    watched += service_logs_cost.lines(resources, p, a, environment, add)
    watched += [observability_cost.FREE_TIERS] if watched else []
    out.working_hours = capacity_cost.working_hours(resources)
    out.asleep_saving = capacity_cost.sleeping_saving(out.lines, capacity_cost.awake_share(resources))
    out.mwaa = capacity_cost.mwaa(p, hours)

    out.assumptions = [
        f"Spot capacity at {a['spot_discount']:.0%} below on-demand (the Spot Instance Advisor's range for them)",
        f"{nat_gb} GB a month through NAT ({environment})" if nats else "",
        f"{a['nlb_lcu']} load balancer capacity unit on average"
        if any(_is_load_balancer(r, fronted) for r in resources)
        else "",
        "node groups at their desired size; the maximum is shown beside the total",
        f"Karpenter task nodes filled to {a['task_node_packing']:.0%} of their vCPUs by task pods' requests"
        if any(r["type"] == capacity_cost.NODE_POOL for r in resources)
        else "",
        *watched,
    ]
    out.assumptions = [x for x in out.assumptions if x]
    return out


def _is_load_balancer(r: Mapping[str, Any], fronted: set[str]) -> bool:
    """Resources that bring a network load balancer of their own. ``fronted``: Gateways that a
    LoadBalancer Service of the program already selects (their load balancer is that Service's)."""
    t = r["type"]
    if t == "kubernetes:core/v1:Service":
        return _get(r, "spec.type") == "LoadBalancer"
    if t == "kubernetes:gateway.networking.k8s.io/v1:Gateway":
        # NGINX Gateway Fabric provisions a LoadBalancer Service (an NLB) per Gateway by default
        return _get(r, "metadata.name") not in fronted
    if t == "aws:lb/loadBalancer:LoadBalancer":
        return _get(r, "loadBalancerType") == "network"
    return False


def _fronted_gateways(resources: Sequence[Mapping[str, Any]]) -> set[str]:
    return {
        _get(r, "spec.selector", {}).get("gateway.networking.k8s.io/gateway-name")
        for r in resources
        if r["type"] == "kubernetes:core/v1:Service" and _get(r, "spec.type") == "LoadBalancer"
    } - {None}


def _node_group(r, by_name, p, a, hours, add) -> None:
    types = _get(r, "instanceTypes", []) or []
    first = types[0] if types else "?"
    price = p["ec2_instance_hour"].get(first)
    spot = _get(r, "capacityType") == "SPOT"
    desired = _get(r, "scalingConfig.desiredSize", _get(r, "scalingConfig.minSize", 0)) or 0
    maximum = _get(r, "scalingConfig.maxSize", desired) or desired
    disk = _root_volume_gib(r, by_name)
    capacity = "Spot" if spot else "on-demand"
    what = f"{desired} x {first} {capacity} (max {maximum}) + {disk} GiB gp3 each"
    if price is None:
        add(r, "compute", f"{what}: no price for {first} in plan/prices.yaml", None)
        return
    per_node = hours * price * ((1 - a["spot_discount"]) if spot else 1) + disk * p["ebs_gp3_gb_month"]
    add(r, "compute", what, desired * per_node, round(maximum * per_node, 2), kind="node-group")


def _root_volume_gib(r: Mapping[str, Any], by_name: Mapping[str, Mapping[str, Any]]) -> int:
    for dep in r.get("dependsOn", []):
        lt = by_name.get(dep)
        if lt and lt["type"] == "aws:ec2/launchTemplate:LaunchTemplate":
            for mapping in _get(lt, "blockDeviceMappings", []) or []:
                size = (mapping.get("ebs") or {}).get("volumeSize")
                if size:
                    return int(size)
    return int(_get(r, "diskSize", 20) or 20)


def _database(r, p, hours, add) -> None:
    cls = _get(r, "instanceClass")
    multi = bool(_get(r, "multiAz"))
    copies = 2 if multi else 1
    storage = _get(r, "allocatedStorage", 20) or 20
    price = p["rds_postgres_instance_hour"].get(cls)
    what = f"RDS PostgreSQL {cls}{' Multi-AZ (x2)' if multi else ''} + {storage} GiB gp3"
    if price is None:
        add(r, "data", f"{what}: no price for {cls} in plan/prices.yaml", None)
        return
    monthly = copies * (hours * price + float(storage) * p["rds_gp3_gb_month"])
    add(r, "data", what, monthly, kind="database", sleepable=copies * hours * price)


def money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.2f}"


def render(e: Estimate) -> str:
    """cost.md: the total, per category, per resource, and what the estimate assumes and leaves out."""
    categories: dict[str, float] = {}
    for line in e.lines:
        categories[line.category] = categories.get(line.category, 0.0) + (line.monthly or 0.0)
    out = [
        f"# Estimated monthly cost: stack `{e.stack}` ({e.environment}, {e.region})",
        "",
        f"**{money(e.total)} a month** at the node groups' desired sizes; {money(e.total_at_max)} with every node "
        f"group at its maximum. On-demand list prices as of **{e.as_of}** (`plan/prices.yaml`), "
        f"{price_table()['hours_per_month']} hours a month, USD before tax and discounts.",
        "",
    ]
    if e.working_hours:
        out += [
            f"**{money(e.total_with_sleep)} a month with the sleep schedule** (awake {e.working_hours}): node "
            f"groups and their volumes, task nodes and RDS instance-hours stop outside it, saving "
            f"{money(e.asleep_saving)}.",
            "",
        ]
    if e.mwaa:
        cheapest = e.total_with_sleep if e.working_hours else e.total
        out += [
            f"For comparison: Amazon MWAA's smallest priced environment ({e.mwaa[0]}, always on, before its "
            f"storage and extra workers) is {money(e.mwaa[1])} a month; this stack is "
            f"{money(abs(round(e.mwaa[1] - cheapest, 2)))} {'less' if cheapest <= e.mwaa[1] else 'more'}.",
            "",
        ]
    if e.unpriced:
        out += [f"**Incomplete:** no price for {', '.join(line.resource for line in e.unpriced)}.", ""]
    out += ["| category | $/month |", "|---|---:|"]
    out += [f"| {c} | {money(round(v, 2))} |" for c, v in sorted(categories.items(), key=lambda kv: -kv[1])]
    out += ["", "| resource | what | $/month |", "|---|---|---:|"]
    for line in sorted(e.lines, key=lambda x: (x.category, -(x.monthly or 0.0), x.resource)):
        out.append(f"| `{line.resource}` | {line.what} | {money(line.monthly)} |")
    out.append(f"| **total** | | **{money(e.total)}** |")
    out += ["", "Assumptions:", *[f"- {x}" for x in e.assumptions]]
    out += [
        "",
        "Not included: data transfer out of AWS and across AZs, Logs Insights queries, CloudWatch API requests "
        "(a dashboard open in a browser calls GetMetricData), X-Ray traces retrieved or scanned, S3 storage and "
        "requests, RDS backups beyond the free allowance, persistent volumes that workloads claim, KMS and "
        "Secrets Manager API requests.",
        "",
    ]
    return "\n".join(out)


def summary(e: Estimate) -> str:
    """One line for `make plan`'s output."""
    sleep = f", {money(e.total_with_sleep)} with the sleep schedule" if e.working_hours else ""
    return (
        f"  estimated {money(e.total)}/month{sleep} ({money(e.total_at_max)} at max node counts; prices of {e.as_of})"
    )
