"""WorkloadRole: one role, one service account, in both identity modes."""

from __future__ import annotations

import json

import pytest

from tests import stacks

ROLE = "aws:iam/role:Role"


def web_identity_roles(plan):
    for role in plan.of_type(ROLE):
        policy = json.loads(role["inputs"]["assumeRolePolicy"])
        for statement in policy["Statement"]:
            if "Federated" in statement.get("Principal", {}):
                yield role, statement


def test_every_federated_trust_pins_sub_and_aud_to_one_service_account(plan):
    issuer = plan.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")["inputs"]["url"].removeprefix("https://")
    found = list(web_identity_roles(plan))
    assert found, "the add-ons' IRSA roles are expected"
    subjects = []
    for role, statement in found:
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"]["Federated"].endswith(f":oidc-provider/{issuer}")
        assert set(statement["Condition"]) == {"StringEquals"}, role["name"]
        cond = statement["Condition"]["StringEquals"]
        assert cond == {f"{issuer}:sub": cond[f"{issuer}:sub"], f"{issuer}:aud": "sts.amazonaws.com"}
        sub = cond[f"{issuer}:sub"]
        assert sub.count(":") == 3 and sub.startswith("system:serviceaccount:") and "*" not in sub
        subjects.append(sub)
    assert len(subjects) == len(set(subjects)), "no two roles trust the same service account"


def test_pod_identity_mode_trusts_the_eks_pods_service_and_associates_one_account():
    plan = stacks.run("dev", {"identityMode": "pod-identity"})
    associations = plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    bound = [(a["inputs"]["namespace"], a["inputs"]["serviceAccount"]) for a in associations]
    assert ("kube-system", "ebs-csi-controller-sa") in bound
    assert ("kube-system", "aws-node") not in bound
    pod_roles = [r for r in plan.of_type(ROLE) if "pods.eks.amazonaws.com" in r["inputs"]["assumeRolePolicy"]]
    assert len(bound) == len(set(bound)) == len(pod_roles) >= 8
    for a in associations:
        assert any(r["name"] in a["dependsOn"] for r in pod_roles)
    (association,) = [a for a in associations if a["inputs"]["serviceAccount"] == "ebs-csi-controller-sa"]
    role = next(r for r in plan.of_type(ROLE) if r["name"] in association["dependsOn"])
    statement = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    ebs = next(a for a in plan.of_type("aws:eks/addon:Addon") if a["inputs"]["addonName"] == "aws-ebs-csi-driver")
    assert "serviceAccountRoleArn" not in ebs["inputs"]
    # aws-node assigns pod IPs before any agent runs, so it keeps IRSA in both modes
    assert any("aws-node" in json.dumps(s) for _, s in web_identity_roles(plan))


def test_permissions_boundary_and_session_duration_reach_every_workload_role():
    boundary = "arn:aws:iam::111122223333:policy/workload-boundary"
    plan = stacks.run("dev", {"permissionsBoundaryArn": boundary, "maxSessionDurationSeconds": 7200})
    roles = [role for role, _ in web_identity_roles(plan)]
    assert roles
    for role in roles:
        assert role["inputs"]["permissionsBoundary"] == boundary
        assert role["inputs"]["maxSessionDuration"] == 7200


@pytest.mark.parametrize("namespace,account", [("kube-system", "*"), ("", "sa"), ("ns*", "sa")])
def test_wildcards_or_empty_bindings_are_refused(namespace, account):
    import pulumi

    from components.cluster.workload_role import WorkloadIdentity, WorkloadRole, WorkloadRoleArgs
    from components.settings.regions import partition_of

    identity = WorkloadIdentity("irsa", "c", "arn:aws:iam::1:oidc-provider/x", "https://x", partition_of("us-east-1"))
    with pytest.raises(ValueError, match="one concrete namespace and service account"):
        WorkloadRole("r", WorkloadRoleArgs(identity, namespace, account), opts=pulumi.ResourceOptions())
