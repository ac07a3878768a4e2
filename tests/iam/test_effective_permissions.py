"""What each workload role can and cannot do, proven against moto's IAM.

1. IAM accepts every trust and permission policy the program renders (moto validates documents).
2. parliament finds nothing of medium severity or worse in any of them.
3. Probes, each an allowed call or its nearest forbidden neighbour:
   - S3 probes are real API calls with the role's own credentials (AssumeRoleWithWebIdentity) and
     moto's IAM authorization enforced: moto checks the action against the object or bucket ARN.
   - Secrets Manager, KMS and Route 53 probes go through moto's policy evaluator with the real
     resource ARN, because moto's handlers for those services authorize against "*" only.
   moto does not evaluate condition keys (s3:prefix, kms:ViaService), so probes never rely on a
   condition to deny; the conditions themselves are asserted in tests/components/identity/test_identity.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import boto3
import parliament
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import disable_iam_authentication, enable_iam_authentication
from moto.iam.access_control import IAMPolicy, PermissionResult

from plan.mocks import RealisticMocks
from tests.iam.roles import RoleDocs, workload_roles

REGION = "us-east-1"
ACCOUNT = "111122223333"  # the dev stack's awsAccountId
LOGS = f"airflow-mesh-dev-{ACCOUNT}-task-logs"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
ZONE = "Z0DEV00000000EXAMPLE"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"


@dataclass(frozen=True)
class S3Probe:
    workload: str
    action: str
    bucket: str
    key: str | None
    allowed: bool


@dataclass(frozen=True)
class PolicyProbe:
    workload: str
    action: str
    resource: str
    allowed: bool


def s3(workload, action, bucket, key, allowed):
    return S3Probe(workload, action, bucket, key, allowed)


ALLOW, DENY = True, False
LOG = "logs/dag_id=etl/run_id=1/task_id=t/attempt=1.log"

S3_PROBES = [
    # default task pods: their log prefix, nothing else
    s3("airflow-worker", "PutObject", LOGS, LOG, ALLOW),
    s3("airflow-worker", "GetObject", LOGS, LOG, ALLOW),
    s3("airflow-worker", "PutObject", LOGS, "dags/etl.py", DENY),
    s3("airflow-worker", "DeleteObject", LOGS, LOG, DENY),
    s3("airflow-worker", "PutObject", "example-finance-dev", "ledger/x.csv", DENY),
    s3("airflow-worker", "DeleteBucket", LOGS, None, DENY),
    # triggerer writes trigger output into task logs
    s3("airflow-triggerer", "PutObject", LOGS, LOG, ALLOW),
    s3("airflow-triggerer", "PutObject", LOGS, "other/x", DENY),
    s3("airflow-triggerer", "DeleteBucket", LOGS, None, DENY),
    # api-server reads task logs for the UI, never writes
    s3("airflow-api-server", "GetObject", LOGS, LOG, ALLOW),
    s3("airflow-api-server", "PutObject", LOGS, LOG, DENY),
    s3("airflow-api-server", "DeleteObject", LOGS, LOG, DENY),
    s3("airflow-api-server", "GetObject", "example-mkt-raw-dev", "events/e.json", DENY),
    # scheduler and dag-processor never touch task logs or data
    s3("airflow-scheduler", "GetObject", LOGS, LOG, DENY),
    s3("airflow-dag-processor", "GetObject", LOGS, LOG, DENY),
    # marketing: reads raw events, writes curated, writes only its own DAGs' logs
    s3("domain-marketing", "GetObject", "example-mkt-raw-dev", "events/e.json", ALLOW),
    s3("domain-marketing", "GetObject", "example-mkt-raw-dev", "pii/users.csv", DENY),
    s3("domain-marketing", "PutObject", "example-mkt-raw-dev", "events/e.json", DENY),
    s3("domain-marketing", "PutObject", "example-mkt-curated-dev", "daily/part-0.parquet", ALLOW),
    s3("domain-marketing", "DeleteObject", "example-mkt-curated-dev", "daily/part-0.parquet", ALLOW),
    s3("domain-marketing", "GetObject", "example-finance-dev", "ledger/x.csv", DENY),
    s3("domain-marketing", "PutObject", LOGS, "logs/dag_id=marketing_daily/run_id=1/t.log", ALLOW),
    s3("domain-marketing", "PutObject", LOGS, "logs/dag_id=finance_close/run_id=1/t.log", DENY),
    s3("domain-marketing", "DeleteBucket", "example-mkt-curated-dev", None, DENY),
    # finance: its ledger and reports, nothing of marketing's
    s3("domain-finance", "PutObject", "example-finance-dev", "ledger/2026-11.csv", ALLOW),
    s3("domain-finance", "GetObject", "example-finance-dev", "reports/q3.pdf", ALLOW),
    s3("domain-finance", "PutObject", "example-finance-dev", "payroll/2026-11.csv", DENY),
    s3("domain-finance", "GetObject", "example-mkt-curated-dev", "daily/part-0.parquet", DENY),
    s3("domain-finance", "PutObject", LOGS, "logs/dag_id=finance_close/run_id=1/t.log", ALLOW),
    s3("domain-finance", "PutObject", LOGS, "logs/dag_id=marketing_daily/run_id=1/t.log", DENY),
    s3("domain-finance", "DeleteBucket", "example-finance-dev", None, DENY),
    # issue 13, example 4: the platform's task pods and triggerer never read or overwrite a domain's
    # task logs (explicit Deny under their write-everything grant); the api-server reads them for the UI
    s3("airflow-worker", "GetObject", LOGS, "logs/dag_id=marketing_daily/run_id=1/t.log", DENY),
    s3("airflow-worker", "PutObject", LOGS, "logs/dag_id=marketing_daily/run_id=1/t.log", DENY),
    s3("airflow-worker", "PutObject", LOGS, "logs/dag_id=finance_close/run_id=1/t.log", DENY),
    s3("airflow-worker", "PutObject", LOGS, "logs/dag_id=platform_report/run_id=1/t.log", ALLOW),
    s3("airflow-triggerer", "GetObject", LOGS, "logs/dag_id=finance_close/run_id=1/t.log", DENY),
    s3("airflow-triggerer", "PutObject", LOGS, "logs/dag_id=marketing_daily/run_id=1/t.log", DENY),
    s3("airflow-api-server", "GetObject", LOGS, "logs/dag_id=marketing_daily/run_id=1/t.log", ALLOW),
    s3("airflow-api-server", "GetObject", LOGS, "logs/dag_id=finance_close/run_id=1/t.log", ALLOW),
    s3("domain-marketing", "GetObject", LOGS, "logs/dag_id=finance_close/run_id=1/t.log", DENY),
    s3("domain-finance", "GetObject", LOGS, "logs/dag_id=finance_close/run_id=1/t.log", ALLOW),
    # cert-manager and the collector have no business in S3
    s3("cert-manager", "GetObject", LOGS, LOG, DENY),
    s3("otel-collector", "GetObject", LOGS, LOG, DENY),
]

CONNECTION = SECRET + "airflow/dev/connections/warehouse-AbCdEf"
POLICY_PROBES = [
    PolicyProbe(w, "secretsmanager:GetSecretValue", CONNECTION, ALLOW)
    for w in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker")
] + [
    PolicyProbe("airflow-worker", "secretsmanager:GetSecretValue", SECRET + "airflow/dev/variables/env-AbCdEf", ALLOW),
    PolicyProbe("airflow-worker", "secretsmanager:GetSecretValue", SECRET + "airflow/prod/connections/db-AbCdEf", DENY),
    PolicyProbe("airflow-worker", "secretsmanager:GetSecretValue", SECRET + "rds!db-credentials-AbCdEf", DENY),
    PolicyProbe("airflow-worker", "secretsmanager:PutSecretValue", CONNECTION, DENY),
    # platform roles read the stack's secrets, but never a domain's (explicit Deny)
    PolicyProbe(
        "airflow-worker", "secretsmanager:GetSecretValue", SECRET + "airflow/dev/connections/marketing/ads-AbCdEf", DENY
    ),
    PolicyProbe(
        "airflow-dag-processor",
        "secretsmanager:GetSecretValue",
        SECRET + "airflow/dev/variables/finance/fx-AbCdEf",
        DENY,
    ),
    PolicyProbe(
        "airflow-api-server",
        "secretsmanager:GetSecretValue",
        SECRET + "airflow/dev/connections/finance/erp-AbCdEf",
        DENY,
    ),
    PolicyProbe("airflow-scheduler", "secretsmanager:DeleteSecret", CONNECTION, DENY),
    PolicyProbe(
        "domain-marketing",
        "secretsmanager:GetSecretValue",
        SECRET + "airflow/dev/connections/marketing/ads-AbCdEf",
        ALLOW,
    ),
    PolicyProbe(
        "domain-marketing", "secretsmanager:GetSecretValue", SECRET + "airflow/dev/connections/finance/erp-AbCdEf", DENY
    ),
    PolicyProbe("domain-marketing", "secretsmanager:GetSecretValue", CONNECTION, DENY),
    PolicyProbe(
        "domain-finance", "secretsmanager:GetSecretValue", SECRET + "airflow/dev/variables/finance/fx-AbCdEf", ALLOW
    ),
    PolicyProbe(
        "domain-finance", "secretsmanager:GetSecretValue", SECRET + "airflow/dev/variables/marketing/x-AbCdEf", DENY
    ),
    PolicyProbe("domain-finance", "secretsmanager:ListSecrets", "*", DENY),
    PolicyProbe("cert-manager", "secretsmanager:GetSecretValue", CONNECTION, DENY),
    PolicyProbe("cert-manager", "route53:ChangeResourceRecordSets", f"arn:aws:route53:::hostedzone/{ZONE}", ALLOW),
    PolicyProbe(
        "cert-manager", "route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z0OTHERZONE0000", DENY
    ),
    PolicyProbe("cert-manager", "route53:GetChange", "arn:aws:route53:::change/C123", ALLOW),
    PolicyProbe("cert-manager", "route53:ListHostedZonesByName", "*", ALLOW),
    PolicyProbe("cert-manager", "route53:DeleteHostedZone", f"arn:aws:route53:::hostedzone/{ZONE}", DENY),
    PolicyProbe("cert-manager", "route53:CreateHostedZone", "*", DENY),
    PolicyProbe("airflow-scheduler", "kms:ScheduleKeyDeletion", "{secrets_key_arn}", DENY),
    PolicyProbe("airflow-worker", "kms:Decrypt", "{secrets_key_arn}", ALLOW),
    PolicyProbe("airflow-worker", "kms:Decrypt", "{cluster_key_arn}", DENY),
    PolicyProbe("airflow-api-server", "kms:Decrypt", "{logs_key_arn}", ALLOW),
    PolicyProbe("airflow-api-server", "kms:Encrypt", "{logs_key_arn}", DENY),
    # Karpenter: launch into this region's subnets, read its own queue, pass only the task-node role,
    # describe only its own cluster, encrypt node volumes with their key and nothing else. Its tag
    # conditions (which moto does not evaluate) are asserted in tests/components/capacity.
    PolicyProbe("karpenter", "ec2:RunInstances", f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0abc", ALLOW),
    PolicyProbe("karpenter", "ec2:RunInstances", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:subnet/subnet-0abc", DENY),
    PolicyProbe("karpenter", "sqs:ReceiveMessage", "{karpenter_queue_arn}", ALLOW),
    PolicyProbe("karpenter", "sqs:DeleteMessage", "{karpenter_queue_arn}", ALLOW),
    PolicyProbe("karpenter", "sqs:SendMessage", "{karpenter_queue_arn}", DENY),
    PolicyProbe("karpenter", "sqs:ReceiveMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:someone-elses-queue", DENY),
    PolicyProbe("karpenter", "iam:PassRole", "{karpenter_node_role_arn}", ALLOW),
    PolicyProbe("karpenter", "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/platform-admin", DENY),
    PolicyProbe("karpenter", "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/x", DENY),
    PolicyProbe("karpenter", "eks:DescribeCluster", f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/airflow-mesh-dev", ALLOW),
    PolicyProbe("karpenter", "eks:DescribeCluster", f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/other", DENY),
    PolicyProbe("karpenter", "eks:DeleteCluster", f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/airflow-mesh-dev", DENY),
    PolicyProbe("karpenter", "kms:CreateGrant", "{node_volume_key_arn}", ALLOW),
    PolicyProbe("karpenter", "kms:Decrypt", "{secrets_key_arn}", DENY),
    PolicyProbe("karpenter", "kms:ScheduleKeyDeletion", "{node_volume_key_arn}", DENY),
    PolicyProbe("karpenter", "secretsmanager:GetSecretValue", CONNECTION, DENY),
    PolicyProbe("karpenter", "ec2:DeleteVpc", f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0abc", DENY),
    # the collector: its own streams of the stack's two log groups, X-Ray, nothing else
    *[
        PolicyProbe("otel-collector", action, f"{LOG_GROUP}/airflow-mesh/dev/{group}{stream}", allowed)
        for group in ("access-trail", "metrics")
        for action, stream, allowed in (
            ("logs:PutLogEvents", ":log-stream:collector-ip-10-0-1-7.ec2.internal", ALLOW),
            ("logs:CreateLogStream", ":log-stream:collector-ip-10-0-1-7.ec2.internal", ALLOW),
            ("logs:CreateLogStream", "", ALLOW),
            ("logs:PutLogEvents", ":log-stream:someone-else", DENY),
            ("logs:DeleteLogGroup", "", DENY),
            ("logs:PutRetentionPolicy", "", DENY),
        )
    ],
    PolicyProbe("otel-collector", "logs:PutLogEvents", f"{LOG_GROUP}/aws/eks/x/cluster:log-stream:collector-a", DENY),
    PolicyProbe(
        "otel-collector",
        "logs:PutLogEvents",
        f"{LOG_GROUP}/airflow-mesh/prod/access-trail:log-stream:collector-a",
        DENY,
    ),
    PolicyProbe("otel-collector", "logs:CreateLogGroup", f"{LOG_GROUP}/airflow-mesh/dev/other", DENY),
    PolicyProbe("otel-collector", "xray:PutTraceSegments", "*", ALLOW),
    PolicyProbe("otel-collector", "xray:PutTelemetryRecords", "*", ALLOW),
    PolicyProbe("otel-collector", "xray:BatchGetTraces", "*", DENY),
    # metrics travel as EMF log events: no PutMetricData at all, in any namespace
    PolicyProbe("otel-collector", "cloudwatch:PutMetricData", "*", DENY),
    PolicyProbe("otel-collector", "secretsmanager:GetSecretValue", CONNECTION, DENY),
    PolicyProbe("otel-collector", "kms:Decrypt", "{logs_key_arn}", DENY),
    # The EBS CSI driver creates encrypted volumes with the volume key, and with no other key.
    PolicyProbe("aws-ebs-csi-driver", "kms:GenerateDataKeyWithoutPlaintext", "{volumes_key_arn}", ALLOW),
    PolicyProbe("aws-ebs-csi-driver", "kms:Decrypt", "{volumes_key_arn}", ALLOW),
    PolicyProbe("aws-ebs-csi-driver", "kms:Decrypt", "{cluster_key_arn}", DENY),
    PolicyProbe("aws-ebs-csi-driver", "kms:Decrypt", "{secrets_key_arn}", DENY),
    PolicyProbe("aws-ebs-csi-driver", "kms:ScheduleKeyDeletion", "{volumes_key_arn}", DENY),
]
#: parliament findings reviewed and accepted, per (workload, issue), with the reason.
REVIEWED_FINDINGS = {
    ("karpenter", "RESOURCE_MISMATCH"): (
        "upstream's policy (karpenter/1.14.1/docs/cloudformation.yaml) authorises RunInstances/CreateFleet "
        "across statements, each scoped by its own tag condition; parliament checks each statement alone. "
        "SSM public parameters have no account in their ARN (arn:aws:ssm:<region>::parameter/aws/service/*)."
    ),
}


@pytest.fixture(scope="module")
def roles(plans) -> dict[str, RoleDocs]:
    return workload_roles(plans["dev"])


@pytest.fixture(scope="module")
def key_arns(plans) -> dict[str, str]:
    """The KMS key ARNs the dev plan's mocks gave each key, by role in the policies."""
    mocks = RealisticMocks(REGION)
    arns = {k["name"]: mocks._aws_kms_key_Key(k["name"], {})[1]["arn"] for k in plans["dev"].of_type("aws:kms/key:Key")}
    prefix = "airflow-mesh-dev"
    return {
        "secrets_key_arn": arns[f"{prefix}-secrets-key"],
        "logs_key_arn": arns[f"{prefix}-logs-key"],
        "cluster_key_arn": arns[f"{prefix}-cluster-secrets-key"],
        "node_volume_key_arn": arns[f"{prefix}-karpenter-aws-volume-key"],
        "karpenter_queue_arn": mocks._aws_sqs_queue_Queue("q", {"name": prefix})[1]["arn"],
        "karpenter_node_role_arn": mocks._aws_iam_role_Role(f"{prefix}-karpenter-aws-node-role", {})[1]["arn"],
        "volumes_key_arn": arns[f"{prefix}-cluster-volumes-key"],
    }


@pytest.fixture(scope="module")
def aws(monkeypatch_module, roles):
    """moto with every role created from its rendered documents, and each role's credentials."""
    with mock_aws():
        with disable_iam_authentication():
            iam = boto3.client("iam", region_name=REGION)
            sts = boto3.client("sts", region_name=REGION)
            s3_admin = boto3.client("s3", region_name=REGION)
            credentials = {}
            for workload, docs in roles.items():
                arn = iam.create_role(RoleName=docs.role[:64], AssumeRolePolicyDocument=json.dumps(docs.trust))["Role"][
                    "Arn"
                ]
                if docs.policy:
                    iam.put_role_policy(
                        RoleName=docs.role[:64], PolicyName="workload", PolicyDocument=json.dumps(docs.policy)
                    )
                credentials[workload] = sts.assume_role_with_web_identity(
                    RoleArn=arn, RoleSessionName=f"probe-{workload}"[:64], WebIdentityToken="projected-sa-token"
                )["Credentials"]
            for bucket in {p.bucket for p in S3_PROBES}:
                s3_admin.create_bucket(Bucket=bucket)
            for p in S3_PROBES:
                if p.key:
                    s3_admin.put_object(Bucket=p.bucket, Key=p.key, Body=b"seed")
        yield credentials


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            mp.setenv(var, "testing")
        mp.delenv("AWS_PROFILE", raising=False)
        yield mp


def test_iam_accepts_every_rendered_policy(plans, monkeypatch_module):
    """IAM (moto's document validator) accepts every trust and permission policy of every stack."""
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        created = 0
        for stack, plan in plans.items():
            for docs in workload_roles(plan).values():
                name = f"{stack}-{docs.workload}"[:64]
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(docs.trust))
                if docs.policy:
                    iam.put_role_policy(RoleName=name, PolicyName="workload", PolicyDocument=json.dumps(docs.policy))
                created += 1
        assert created >= 30


def test_iam_rejects_a_malformed_policy(monkeypatch_module):
    """The acceptance test above can fail: moto does validate documents."""
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
        bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Put Object", "Resource": "x"}]}
        with pytest.raises(ClientError, match="MalformedPolicyDocument"):
            iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=json.dumps(bad))


def test_parliament_finds_nothing_medium_or_worse(plans):
    """parliament lints permission policies (identity policies). It does not understand trust
    policies (it demands a Resource and knows only SAML as a federation source), so those are held
    to stricter, specific rules in tests/components/cluster/test_workload_role.py instead."""
    findings, linted = [], 0
    for stack, plan in plans.items():
        for docs in workload_roles(plan).values():
            if not docs.policy:
                continue
            linted += 1
            for finding in parliament.analyze_policy_string(json.dumps(docs.policy)).findings:
                if failing(finding.issue) and (docs.workload, finding.issue) not in REVIEWED_FINDINGS:
                    findings.append((stack, docs.workload, finding.issue, finding.detail))
    assert findings == []
    assert linted >= 25


def failing(issue: str) -> bool:
    """Medium severity or worse; also a misspelt action or service (LOW in parliament, a bug here)."""
    severity = parliament.config.get(issue, {}).get("severity", "UNKNOWN")
    return severity not in ("LOW", "INFO") or issue in {"UNKNOWN_ACTION", "UNKNOWN_PREFIX"}


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket-without-key"},
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
            "Condition": {"StringEqualz": {"a": "b"}},
        },
    ],
)
def test_parliament_would_catch_a_bad_policy(statement):
    bad = {"Version": "2012-10-17", "Statement": [statement]}
    assert any(failing(f.issue) for f in parliament.analyze_policy_string(json.dumps(bad)).findings)


@pytest.mark.parametrize("probe", S3_PROBES, ids=lambda p: f"{p.workload}:{p.action}:{p.bucket}/{p.key}:{p.allowed}")
def test_s3_probe_with_authorization_enforced(aws, probe):
    creds = aws[probe.workload]
    client = boto3.client(
        "s3",
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    call = {
        "PutObject": lambda: client.put_object(Bucket=probe.bucket, Key=probe.key, Body=b"x"),
        "GetObject": lambda: client.get_object(Bucket=probe.bucket, Key=probe.key),
        "DeleteObject": lambda: client.delete_object(Bucket=probe.bucket, Key=probe.key),
        "DeleteBucket": lambda: client.delete_bucket(Bucket=probe.bucket),
    }[probe.action]
    with enable_iam_authentication():
        if probe.allowed:
            call()
        else:
            with pytest.raises(ClientError, match="AccessDenied"):
                call()


@pytest.mark.parametrize("probe", POLICY_PROBES, ids=lambda p: f"{p.workload}:{p.action}:{p.resource}:{p.allowed}")
def test_policy_probe_through_moto_evaluator(roles, key_arns, probe):
    docs = roles[probe.workload]
    resource = probe.resource.format(**key_arns)
    result = IAMPolicy(json.dumps(docs.policy)).is_action_permitted(probe.action, resource)
    assert (result == PermissionResult.PERMITTED) is probe.allowed, result


def test_enough_probes_cover_every_role(roles):
    probes = [*S3_PROBES, *POLICY_PROBES]
    assert len(probes) >= 40
    workloads_with_grants = {w for w, d in roles.items() if d.policy}
    assert workloads_with_grants <= {p.workload for p in probes}
    assert {p.allowed for p in probes} == {True, False}
    for workload in workloads_with_grants:
        assert any(p.allowed for p in probes if p.workload == workload), workload
        assert any(not p.allowed for p in probes if p.workload == workload), workload
