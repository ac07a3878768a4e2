#!/usr/bin/env bash
# Bootstrap one AWS account for airflow-mesh, before the first `pulumi up` (README: "Bootstrap from an
# empty account"). Each step is idempotent: it looks before it creates, and prints what it did.
#
#   scripts/bootstrap-aws.sh state  BUCKET              S3 state backend + KMS key for stack secrets
#   scripts/bootstrap-aws.sh github OWNER/REPO STACK... GitHub OIDC provider, preview + deployer roles
#   scripts/bootstrap-aws.sh zone   ZONE_NAME           Route 53 hosted zone (prints its NS records)
#
# Needs the AWS CLI v2 with credentials of an administrator of the account, and AWS_REGION set.
# Pulumi's S3 backend locks a stack while an update runs with a lock object in the same bucket
# (pulumi/pulumi `pkg/backend/diy` lock files), so no DynamoDB table is needed.
set -euo pipefail

die() { echo "error: $*" >&2; exit 1; }
say() { echo "==> $*"; }
: "${AWS_REGION:?set AWS_REGION (e.g. us-east-1)}"
account() { aws sts get-caller-identity --query Account --output text; }

# --- state backend ---------------------------------------------------------------------------------
state() {
  local bucket="${1:?usage: state BUCKET}" alias="alias/pulumi-state-airflow-mesh" key
  if aws s3api head-bucket --bucket "$bucket" 2>/dev/null; then
    say "bucket s3://$bucket exists"
  else
    say "creating s3://$bucket"
    if [ "$AWS_REGION" = us-east-1 ]; then
      aws s3api create-bucket --bucket "$bucket" >/dev/null
    else
      aws s3api create-bucket --bucket "$bucket" --create-bucket-configuration "LocationConstraint=$AWS_REGION" >/dev/null
    fi
  fi
  key=$(aws kms describe-key --key-id "$alias" --query KeyMetadata.Arn --output text 2>/dev/null || true)
  if [ -z "$key" ] || [ "$key" = None ]; then
    say "creating the KMS key $alias (state encryption and the stacks' secrets provider)"
    key=$(aws kms create-key --description "Pulumi state and stack secrets of airflow-mesh" --query KeyMetadata.Arn --output text)
    aws kms enable-key-rotation --key-id "$key"
    aws kms create-alias --alias-name "$alias" --target-key-id "$key"
  fi
  # Versioning keeps every earlier state file: a bad update can be rolled back by hand.
  aws s3api put-bucket-versioning --bucket "$bucket" --versioning-configuration Status=Enabled
  aws s3api put-public-access-block --bucket "$bucket" --public-access-block-configuration \
    BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
  aws s3api put-bucket-encryption --bucket "$bucket" --server-side-encryption-configuration \
    "{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":\"$key\"},\"BucketKeyEnabled\":true}]}"
  aws s3api put-bucket-policy --bucket "$bucket" --policy \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"TlsOnly\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":[\"arn:aws:s3:::$bucket\",\"arn:aws:s3:::$bucket/*\"],\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}]}"
  say "done. Log in and create stacks with:"
  echo "    pulumi login 's3://$bucket?region=$AWS_REGION&awssdk=v2'"
  echo "    pulumi stack init <stack> --secrets-provider 'awskms://$alias?region=$AWS_REGION'"
}

# --- GitHub OIDC: who may preview, who may deploy --------------------------------------------------
trust() {  # trust <provider arn> <sub>...: tokens of exactly these subjects, audience sts
  local provider="$1" list
  shift
  list=$(printf '"%s",' "$@")
  cat <<JSON
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"$provider"},
"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{
"token.actions.githubusercontent.com:aud":"sts.amazonaws.com",
"token.actions.githubusercontent.com:sub":[${list%,}]}}}]}
JSON
}

role() {  # role <name> <trust json> <managed policy arn>
  if aws iam get-role --role-name "$1" >/dev/null 2>&1; then
    say "updating the trust of role $1"
    aws iam update-assume-role-policy --role-name "$1" --policy-document "$2"
  else
    say "creating role $1"
    aws iam create-role --role-name "$1" --assume-role-policy-document "$2" --max-session-duration 7200 >/dev/null
  fi
  aws iam attach-role-policy --role-name "$1" --policy-arn "$3"
}

github() {
  local repo="${1:?usage: github OWNER/REPO STACK...}" provider stack subs=()
  shift
  [ "$#" -gt 0 ] || die "name the stacks whose GitHub environments may deploy (e.g. dev staging)"
  [[ "$repo" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || die "OWNER/REPO expected, got '$repo'"
  for stack in "$@"; do  # every argument is checked before anything changes
    [[ "$stack" =~ ^[a-z0-9-]+$ ]] || die "bad stack name '$stack'"
    subs+=("repo:$repo:environment:$stack")
  done
  provider="arn:aws:iam::$(account):oidc-provider/token.actions.githubusercontent.com"
  if aws iam get-open-id-connect-provider --open-id-connect-provider-arn "$provider" >/dev/null 2>&1; then
    say "GitHub OIDC provider exists"
  else
    say "creating the GitHub OIDC provider"
    # AWS verifies GitHub's certificate itself since 2023; the thumbprint is not used but still required.
    aws iam create-open-id-connect-provider --url https://token.actions.githubusercontent.com \
      --client-id-list sts.amazonaws.com --thumbprint-list 6938fd4d98bab03faadb97b34396831e3780aea1 >/dev/null
  fi
  # Pull requests preview read-only; their subject is repo:OWNER/REPO:pull_request.
  role github-actions-preview "$(trust "$provider" "repo:$repo:pull_request")" arn:aws:iam::aws:policy/ReadOnlyAccess
  # Deploys run in the GitHub environment named after the stack (required reviewers there), and
  # nowhere else: one trust per stack, subject repo:OWNER/REPO:environment:STACK.
  role github-actions-deployer "$(trust "$provider" "${subs[@]}")" arn:aws:iam::aws:policy/AdministratorAccess
  say "done. Add both role ARNs' account to the stack files; list the deployer in airflow-mesh:adminRoleArns"
  say "(and the preview role too: a preview reads the cluster, see README Known limits)."
}

# --- DNS ---------------------------------------------------------------------------------------------
zone() {
  local name="${1:?usage: zone ZONE_NAME}" id
  id=$(aws route53 list-hosted-zones-by-name --dns-name "$name" --max-items 1 \
    --query "HostedZones[?Name=='$name.'].Id | [0]" --output text)
  if [ -z "$id" ] || [ "$id" = None ]; then
    say "creating the hosted zone $name"
    id=$(aws route53 create-hosted-zone --name "$name" --caller-reference "airflow-mesh-$(date +%s)" \
      --query HostedZone.Id --output text)
  else
    say "hosted zone $name exists"
  fi
  id="${id#/hostedzone/}"
  say "hostedZoneId: $id. Delegate the zone: add these NS records for $name at its parent zone:"
  aws route53 get-hosted-zone --id "$id" --query DelegationSet.NameServers --output text
}

case "${1:-}" in
  state | github | zone) cmd="$1"; shift; "$cmd" "$@" ;;
  *) sed -n '2,11p' "$0" >&2; exit 2 ;;
esac
