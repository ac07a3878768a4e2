"""Data stores: RDS encrypted and private (resilient in prod), prod data protected, KMS keys rotated."""

from __future__ import annotations

from collections.abc import Iterator

from .model import Resource, Rule, Stack, known, truthy

RDS = ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster")
KMS_KEY = "aws:kms/key:Key"
#: What `pulumi destroy` must never take in prod without someone first lifting `protect` on purpose.
PROD_PROTECTED = (
    *RDS,
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    KMS_KEY,
    "aws:route53/record:Record",
    "aws:route53/zone:Zone",
)
MIN_PROD_BACKUP_DAYS = 7


def check_rds_baseline(r: Resource, _stack: Stack) -> Iterator[str]:
    encrypted = r.get("storageEncrypted")
    if known(encrypted) and not truthy(encrypted):
        yield "storage is not encrypted (storageEncrypted=true, with the stack's KMS key)"
    public = r.get("publiclyAccessible")
    if known(public) and truthy(public):
        yield "the database is publicly accessible; it lives in private subnets only"


def check_rds_prod(r: Resource, stack: Stack) -> Iterator[str]:
    if not stack.is_prod:
        return
    if r.type == "aws:rds/instance:Instance":
        multi_az = r.get("multiAz")
        if known(multi_az) and not truthy(multi_az):
            yield "prod database is not Multi-AZ"
    protection = r.get("deletionProtection")
    if known(protection) and not truthy(protection):
        yield "prod database has no deletion protection"
    if truthy(r.get("skipFinalSnapshot")):
        yield "prod database skips the final snapshot on delete"
    days = r.get("backupRetentionPeriod")
    if known(days) and (not isinstance(days, (int, float)) or days < MIN_PROD_BACKUP_DAYS):
        yield f"prod backups are kept {days} days (at least {MIN_PROD_BACKUP_DAYS})"


def check_protected(r: Resource, stack: Stack) -> Iterator[str]:
    if stack.is_prod and not r.protect:
        yield "stateful prod resource is not `protect`ed: `pulumi destroy` or a replace would delete it"


def check_kms(r: Resource, stack: Stack) -> Iterator[str]:
    spec = r.get("customerMasterKeySpec") or r.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT":
        rotation = r.get("enableKeyRotation")
        if known(rotation) and not truthy(rotation):
            yield "automatic key rotation is off"
    window = r.get("deletionWindowInDays")
    if stack.is_prod and known(window) and window != 30:
        yield f"prod key deletion window is {window} days; use 30 so a mistaken deletion can be cancelled"


RULES = [
    Rule(
        name="rds-encrypted-and-private",
        description="Every RDS database is encrypted at rest and not publicly accessible.",
        check=check_rds_baseline,
        types=RDS,
    ),
    Rule(
        name="rds-prod-resilient",
        description="In prod, RDS is Multi-AZ, deletion-protected, keeps a final snapshot and 7+ days of backups.",
        check=check_rds_prod,
        types=RDS,
    ),
    Rule(
        name="prod-data-protected",
        description="In prod, databases, buckets, KMS keys and DNS records carry `protect`.",
        check=check_protected,
        types=PROD_PROTECTED,
        remediation="Pass protect=settings.is_prod (and retain_on_delete for data stores) to the resource options.",
    ),
    Rule(
        name="kms-key-rotation",
        description="Customer-managed symmetric KMS keys rotate yearly; prod keys have the 30-day deletion window.",
        check=check_kms,
        types=(KMS_KEY,),
    ),
]
