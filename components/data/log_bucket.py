"""LogBucket: the S3 bucket that holds Airflow's remote task logs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.kms import customer_key


@dataclass(frozen=True)
class LogBucketArgs:
    """Inputs of :class:`LogBucket`."""

    #: Fixed bucket name (IAM policies name it before it exists), derived from project, stack and account.
    bucket_name: str
    #: Days before task logs expire.
    retention_days: int
    #: Prod: protect bucket and key and retain them when the stack is destroyed.
    protect: bool


class LogBucket(pulumi.ComponentResource):
    """SSE-KMS, versioned, public-access-blocked, TLS-only bucket with lifecycle rules.

    Dev buckets are ``force_destroy`` (logs are disposable there); prod buckets are protected and
    retained on delete, and so is their key, so ``pulumi destroy`` can never take the logs with it.

    Outputs: ``bucket_name``, ``bucket_arn``, ``key_arn``.
    """

    def __init__(self, name: str, args: LogBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:airflow:LogBucket", name, None, opts)
        keep = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)
        # A retained bucket keeps its guarantees too (public-access block, TLS-only policy, encryption).

        key = customer_key(
            f"{name}-key", f"Airflow task logs in s3://{args.bucket_name}", args.bucket_name, args.protect, self
        )
        bucket = aws.s3.Bucket(f"{name}-bucket", bucket=args.bucket_name, force_destroy=not args.protect, opts=keep)
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=keep,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=keep
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=keep,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=keep
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-task-logs",
                    "status": "Enabled",
                    "filter": {},
                    "expiration": {"days": args.retention_days},
                    "noncurrent_version_expiration": {"noncurrent_days": 30},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=keep,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            ),
            opts=keep,
        )

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.key_arn = key.arn
        self.register_outputs({"bucket_name": self.bucket_name, "key_arn": self.key_arn})
