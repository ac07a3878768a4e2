"""What the EKS control-plane and VPC flow-log groups cost (plan/service_logs_cost.py): one line each in dev
and prod, priced from the enabled log types and each group's retention in the plan; a group EKS would create
itself is kept forever; nothing for a stack without them; unknown, not guessed, without an assumption."""

from __future__ import annotations

import copy

import pytest

from components.cluster.component import CONTROL_PLANE_LOG_TYPES
from plan import cost, observability_cost, service_logs_cost
from tests import stacks
from tests.plan.test_cost import TABLE, US_EAST_1, line, provider, record

A = TABLE["assumptions"]
MONTH_DAYS = 365 / 12
INGEST, STORE = US_EAST_1["cloudwatch_logs_ingested_gb"], US_EAST_1["cloudwatch_logs_stored_gb_month"]


def priced(gb: float, days: int) -> float:
    months = min(days / MONTH_DAYS, A["log_storage_horizon_months"]) if days else A["log_storage_horizon_months"]
    return gb * (INGEST + months * STORE)


def named(type_: str, resource: str, name: str, deps=(), **inputs) -> dict:
    """A planned resource whose ``name`` input differs from its resource name (record() takes that positionally)."""
    found = record(type_, resource, deps, **inputs)
    found["inputs"]["name"] = name
    return found


def service_lines(estimate: cost.Estimate) -> dict[str, cost.Line]:
    return {
        x.resource: x
        for x in estimate.lines
        if x.category == "observability" and ("EKS control plane" in x.what or "VPC flow logs" in x.what)
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_dev_and_prod_price_their_control_plane_and_flow_log_groups(plans, stack):
    settings = stacks.settings_for(stack)
    estimate = cost.estimate(stack, plans[stack].resources)
    lines = service_lines(estimate)
    assert sorted(lines) == ["cluster-control-plane-logs", "network-flow-logs"]
    # Every control-plane log type is enabled in every stack; audit is the bulk of the group.
    per_type = A["eks_control_plane_log_gb_per_month"][stack]
    assert max(per_type, key=per_type.get) == "audit" and per_type["audit"] > 0.9 * sum(per_type.values())
    eks = lines["cluster-control-plane-logs"]
    gb = sum(per_type[t] for t in CONTROL_PLANE_LOG_TYPES)
    assert eks.monthly == pytest.approx(priced(gb, settings.cluster_log_retention_days), abs=0.01)
    assert f"{gb:g} GB/month ingested (assumed)" in eks.what and ", ".join(CONTROL_PLANE_LOG_TYPES) in eks.what
    assert f"{settings.cluster_log_retention_days}-day retention" in eks.what
    flows = lines["network-flow-logs"]
    gb = A["flow_log_gb_per_month"][stack]
    assert flows.monthly == pytest.approx(priced(gb, settings.flow_log_retention_days), abs=0.01)
    assert "ALL traffic, 60-s aggregation" in flows.what
    assert f"{settings.flow_log_retention_days}-day retention" in flows.what
    text = cost.render(estimate)
    assert f"log group `/aws/eks/airflow-mesh-{stack}/cluster` ({stack})" in text
    assert "by log type audit" in text and "flow logs grow with traffic" in text
    assert "EKS control plane and the VPC flow logs" not in text and "Not included:" in text
    # Today's figures: dev 86 GB kept 14 days and 5 GB kept 14 days; prod 162 GB and 30 GB, each kept a year.
    assert (eks.monthly, flows.monthly) == {"dev": (44.19, 2.57), "prod": (139.32, 25.80)}[stack]


def test_a_stack_without_those_groups_gets_no_line():
    resources = [
        provider(),
        named("aws:eks/cluster:Cluster", "quiet", "quiet"),  # no enabledClusterLogTypes: EKS sends nothing
        record("aws:cloudwatch/logGroup:LogGroup", "flow-logs", retentionInDays=14),  # nothing writes into it
        record("aws:cloudwatch/logGroup:LogGroup", "bucket-target", retentionInDays=14),
        record("aws:ec2/flowLog:FlowLog", "to-s3", ["bucket-target"], logDestinationType="s3"),
    ]
    estimate = cost.estimate("dev", resources)
    assert not service_lines(estimate)
    assert not [x for x in estimate.assumptions if "log group" in x or "free tiers" in x]


def test_only_enabled_types_count_and_a_group_eks_creates_is_kept_forever():
    cluster = named("aws:eks/cluster:Cluster", "eks", "c1", enabledClusterLogTypes=["audit", "authenticator"])
    estimate = cost.estimate("prod", [provider(environment="prod"), cluster])
    found = line(estimate, "eks:control-plane-logs")
    gb = (
        A["eks_control_plane_log_gb_per_month"]["prod"]["audit"]
        + A["eks_control_plane_log_gb_per_month"]["prod"]["authenticator"]
    )
    assert found.monthly == pytest.approx(priced(gb, 0), abs=0.01)
    assert "a group EKS creates itself: no retention" in found.what and "kept forever" in found.what
    assert any("`/aws/eks/c1/cluster` (prod)" in x for x in estimate.assumptions)


def test_a_flow_log_finds_its_group_by_the_destination_arn():
    group = named("aws:cloudwatch/logGroup:LogGroup", "vpc-flows", "/vpc/flows", retentionInDays=30)
    flow = record(
        "aws:ec2/flowLog:FlowLog",
        "flow",
        trafficType="REJECT",
        logDestination="arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flows:*",
    )
    estimate = cost.estimate("staging", [provider(environment="staging"), group, flow])
    found = line(estimate, "vpc-flows")
    assert found.monthly == pytest.approx(priced(A["flow_log_gb_per_month"]["staging"], 30), abs=0.01)
    assert "REJECT traffic, 600-s aggregation" in found.what  # AWS's default interval when unset


def test_without_an_assumption_the_line_is_unknown():
    table = copy.deepcopy(TABLE)
    del table["assumptions"]["eks_control_plane_log_gb_per_month"]["dev"]["scheduler"]
    del table["assumptions"]["flow_log_gb_per_month"]
    resources = [
        provider(),
        named("aws:eks/cluster:Cluster", "eks", "c1", enabledClusterLogTypes=["audit", "scheduler"]),
        record("aws:cloudwatch/logGroup:LogGroup", "flows", retentionInDays=14),
        record("aws:ec2/flowLog:FlowLog", "flow", ["flows"]),
    ]
    estimate = cost.estimate("dev", resources, table)
    eks = line(estimate, "eks:control-plane-logs")
    assert eks.monthly is None and "no eks_control_plane_log_gb_per_month.scheduler assumption" in eks.what
    assert line(estimate, "flows").monthly is None and "flow_log_gb_per_month" in line(estimate, "flows").what
    assert "Incomplete" in cost.render(estimate)


@pytest.mark.parametrize(
    ("days", "gb_months"),
    [(0, 5.0), (731, 5.0), (60, 5.0), (14, 10 * (14 / MONTH_DAYS) * (1 - 14 / MONTH_DAYS / 2))],
)
def test_the_first_month_holds_half_a_month_or_less(days, gb_months):
    # A group fills from empty: a month's data averages half a month held; a retention shorter than the month
    # stops growing once it has passed.
    assert observability_cost.first_month_gb_months(10, days) == pytest.approx(gb_months)


def test_the_eks_group_name_is_the_one_the_cluster_component_creates(plans):
    names = {r["inputs"].get("name") for r in plans["dev"].resources if r["type"] == observability_cost.LOG_GROUP}
    assert service_logs_cost.eks_log_group_name("airflow-mesh-dev") in names
