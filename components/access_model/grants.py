"""IAM grant templates the access model hands its workloads: Airflow secrets, task logs, a domain's data.

Each returns :class:`~components.access_model.model.Grant` templates whose :class:`Ref` slots
(``region``, ``account``, ``logs_bucket``, ``logs_key_arn``, ``secrets_key_arn``) the identity layer
fills once the resources exist (:func:`~components.access_model.model.render_policy`). User strings
(bucket names, prefixes, secret prefixes) are literal parts, never templates. ARNs and service hosts
are written by the stack's :class:`~components.settings.regions.Partition` (``arn:aws-cn:``,
``secretsmanager.<region>.amazonaws.com.cn``), handed in as ``part``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.access_model.model import Grant, Ref
from components.platform import LOG_PREFIX

if TYPE_CHECKING:
    from components.settings.domains import DomainConfig
    from components.settings.regions import Partition

REGION, ACCOUNT = Ref("region"), Ref("account")
LOGS_BUCKET, LOGS_KEY_ARN, SECRETS_KEY_ARN = Ref("logs_bucket"), Ref("logs_key_arn"), Ref("secrets_key_arn")


def _logs_bucket_arn(part: Partition) -> tuple[str | Ref, ...]:
    return (part.arn("s3", ""), LOGS_BUCKET)


def secrets_read_grants(
    part: Partition, stack_prefix: str, sub: str, exclude: tuple[str, ...] = ()
) -> tuple[Grant, ...]:
    """Read the stack's connections and variables (below ``sub`` if given, never below ``exclude``)
    and decrypt them."""
    read = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")
    secret_arn = (f"arn:{part.id}:secretsmanager:", REGION, ":", ACCOUNT, ":secret:")
    via_secrets = {"StringEquals": {"kms:ViaService": ("secretsmanager.", REGION, f".{part.dns_suffix}")}}

    def under(prefix: str) -> tuple[str, ...]:
        prefix = f"{prefix.strip('/')}/" if prefix else ""
        return tuple((*secret_arn, f"{stack_prefix}/{kind}/{prefix}*") for kind in ("connections", "variables"))

    grants = [Grant("ReadAirflowSecrets", read, under(sub))]
    if exclude:
        denied = tuple(arn for prefix in exclude for arn in under(prefix))
        grants.append(Grant("NeverDomainSecrets", read, denied, effect="Deny"))
    grants.append(Grant("DecryptAirflowSecrets", ("kms:Decrypt",), (SECRETS_KEY_ARN,), via_secrets))
    return tuple(grants)


def logs_read(part: Partition) -> tuple[Grant, ...]:
    bucket_arn = _logs_bucket_arn(part)
    return (
        Grant("ReadTaskLogs", ("s3:GetObject",), ((*bucket_arn, f"/{LOG_PREFIX}/*"),)),
        Grant(
            "ListTaskLogs",
            ("s3:ListBucket",),
            (bucket_arn,),
            {"StringLike": {"s3:prefix": [f"{LOG_PREFIX}/*"]}},
        ),
        Grant("DecryptTaskLogs", ("kms:Decrypt",), (LOGS_KEY_ARN,)),
    )


def logs_write(part: Partition, dag_prefix: str, exclude: tuple[str, ...] = ()) -> tuple[Grant, ...]:
    """Write and read task logs, only below ``logs/dag_id=<dag_prefix>`` and never below
    ``logs/dag_id=<p>`` for a ``p`` in ``exclude`` (an explicit Deny: the platform's prefix ``""``
    covers every domain's, and only a domain may write or read its own task logs)."""
    bucket_arn = _logs_bucket_arn(part)
    objects = (*bucket_arn, f"/{LOG_PREFIX}/dag_id={dag_prefix}*")
    grants = [
        Grant("WriteTaskLogs", ("s3:PutObject", "s3:GetObject"), (objects,)),
        Grant(
            "ListOwnTaskLogs",
            ("s3:ListBucket",),
            (bucket_arn,),
            {"StringLike": {"s3:prefix": [f"{LOG_PREFIX}/dag_id={dag_prefix}*"]}},
        ),
        Grant("EncryptTaskLogs", ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"), (LOGS_KEY_ARN,)),
    ]
    if exclude:
        denied = tuple((*bucket_arn, f"/{LOG_PREFIX}/dag_id={p}*") for p in exclude)
        grants.append(
            Grant("NeverDomainTaskLogs", ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"), denied, effect="Deny")
        )
        grants.append(
            Grant(
                "NeverListDomainTaskLogs",
                ("s3:ListBucket",),
                (bucket_arn,),
                {"StringLike": {"s3:prefix": [f"{LOG_PREFIX}/dag_id={p}*" for p in exclude]}},
                effect="Deny",
            )
        )
    return tuple(grants)


def domain_grants(part: Partition, stack_prefix: str, domain: DomainConfig) -> tuple[Grant, ...]:
    grants: list[Grant] = []
    for i, s3 in enumerate(domain.s3):
        bucket = part.arn("s3", s3.bucket)
        objects = tuple(f"{bucket}/{p}*" for p in s3.prefixes)
        actions = ("s3:GetObject",) if s3.access == "read" else ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
        grants.append(Grant(f"Objects{i}", actions, objects))
        prefixes = [f"{p}*" for p in s3.prefixes]
        condition = None if prefixes == ["*"] else {"StringLike": {"s3:prefix": prefixes}}
        grants.append(Grant(f"List{i}", ("s3:ListBucket",), (bucket,), condition))
    grants.extend(secrets_read_grants(part, stack_prefix, domain.secrets_prefix))
    # DAG ids of a domain start with "<domain>_": its task logs land under that prefix only.
    grants.extend(logs_write(part, f"{domain.name}_"))
    return tuple(grants)


def collector_grants(part: Partition, log_groups: tuple[str, ...], stream_prefix: str) -> tuple[Grant, ...]:
    """What the OpenTelemetry Collector may do: write its own streams of the stack's log groups, send traces.

    - ``awscloudwatchlogs`` (access trail) and ``awsemf`` (metrics as embedded metric format) both write
      with ``PutLogEvents`` and create a missing stream with ``CreateLogStream``; every collector names
      its streams ``<stream_prefix><node>``, so only those streams are writable. The groups are created
      by the program: ``CreateLogGroup`` and ``PutRetentionPolicy`` are not granted. Metrics travel as EMF
      log events, so ``cloudwatch:PutMetricData`` is not needed at all: CloudWatch extracts them from the
      metrics group under the namespace the collector sets.
    - ``awsxray``: ``PutTraceSegments`` and ``PutTelemetryRecords`` support no resource-level
      permissions (Service Authorization Reference, AWS X-Ray), hence ``*``.
    """
    group_arns = tuple((f"arn:{part.id}:logs:", REGION, ":", ACCOUNT, f":log-group:{group}") for group in log_groups)
    streams = tuple((*arn, f":log-stream:{stream_prefix}*") for arn in group_arns)
    return (
        # CreateLogStream is authorized against the group (Service Authorization Reference) or the stream.
        Grant("CreateOwnLogStreams", ("logs:CreateLogStream",), (*group_arns, *streams)),
        Grant("WriteOwnLogStreams", ("logs:PutLogEvents",), streams),
        Grant("SendTraces", ("xray:PutTraceSegments", "xray:PutTelemetryRecords"), ("*",)),
    )


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------
