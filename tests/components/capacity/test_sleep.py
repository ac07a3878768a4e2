"""The dev sleep schedule as recorded: task nodes drained first, then node groups to zero and RDS
stopped by EventBridge Scheduler with a role that may do exactly that, and back in the morning."""

from __future__ import annotations

import json

import pytest

from components.capacity.sleep import awake_hours_per_week, minus_minutes, parse
from tests.iam.roles import role_by_arn

SCHEDULE = "aws:scheduler/schedule:Schedule"


def schedules(plan) -> dict[str, dict]:
    return {s["name"].removeprefix(f"airflow-mesh-{plan.stack}-sleep-"): s["inputs"] for s in plan.of_type(SCHEDULE)}


def test_only_stacks_with_working_hours_sleep(plans):
    assert set(schedules(plans["dev"])) == {"sleep-nodes-0", "wake-nodes-0", "sleep-database", "wake-database"}
    assert not plans["prod"].of_type(SCHEDULE) and not plans["staging"].of_type(SCHEDULE)


def test_node_groups_go_to_zero_at_night_and_back_to_their_minimum(plans):
    plan = plans["dev"]
    found = schedules(plan)
    sleep, wake = found["sleep-nodes-0"], found["wake-nodes-0"]
    assert sleep["scheduleExpression"] == "cron(0 19 ? * MON-FRI *)"
    assert wake["scheduleExpression"] == "cron(0 7 ? * MON-FRI *)"
    assert sleep["scheduleExpressionTimezone"] == wake["scheduleExpressionTimezone"] == "Europe/Berlin"
    assert sleep["target"]["arn"] == "arn:aws:scheduler:::aws-sdk:eks:updateNodegroupConfig"
    (group,) = plan.of_type("aws:eks/nodeGroup:NodeGroup")
    low, high = json.loads(sleep["target"]["input"]), json.loads(wake["target"]["input"])
    assert low["ScalingConfig"] == {
        "MinSize": 0,
        "DesiredSize": 0,
        "MaxSize": group["inputs"]["scalingConfig"]["maxSize"],
    }
    assert high["ScalingConfig"]["MinSize"] == high["ScalingConfig"]["DesiredSize"] == 2
    assert found["sleep-database"]["target"]["arn"].endswith(":rds:stopDBInstance")
    assert found["wake-database"]["target"]["arn"].endswith(":rds:startDBInstance")


def test_the_scheduler_role_may_only_scale_these_groups_and_stop_this_database(plans):
    plan = plans["dev"]
    arn = next(iter(schedules(plan).values()))["target"]["roleArn"]
    role = role_by_arn(plan, arn)
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "111122223333"}}
    (policy,) = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p["name"].endswith("-sleep-policy")]
    statements = {s["Sid"]: s for s in json.loads(policy["inputs"]["policy"])["Statement"]}
    assert statements["ScaleNodeGroups"]["Action"] == ["eks:UpdateNodegroupConfig"]
    assert all(":nodegroup/" in r for r in statements["ScaleNodeGroups"]["Resource"])
    assert statements["StopStartDatabase"]["Action"] == ["rds:StopDBInstance", "rds:StartDBInstance"]
    assert [r.split(":")[2] for r in statements["StopStartDatabase"]["Resource"]] == ["rds"]
    assert "*" not in json.dumps([s["Resource"] for s in statements.values()])


def test_task_nodes_are_drained_in_the_ten_minutes_before_karpenter_goes(plans):
    plan = plans["dev"]
    (cron,) = plan.of_type("kubernetes:batch/v1:CronJob")
    spec = cron["inputs"]["spec"]
    assert spec["schedule"] == "50-59 18 * * MON-FRI" and spec["timeZone"] == "Europe/Berlin"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"] == ["delete", "nodeclaims.karpenter.sh", "--all", "--wait=false"]
    assert pod["nodeSelector"] == {"airflow-mesh/node-role": "system"}
    (rule,) = plan.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")["inputs"]["rules"]
    assert rule == {"apiGroups": ["karpenter.sh"], "resources": ["nodeclaims"], "verbs": ["list", "delete"]}
    (namespace,) = [n for n in plan.of_type("kubernetes:core/v1:Namespace") if n["name"].endswith("-karpenter-ns")]
    assert namespace["name"] in plan.requires(cron["name"])


@pytest.mark.parametrize(
    ("hours", "awake"),
    [("MON-FRI 07:00-19:00", 60), ("MON,WED,FRI 09:30-17:00", 22.5), ("MON-SUN 00:00-23:59", 7 * 23 + 7 * 59 / 60)],
)
def test_awake_hours(hours, awake):
    assert awake_hours_per_week(hours) == pytest.approx(awake)


def test_drain_window_arithmetic():
    assert parse("MON-FRI 07:00-19:10") == ("MON-FRI", (7, 0), (19, 10))
    assert minus_minutes((19, 0), 10) == (18, 50)
    assert minus_minutes((0, 5), 10) == (23, 55)
