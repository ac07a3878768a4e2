"""S3: every bucket has SSE-KMS, a full public-access block and a TLS-only bucket policy.

With pulumi-aws 7 those are separate resources next to the bucket, so these are stack rules: a
companion belongs to the bucket its ``bucket`` input depends on (or names literally).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from .model import Resource, Rule, Stack, as_list, dig, known, statements, truthy

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
BUCKET_POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
_KMS = ("aws:kms", "aws:kms:dsse")
_BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def companions(bucket: Resource, resources: Sequence[Resource], types: tuple[str, ...]) -> list[Resource]:
    """The resources of ``types`` that configure ``bucket``."""
    name = bucket.get("bucket")
    return [
        r
        for r in resources
        if r.type in types
        and (r.depends_on_any([bucket.name], prop="bucket") or (known(name) and name and r.get("bucket") == name))
    ]


def _per_bucket(
    resources: Sequence[Resource], types: tuple[str, ...], ok: Callable[[Resource, list[Resource]], str | None]
) -> Iterator[tuple[Resource, str]]:
    for bucket in (r for r in resources if r.type in BUCKETS):
        problem = ok(bucket, companions(bucket, resources, types))
        if problem:
            yield bucket, problem


def _encrypted(bucket: Resource, configs: list[Resource]) -> str | None:
    inline = dig(bucket.props, "serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault.sseAlgorithm")
    algorithms = [inline] if inline else []
    for c in configs:
        algorithms += [dig(rule, "applyServerSideEncryptionByDefault.sseAlgorithm") for rule in as_list(c.get("rules"))]
    if any(not known(a) for a in algorithms):
        return None
    if not algorithms:
        return "no server-side encryption configuration (BucketServerSideEncryptionConfiguration with aws:kms)"
    if not all(a in _KMS for a in algorithms):
        return f"encrypted with {sorted(set(map(str, algorithms)))}; use SSE-KMS with the stack's own key"
    return None


def _blocked(_bucket: Resource, blocks: list[Resource]) -> str | None:
    if not blocks:
        return "no BucketPublicAccessBlock"
    open_flags = sorted({f for b in blocks for f in _BLOCKS if known(b.get(f)) and not truthy(b.get(f))})
    return f"public access block leaves {open_flags} off" if open_flags else None


def _tls_only(_bucket: Resource, policies: list[Resource]) -> str | None:
    for p in policies:
        if not known(p.get("policy")):
            return None
        for s in statements(p.get("policy")):
            secure = dig(s, "Condition.Bool", {}).get("aws:SecureTransport")
            if s.get("Effect") == "Deny" and str(secure).lower() == "false":
                return None
    return "no bucket policy denying requests without TLS (aws:SecureTransport = false)"


def check_encrypted(resources: Sequence[Resource], _stack: Stack) -> Iterator[tuple[Resource, str]]:
    yield from _per_bucket(resources, ENCRYPTION, _encrypted)


def check_public_access(resources: Sequence[Resource], _stack: Stack) -> Iterator[tuple[Resource, str]]:
    yield from _per_bucket(resources, PUBLIC_ACCESS_BLOCK, _blocked)


def check_tls_only(resources: Sequence[Resource], _stack: Stack) -> Iterator[tuple[Resource, str]]:
    yield from _per_bucket(resources, BUCKET_POLICY, _tls_only)


RULES = [
    Rule(
        name="s3-bucket-encrypted",
        description="Every S3 bucket has default encryption with SSE-KMS.",
        check=check_encrypted,
        scope="stack",
        remediation="Add aws.s3.BucketServerSideEncryptionConfiguration(sse_algorithm='aws:kms') for the bucket.",
    ),
    Rule(
        name="s3-public-access-blocked",
        description="Every S3 bucket has a public access block with all four settings on.",
        check=check_public_access,
        scope="stack",
        remediation="Add aws.s3.BucketPublicAccessBlock with block/ignore/restrict all true.",
    ),
    Rule(
        name="s3-tls-only",
        description="Every S3 bucket's policy denies requests that do not use TLS.",
        check=check_tls_only,
        scope="stack",
    ),
]
