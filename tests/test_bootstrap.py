"""scripts/bootstrap-aws.sh, run against a stub `aws` that records every call: the state bucket is
private, versioned, KMS-encrypted and TLS-only; the GitHub roles trust exactly this repository's pull
requests (preview) and its stack environments (deployer); nothing is created twice."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from plan import harness

SCRIPT = harness.ROOT / "scripts" / "bootstrap-aws.sh"
STUB = """#!/usr/bin/env bash
printf '%s\\0' "$@" >> "$CALLS"; printf '\\036' >> "$CALLS"
case "$1 $2" in
  "sts get-caller-identity") echo 210987654321 ;;
  "kms create-key") echo arn:aws:kms:eu-west-1:210987654321:key/k-1 ;;
  "route53 create-hosted-zone") echo /hostedzone/Z0NEW ;;
  "route53 list-hosted-zones-by-name") echo None ;;
  "route53 get-hosted-zone") echo ns-1.awsdns-01.org ;;
  "kms describe-key") [ "${EXISTS:-1}" = 0 ] && echo arn:aws:kms:eu-west-1:210987654321:key/k-0 || exit 1 ;;
  s3api\\ head-bucket|"iam get-role"|"iam get-open-id-connect-provider") exit "${EXISTS:-1}" ;;
esac
"""


def run(tmp_path, *args, exists: bool = False) -> list[list[str]]:
    stub = tmp_path / "bin" / "aws"
    stub.parent.mkdir(parents=True, exist_ok=True)
    stub.write_text(STUB)
    stub.chmod(0o755)
    calls = tmp_path / "calls"
    calls.write_text("")
    env = {**os.environ, "PATH": f"{stub.parent}:{os.environ['PATH']}", "CALLS": str(calls), "AWS_REGION": "eu-west-1"}
    env["EXISTS"] = "0" if exists else "1"
    subprocess.run(["bash", str(SCRIPT), *args], env=env, check=True, capture_output=True, text=True)
    return [call.split("\0")[:-1] for call in calls.read_text().split("\x1e") if call]


def arg(call: list[str], flag: str) -> str:
    return call[call.index(flag) + 1]


def find(calls, *prefix):
    return [c for c in calls if c[: len(prefix)] == list(prefix)]


def test_state_bucket_is_private_versioned_encrypted_and_tls_only(tmp_path):
    calls = run(tmp_path, "state", "acme-pulumi-state")
    (create,) = find(calls, "s3api", "create-bucket")
    assert arg(create, "--create-bucket-configuration") == "LocationConstraint=eu-west-1"
    assert find(calls, "kms", "enable-key-rotation")
    assert arg(find(calls, "s3api", "put-bucket-versioning")[0], "--versioning-configuration") == "Status=Enabled"
    block = arg(find(calls, "s3api", "put-public-access-block")[0], "--public-access-block-configuration")
    assert block.count("=true") == 4
    sse = json.loads(arg(find(calls, "s3api", "put-bucket-encryption")[0], "--server-side-encryption-configuration"))
    assert sse["Rules"][0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"].endswith(":key/k-1")
    policy = json.loads(arg(find(calls, "s3api", "put-bucket-policy")[0], "--policy"))
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_an_existing_bucket_and_key_are_not_created_again(tmp_path):
    calls = run(tmp_path, "state", "acme-pulumi-state", exists=True)
    assert not find(calls, "s3api", "create-bucket") and not find(calls, "kms", "create-key")
    assert find(calls, "s3api", "put-bucket-policy"), "the settings are enforced on an existing bucket too"


def test_github_roles_trust_exactly_the_repository_and_its_stack_environments(tmp_path):
    calls = run(tmp_path, "github", "acme/airflow-platform", "dev", "qa", "prod")
    trusts = {
        arg(c, "--role-name"): json.loads(arg(c, "--assume-role-policy-document"))
        for c in find(calls, "iam", "create-role")
    }
    assert set(trusts) == {"github-actions-preview", "github-actions-deployer"}
    claims = "token.actions.githubusercontent.com"
    for doc in trusts.values():
        (statement,) = doc["Statement"]
        assert statement["Principal"]["Federated"].startswith("arn:aws:iam::210987654321:oidc-provider/")
        assert set(statement["Condition"]) == {"StringEquals"}, "no wildcard subjects"
        assert statement["Condition"]["StringEquals"][f"{claims}:aud"] == "sts.amazonaws.com"
    subject = lambda name: trusts[name]["Statement"][0]["Condition"]["StringEquals"][f"{claims}:sub"]  # noqa: E731
    assert subject("github-actions-preview") == ["repo:acme/airflow-platform:pull_request"]
    assert subject("github-actions-deployer") == [
        f"repo:acme/airflow-platform:environment:{s}" for s in ("dev", "qa", "prod")
    ]
    policies = {arg(c, "--role-name"): arg(c, "--policy-arn") for c in find(calls, "iam", "attach-role-policy")}
    assert policies["github-actions-preview"].endswith("/ReadOnlyAccess")


@pytest.mark.parametrize("bad", [["github", "not a repo", "dev"], ["github", "acme/x"], ["github", "acme/x", "Dev!"]])
def test_bad_arguments_stop_before_any_change(tmp_path, bad):
    with pytest.raises(subprocess.CalledProcessError):
        run(tmp_path, *bad)
    assert "create" not in (tmp_path / "calls").read_text()


def test_zone_prints_the_id_and_the_name_servers_to_delegate(tmp_path):
    calls = run(tmp_path, "zone", "data.acme.io")
    assert arg(find(calls, "route53", "create-hosted-zone")[0], "--name") == "data.acme.io"
    assert arg(find(calls, "route53", "get-hosted-zone")[0], "--id") == "Z0NEW"
