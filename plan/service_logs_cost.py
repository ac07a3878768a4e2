"""What the log groups AWS services write into cost: the EKS control-plane logs and the VPC flow logs.

Priced like the collector's groups (:func:`plan.observability_cost.log_group_line`): GB ingested a month from
``assumptions`` in plan/prices.yaml, per environment, plus storage for the group's retention in the plan. Both
are CloudWatch *vended* logs; their first pricing tier ($0.50/GB in us-east-1, the first 10 TB a month) is the
Standard ingestion price, so they use ``cloudwatch_logs_ingested_gb``.

- **EKS control plane**: a cluster with ``enabledClusterLogTypes`` writes into ``/aws/eks/<cluster>/cluster``
  (EKS user guide, "Send control plane logs to CloudWatch Logs"); its GB are the sum of the assumptions for the
  log types it enables (``eks_control_plane_log_gb_per_month``), so a type not enabled costs nothing. When the
  plan has no group of that name, EKS creates it itself without retention: it is priced as kept forever, as
  ``<cluster>:control-plane-logs``, and says so.
- **VPC flow logs**: every log group an ``aws:ec2/flowLog:FlowLog`` with a CloudWatch destination writes into
  (found by the flow log's dependencies, or the group name in ``logDestination``/``logGroupName``), at
  ``flow_log_gb_per_month`` per group.

A stack without a cluster that logs, or without flow logs into CloudWatch, gets no line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plan.observability_cost import LOG_GROUP, Add, inputs_of, log_group_line, per_environment

CLUSTER = "aws:eks/cluster:Cluster"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
EKS_KEY = "eks_control_plane_log_gb_per_month"
FLOW_KEY = "flow_log_gb_per_month"
DERIVED = "derived from request and flow rates, not measured, and set high (plan/prices.yaml says how)"


def eks_log_group_name(cluster_name: str) -> str:
    """The group EKS writes control-plane logs into (fixed by EKS; the program creates it first to own its
    retention, components/cluster/component.py)."""
    return f"/aws/eks/{cluster_name}/cluster"


def lines(
    resources: Sequence[Mapping[str, Any]],
    p: Mapping[str, Any],
    a: Mapping[str, Any],
    environment: str,
    add: Add,
) -> list[str]:
    """Add a line per control-plane and flow-log group (category ``observability``); return their assumptions."""
    by_name = {r["name"]: r for r in resources}
    groups = [r for r in resources if r["type"] == LOG_GROUP]
    named = {str(inputs_of(g).get("name")): g for g in groups if inputs_of(g).get("name")}
    assumptions: list[str] = []
    for cluster in (r for r in resources if r["type"] == CLUSTER):
        types = [str(t) for t in inputs_of(cluster).get("enabledClusterLogTypes") or []]
        if not types:
            continue
        name = eks_log_group_name(str(inputs_of(cluster).get("name") or cluster["name"]))
        per_type = per_environment(a, EKS_KEY, environment) or {}
        unknown = [t for t in types if t not in per_type]
        gb = None if unknown or not per_type else sum(float(per_type[t]) for t in types)
        key = f"{EKS_KEY}.{'/'.join(unknown) or environment}"
        group = named.get(name)
        source = f" of the EKS control plane ({', '.join(types)})"
        if group is None:  # EKS creates the group on first write, with no retention (it never expires)
            group = {"name": f"{cluster['name']}:control-plane-logs", "inputs": {}}
            source = f"{source}, in a group EKS creates itself: no retention"
        assumptions += log_group_line(group, gb, key, source, p, a, environment, add, name)
        if gb is not None:
            split = ", ".join(f"{t} {float(per_type[t]):g} GB" for t in sorted(types, key=lambda t: -per_type[t]))
            assumptions[-1] += f"; by log type {split}: {DERIVED}"
    flows = [r for r in resources if r["type"] == FLOW_LOG and _to_cloudwatch(r)]
    fed: dict[str, Mapping[str, Any]] = {}
    for flow in flows:
        group = _flow_log_group(flow, by_name, groups)
        if group is not None:
            fed.setdefault(group["name"], group)
    gb = per_environment(a, FLOW_KEY, environment)
    for group in fed.values():
        feeding = [f for f in flows if _flow_log_group(f, by_name, groups) is group]
        kinds = sorted({str(inputs_of(f).get("trafficType") or "ALL") for f in feeding})
        interval = max(int(inputs_of(f).get("maxAggregationInterval") or 600) for f in feeding)
        source = f" of VPC flow logs ({'/'.join(kinds)} traffic, {interval}-s aggregation)"
        log_name = str(inputs_of(group).get("name") or f"{group['name']}, auto-named")
        assumptions += log_group_line(group, gb, FLOW_KEY, source, p, a, environment, add, log_name)
        if gb is not None:
            assumptions[-1] += f"; flow logs grow with traffic (a record per flow per ENI per interval): {DERIVED}"
    return assumptions


def _to_cloudwatch(flow: Mapping[str, Any]) -> bool:
    # logDestinationType defaults to cloud-watch-logs (AWS::EC2::FlowLog, aws_flow_log)
    return (inputs_of(flow).get("logDestinationType") or "cloud-watch-logs") == "cloud-watch-logs"


def _flow_log_group(
    flow: Mapping[str, Any], by_name: Mapping[str, Mapping[str, Any]], groups: Sequence[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The log group a flow log writes into: a LogGroup it depends on, else one named in its destination."""
    for dep in flow.get("dependsOn") or []:
        found = by_name.get(dep)
        if found is not None and found["type"] == LOG_GROUP:
            return found
    inputs = inputs_of(flow)
    target = str(inputs.get("logGroupName") or str(inputs.get("logDestination") or "").split(":log-group:")[-1])
    target = target.removesuffix(":*")
    return next((g for g in groups if target and str(inputs_of(g).get("name")) == target), None)
