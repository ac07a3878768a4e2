"""Workload identities in the recorded graph: one role per workload that calls AWS, each bound to
exactly one ServiceAccount, least privilege, in both identity modes."""

from __future__ import annotations

import pytest
from parliament.statement import get_privilege_info

from components import access_model
from tests import stacks
from tests.iam.roles import role_by_arn, workload_roles

WRITE_LEVELS = {"Write", "Permissions management", "Tagging"}
ADDONS = {"vpc-cni", "aws-ebs-csi-driver"}


def model_for(plan):
    from components import settings as st

    config, secret_keys, _ = stacks.stack_config(plan.stack)
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("airflow-mesh:")}
    return access_model.build(
        st.validate(plan.stack, config["aws:region"], raw, {k.split(":", 1)[1] for k in secret_keys})
    )


@pytest.fixture(scope="module")
def pod_identity_plans():
    return {stack: stacks.run(stack, {"identityMode": "pod-identity"}) for stack in ("dev", "prod")}


def test_one_role_per_workload_that_calls_aws_and_per_addon(plan):
    model = model_for(plan)
    roles = workload_roles(plan)
    assert set(roles) == {w.name for w in model.with_role()} | ADDONS
    assert {
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
    } <= set(roles)
    assert "cert-manager" in roles
    assert {f"domain-{d}" for d in ("marketing", "finance")} <= set(roles)


def test_pod_identity_mode_has_the_same_roles_and_one_association_each(pod_identity_plans):
    for stack, plan in pod_identity_plans.items():
        roles = workload_roles(plan)
        assert set(roles) == set(workload_roles(stacks.run(stack)))
        associations = {
            (a["inputs"]["namespace"], a["inputs"]["serviceAccount"])
            for a in plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        }
        assert len(associations) == len(roles) - 1  # the VPC CNI keeps IRSA
        sas = plan.of_type("kubernetes:core/v1:ServiceAccount")
        assert all("eks.amazonaws.com/role-arn" not in sa["inputs"]["metadata"].get("annotations", {}) for sa in sas)


def test_every_annotated_service_account_points_at_the_role_that_trusts_exactly_it(plan):
    by_role = {docs.role: docs for docs in workload_roles(plan).values()}
    annotated = 0
    for sa in plan.of_type("kubernetes:core/v1:ServiceAccount"):
        meta = sa["inputs"]["metadata"]
        arn = meta.get("annotations", {}).get("eks.amazonaws.com/role-arn")
        if not arn:
            continue
        annotated += 1
        role_name = role_by_arn(plan, arn)["name"]
        trusted = by_role[role_name].trust["Statement"][0]["Condition"]["StringEquals"]
        sub = next(v for k, v in trusted.items() if k.endswith(":sub"))
        assert sub == f"system:serviceaccount:{meta['namespace']}:{meta['name']}"
    assert annotated >= 7


def test_no_two_workloads_share_a_role_or_a_subject(plan):
    roles = workload_roles(plan)
    assert len({d.role for d in roles.values()}) == len(roles)
    subjects = [d.trust["Statement"][0]["Condition"]["StringEquals"] for d in roles.values()]
    subs = [next(v for k, v in s.items() if k.endswith(":sub")) for s in subjects]
    assert len(set(subs)) == len(subs)


def test_no_wildcard_resource_with_a_write_action(plan):
    checked = 0
    for docs in workload_roles(plan).values():
        for statement in (docs.policy or {}).get("Statement", []):
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in statement["Action"]:
                service, name = action.split(":")
                level = get_privilege_info(service, name)["access_level"]
                checked += 1
                if level in WRITE_LEVELS:
                    assert "*" not in resources, (docs.workload, action)
                    assert all(not r.endswith(":*") and r != "*" for r in resources), (docs.workload, action)
    assert checked > 30


def test_policies_are_filled_from_real_resource_outputs(plans):
    plan = plans["dev"]
    key_arns = {k["name"]: k for k in plan.of_type("aws:kms/key:Key")}
    assert key_arns
    worker = workload_roles(plan)["airflow-worker"].policy
    text = str(worker)
    assert "arn:aws:s3:::airflow-mesh-dev-111122223333-task-logs/logs/dag_id=*" in text
    assert "arn:aws:kms:us-east-1:123456789012:key/" in text
    assert "{" not in "".join(str(s["Resource"]) for s in worker["Statement"])


def test_domain_roles_reach_only_their_own_data(plans):
    prod = workload_roles(plans["prod"])
    finance = str(prod["domain-finance"].policy)
    assert "example-finance/ledger/*" in finance and "example-mkt-curated/spend/*" in finance
    assert "example-risk" not in finance
    assert "secret:airflow/prod/connections/finance/*" in finance
    assert "connections/risk" not in finance
    assert "dag_id=finance_*" in finance and "dag_id=risk_" not in finance


def statements_with(policy, action):
    return [s for s in policy["Statement"] if action in s["Action"]]


def test_secrets_keys_decrypt_only_through_secrets_manager(plans):
    """moto does not evaluate conditions, so the condition keys are checked here, literally."""
    for plan in plans.values():
        for docs in workload_roles(plan).values():
            for s in statements_with(docs.policy or {"Statement": []}, "kms:Decrypt"):
                if s["Sid"] == "DecryptAirflowSecrets":
                    assert s["Condition"] == {
                        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
                    }
    worker = workload_roles(plans["dev"])["airflow-worker"].policy
    assert [s["Sid"] for s in statements_with(worker, "kms:Decrypt")] == ["DecryptAirflowSecrets", "EncryptTaskLogs"]


def test_listing_is_limited_to_the_granted_prefixes(plans):
    marketing = workload_roles(plans["dev"])["domain-marketing"].policy
    listing = {s["Resource"][0]: s.get("Condition") for s in statements_with(marketing, "s3:ListBucket")}
    assert listing == {
        "arn:aws:s3:::example-mkt-raw-dev": {"StringLike": {"s3:prefix": ["events/*"]}},
        "arn:aws:s3:::example-mkt-curated-dev": None,  # granted the whole bucket
        "arn:aws:s3:::airflow-mesh-dev-111122223333-task-logs": {
            "StringLike": {"s3:prefix": ["logs/dag_id=marketing_*"]}
        },
    }
    api = workload_roles(plans["dev"])["airflow-api-server"].policy
    (api_list,) = statements_with(api, "s3:ListBucket")
    assert api_list["Condition"] == {"StringLike": {"s3:prefix": ["logs/*"]}}


def test_cert_manager_may_only_write_acme_challenge_txt_records(plans):
    policy = workload_roles(plans["prod"])["cert-manager"].policy
    (change,) = statements_with(policy, "route53:ChangeResourceRecordSets")
    assert change["Resource"] == ["arn:aws:route53:::hostedzone/Z0PROD0000000EXAMPLE"]
    assert change["Condition"] == {
        "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]},
        "ForAllValues:StringLike": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.*"]},
    }


def test_every_role_name_fits_iam_even_for_long_stack_and_domain_names():
    """IAM role names stop at 64 characters and Pulumi's auto-name adds 8: long logical names get a
    stable shortened name with a hash instead of failing at `pulumi preview`."""
    long_domain = {"name": "customer-analytics-emea", "oidcGroups": ["g"], "airflowRole": "cae", "secretsPrefix": "cae"}
    plan = stacks.run("staging", {"domains": [long_domain]})
    names = []
    for role in plan.of_type("aws:iam/role:Role"):
        explicit = role["inputs"].get("name")
        names.append(explicit or role["name"] + "-abcdefg")
        if explicit:
            assert len(role["name"]) + 8 > 64 and explicit[-8:].isalnum()
    assert max(map(len, names)) <= 64
    assert any(role["inputs"].get("name") for role in plan.of_type("aws:iam/role:Role"))
    assert len(set(names)) == len(names)
