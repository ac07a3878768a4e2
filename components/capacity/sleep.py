"""SleepSchedule: a stack that sleeps outside working hours (dev, staging), and wakes itself.

- **Task nodes first.** Ten minutes before the stack sleeps, a CronJob deletes Karpenter's NodeClaims
  once a minute (Karpenter drains and terminates their instances). Once a minute, because the
  Airflow scheduler may still launch a task in between; the CronJob stops when the system nodes go,
  and with them Karpenter, which is why this must happen before and not after. The NodePools are not
  touched (no drift against the program); after waking, task pods bring nodes back on demand.
- **Then AWS**, by EventBridge Scheduler's universal targets (no Lambda, no code to keep): every
  managed node group to 0 (``eks:UpdateNodegroupConfig``) and RDS stopped (``rds:StopDBInstance``);
  at the start of working hours the node groups back to their minimum and RDS started. RDS restarts
  a stopped instance by itself after 7 days (RDS user guide, "Stopping an Amazon RDS DB instance
  temporarily"), which a week-day schedule never reaches.

The scheduler's role may update exactly these node groups and stop/start exactly this instance.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.platform import KARPENTER_NAMESPACE, NODE_ROLE_LABEL, SYSTEM_NODE_ROLE
from components.settings.regions import Partition

#: kubectl from the Kubernetes project's own registry (a static binary, no shell: one command per run).
KUBECTL_IMAGE = "registry.k8s.io/kubectl:v1.34.0"
SERVICE_ACCOUNT = "karpenter-sleep"
DRAIN_MINUTES = 10


@dataclass(frozen=True)
class NodeGroupSize:
    """A managed node group the schedule scales: its name and its waking min/max."""

    name: pulumi.Input[str]
    arn: pulumi.Input[str]
    min_size: int
    max_size: int


@dataclass(frozen=True)
class SleepScheduleArgs:
    """Inputs of :class:`SleepSchedule`."""

    #: ``MON-FRI 07:00-19:00``: days (EventBridge cron day names) and the waking hours.
    working_hours: str
    #: IANA time zone of ``working_hours``.
    timezone: str
    #: The stack's AWS partition (the scheduler's service principal, the universal targets' ARNs).
    partition: Partition
    cluster_name: pulumi.Input[str]
    node_groups: Sequence[NodeGroupSize]
    database_identifier: pulumi.Input[str]
    database_arn: pulumi.Input[str]
    account_id: str
    #: What the CronJob and its RBAC wait for (the karpenter namespace, from :class:`Karpenter`).
    depends_on: Sequence[pulumi.Resource] = ()


def parse(working_hours: str) -> tuple[str, tuple[int, int], tuple[int, int]]:
    """``MON-FRI 07:00-19:00`` -> (``MON-FRI``, (7, 0), (19, 0)). The settings validated the shape."""
    days, hours = working_hours.split(" ")
    start, end = (tuple(int(x) for x in t.split(":")) for t in hours.split("-"))
    return days, start, end  # type: ignore[return-value]


def minus_minutes(hm: tuple[int, int], minutes: int) -> tuple[int, int]:
    total = (hm[0] * 60 + hm[1] - minutes) % (24 * 60)
    return divmod(total, 60)  # type: ignore[return-value]


class SleepSchedule(pulumi.ComponentResource):
    """EventBridge schedules (sleep and wake) with their role, and the task-node drain CronJob.

    Outputs: ``awake_hours_per_week`` (for the cost report).
    """

    def __init__(self, name: str, args: SleepScheduleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:capacity:SleepSchedule", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        days, start, end = parse(args.working_hours)

        role = aws.iam.Role(
            f"{name}-role",
            description="EventBridge Scheduler: scale this stack's node groups, stop and start its database",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": args.partition.principal("scheduler")},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}},
                        }
                    ],
                }
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(args.database_arn, *[g.arn for g in args.node_groups]).apply(
                lambda a: json.dumps(scheduler_policy(a[0], a[1:]), sort_keys=True)
            ),
            opts=child,
        )

        def schedule(suffix: str, at: tuple[int, int], action: str, body: pulumi.Input[str]) -> None:
            aws.scheduler.Schedule(
                f"{name}-{suffix}",
                description=f"{args.working_hours} ({args.timezone}): {suffix}",
                schedule_expression=f"cron({at[1]} {at[0]} ? * {days} *)",
                schedule_expression_timezone=args.timezone,
                flexible_time_window={"mode": "OFF"},
                target={
                    "arn": args.partition.arn("scheduler", f"aws-sdk:{action}"),
                    "role_arn": role.arn,
                    "input": body,
                    "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600},
                },
                opts=child,
            )

        for i, group in enumerate(args.node_groups):
            for suffix, at, size in (
                ("sleep", end, (0, group.max_size)),
                ("wake", start, (group.min_size, group.max_size)),
            ):
                body = pulumi.Output.all(args.cluster_name, group.name).apply(
                    lambda a, s=size: json.dumps(
                        {
                            "ClusterName": a[0],
                            "NodegroupName": a[1],
                            "ScalingConfig": {"MinSize": s[0], "DesiredSize": s[0], "MaxSize": s[1]},
                        }
                    )
                )
                schedule(f"{suffix}-nodes-{i}", at, "eks:updateNodegroupConfig", body)
        db = pulumi.Output.from_input(args.database_identifier).apply(
            lambda ident: json.dumps({"DbInstanceIdentifier": ident})
        )
        schedule("sleep-database", end, "rds:stopDBInstance", db)
        schedule("wake-database", start, "rds:startDBInstance", db)

        self._drain(name, days, end, args.timezone, args.depends_on)
        self.awake_hours_per_week = awake_hours_per_week(args.working_hours)
        self.register_outputs({})

    def _drain(
        self, name: str, days: str, end: tuple[int, int], timezone: str, after: Sequence[pulumi.Resource]
    ) -> None:
        child = pulumi.ResourceOptions(parent=self, depends_on=list(after))
        labels = {"app.kubernetes.io/part-of": "airflow-mesh", "app.kubernetes.io/name": SERVICE_ACCOUNT}
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": SERVICE_ACCOUNT, "namespace": KARPENTER_NAMESPACE, "labels": labels},
            opts=child,
        )
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-clusterrole",
            metadata={"name": SERVICE_ACCOUNT, "labels": labels},
            rules=[{"apiGroups": ["karpenter.sh"], "resources": ["nodeclaims"], "verbs": ["list", "delete"]}],
            opts=child,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-binding",
            metadata={"name": SERVICE_ACCOUNT, "labels": labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": SERVICE_ACCOUNT},
            subjects=[{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": KARPENTER_NAMESPACE}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, sa, *after]),
        )
        first = minus_minutes(end, DRAIN_MINUTES)
        last = minus_minutes(end, 1)
        # One cron hour; the settings keep the end of the day off :01-:09 so the window never splits.
        assert first[0] == last[0], f"drain window {first}-{last} crosses an hour"
        minutes = f"{first[1]}-{last[1]}"
        k8s.batch.v1.CronJob(
            f"{name}-drain",
            metadata={"name": "drain-task-nodes", "namespace": KARPENTER_NAMESPACE, "labels": labels},
            spec={
                "schedule": f"{minutes} {first[0]} * * {days}",
                "timeZone": timezone,
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 50,
                "successfulJobsHistoryLimit": 1,
                "failedJobsHistoryLimit": 1,
                "jobTemplate": {
                    "spec": {
                        "backoffLimit": 0,
                        "activeDeadlineSeconds": 50,
                        "ttlSecondsAfterFinished": 600,
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {
                                "serviceAccountName": SERVICE_ACCOUNT,
                                "restartPolicy": "Never",
                                "nodeSelector": {NODE_ROLE_LABEL: SYSTEM_NODE_ROLE},
                                "securityContext": {
                                    "runAsNonRoot": True,
                                    "runAsUser": 65532,
                                    "seccompProfile": {"type": "RuntimeDefault"},
                                },
                                "containers": [
                                    {
                                        "name": "kubectl",
                                        "image": KUBECTL_IMAGE,
                                        "args": ["delete", "nodeclaims.karpenter.sh", "--all", "--wait=false"],
                                        "resources": {
                                            "requests": {"cpu": "10m", "memory": "32Mi"},
                                            "limits": {"memory": "64Mi"},
                                        },
                                        "securityContext": {
                                            "allowPrivilegeEscalation": False,
                                            "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]},
                                        },
                                    }
                                ],
                            },
                        },
                    }
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[sa, *after]),
        )


def scheduler_policy(database_arn: str, node_group_arns: Sequence[str]) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ScaleNodeGroups",
                "Effect": "Allow",
                "Action": ["eks:UpdateNodegroupConfig"],
                "Resource": list(node_group_arns),
            },
            {
                "Sid": "StopStartDatabase",
                "Effect": "Allow",
                "Action": ["rds:StopDBInstance", "rds:StartDBInstance"],
                "Resource": [database_arn],
            },
        ],
    }


def awake_hours_per_week(working_hours: str) -> float:
    """Hours a week the stack is awake under ``working_hours``."""
    days, start, end = parse(working_hours)
    names = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
    count = 0
    for part in days.split(","):
        a, _, b = part.partition("-")
        count += names.index(b) - names.index(a) + 1 if b else 1
    return count * ((end[0] * 60 + end[1]) - (start[0] * 60 + start[1])) / 60
