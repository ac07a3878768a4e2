"""The stack's region decides its partition: every AWS service the stack uses must exist there, and
every ARN a user gives must name that partition.

Which services exist where comes from botocore's ``endpoints.json`` (:func:`regions.offers`). On the
pinned botocore every service the stack uses is offered in every region of ``aws``, ``aws-cn`` and
``aws-us-gov``; EKS Pod Identity (``eks-auth``) is missing in the ``aws-iso*`` partitions, Route 53 and
IAM in ``aws-eusc``, so those combinations are refused here, naming the key that asks for the service.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from components import versions
from components.settings import regions

if TYPE_CHECKING:
    from components.settings.stack import Settings

#: Endpoint prefix -> what the stack uses it for. Every stack needs these.
ALWAYS: dict[str, str] = {
    "ec2": "EC2 (VPC, nodes)",
    "eks": "EKS",
    "iam": "IAM (workload roles)",
    "sts": "STS (IRSA credentials)",
    "s3": "S3 (task logs)",
    "kms": "KMS (encryption keys)",
    "rds": "RDS (Airflow's database)",
    "secretsmanager": "Secrets Manager (connections, variables)",
    "logs": "CloudWatch Logs (access trail, control-plane logs)",
    "monitoring": "CloudWatch (dashboard, alarms)",
    "xray": "X-Ray (the collector's traces)",
    "route53": "Route 53 (DNS-01 certificates, the edge record)",
    "elasticloadbalancing": "Elastic Load Balancing (the edge NLB)",
    "sqs": "SQS (Karpenter's interruption queue)",
    "events": "EventBridge (Karpenter's interruption rules)",
    "ssm": "SSM (Karpenter's AMI lookup)",
    "api.ecr": "ECR (node image pulls)",
}
#: Config key -> (value that needs the service, endpoint prefix, what it is).
WHEN: dict[str, tuple[str | None, str, str]] = {
    "identityMode": ("pod-identity", "eks-auth", "EKS Pod Identity"),
    "workingHours": (None, "scheduler", "EventBridge Scheduler (the sleep schedule)"),  # None: any non-empty
}
_ARN_PARTITION = re.compile(r"^arn:([a-z-]+):")


def partition_rules(s: Settings, add) -> None:
    region, part = s.region, s.partition
    where = f"{region} (partition {part.id}; botocore endpoints.json)"
    for service, what in ALWAYS.items():
        if not regions.offers(service, region):
            add("aws:region", f"{region!r}: {what} ({service}) has no endpoint in {where}")
    if part.id not in versions.RDS_CA_BUNDLE_URLS:
        add("aws:region", f"{region!r}: no RDS trust bundle is known for partition {part.id} (versions.py)")
    for key, (needs, service, what) in WHEN.items():
        value = getattr(s, _field(key))
        if value and (needs is None or value == needs) and not regions.offers(service, region):
            add(key, f"{value!r} needs {what} ({service}), which has no endpoint in {where}")

    arns = [("permissionsBoundaryArn", s.permissions_boundary_arn), ("alarmTopicArn", s.alarm_topic_arn)]
    arns += [(f"adminRoleArns[{i}]", arn) for i, arn in enumerate(s.admin_role_arns)]
    for key, arn in arns:
        found = _ARN_PARTITION.match(arn or "")
        if found and found.group(1) != part.id:
            add(key, f"{arn!r} is in partition {found.group(1)!r}, but {region} is in {part.id!r} (arn:{part.id}:...)")


def _field(key: str) -> str:
    return re.sub(r"[A-Z]", lambda m: f"_{m.group(0).lower()}", key)
