"""LogBucket: what protects the task logs, in every stack and on teardown."""

from __future__ import annotations

import json


def children(plan, _suffix=""):
    (bucket,) = [b for b in plan.of_type("aws:s3/bucket:Bucket") if b["name"].endswith("-logs-bucket")]
    return bucket, {r["type"].rsplit(":", 1)[1]: r for r in plan.resources if r["parent"] == bucket["parent"]}


def test_logs_are_encrypted_private_versioned_expiring_and_tls_only(plan):
    bucket, parts = children(plan, "logs")
    assert bucket["inputs"]["bucket"].startswith(f"airflow-mesh-{plan.stack}-") and bucket["inputs"]["bucket"].endswith(
        "-task-logs"
    )
    sse = parts["BucketServerSideEncryptionConfiguration"]["inputs"]["rules"][0]
    assert sse["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert sse["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith("arn:aws:kms:")
    block = parts["BucketPublicAccessBlock"]["inputs"]
    assert all(
        block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    assert parts["BucketOwnershipControls"]["inputs"]["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert parts["BucketVersioning"]["inputs"]["versioningConfiguration"] == {"status": "Enabled"}
    (rule,) = parts["BucketLifecycleConfiguration"]["inputs"]["rules"]
    retention = {"dev": 30, "staging": 90, "prod": 365}[plan.stack]
    assert rule["status"] == "Enabled" and rule["expiration"] == {"days": retention}
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    (deny,) = json.loads(parts["BucketPolicy"]["inputs"]["policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for part in parts.values():
        if part is not bucket and part["type"].startswith("aws:s3/"):
            assert bucket["name"] in part["dependsOn"], part["name"]


def test_prod_keeps_the_bucket_and_its_guarantees_dev_destroys_everything(plans):
    for stack, plan in plans.items():
        bucket, parts = children(plan, "logs")
        kept = {part["name"]: part["options"] for part in parts.values() if part["type"].startswith("aws:s3/")}
        if stack == "prod":
            assert bucket["inputs"]["forceDestroy"] is False
            assert all(o.get("protect") and o.get("retainOnDelete") for o in kept.values()), kept
        else:
            assert bucket["inputs"]["forceDestroy"] is True
            assert not any(o.get("protect") or o.get("retainOnDelete") for o in kept.values()), kept
