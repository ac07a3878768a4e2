"""Each policy rule passes its compliant example and catches its violating one; the edge cases that
matter for each promise are spelled out below the table."""

from __future__ import annotations

import pytest

from policy.rules import ALL
from policy.rules.helm import plaintext_secrets
from policy.rules.model import SECRET, UNKNOWN, Stack, environment_of
from policy.rules.offline import evaluate

from .examples import CLUSTER_OK, EXAMPLES, LT_OK, PINNED, RDS_OK, bucket_with, mtp, ns, release, res, route, trust

RULES = {r.name: r for r in ALL}


def violations(rule_name: str, environment: str, resources):
    return evaluate(resources, Stack(name=environment, environment=environment), [RULES[rule_name]])


def test_the_pack_has_at_least_15_uniquely_named_rules_each_with_an_example():
    assert len(ALL) >= 15
    assert len(RULES) == len(ALL)
    assert set(EXAMPLES) == set(RULES)
    for rule in ALL:
        assert rule.description and rule.scope in ("resource", "stack")
        assert rule.scope == "stack" or rule.types, rule.name


@pytest.mark.parametrize("rule_name", sorted(EXAMPLES))
def test_compliant_example_passes(rule_name):
    environment, compliant, _ = EXAMPLES[rule_name]
    assert violations(rule_name, environment, compliant) == []


@pytest.mark.parametrize("rule_name", sorted(EXAMPLES))
def test_violating_example_is_caught(rule_name):
    environment, _, violating = EXAMPLES[rule_name]
    found = violations(rule_name, environment, violating)
    assert found, f"{rule_name} missed its violating example"
    assert all(v.rule == rule_name and v.message for v in found)


# --- environment ---------------------------------------------------------------------------------


def test_environment_comes_from_the_aws_provider_tags_then_stack_tags_then_the_name():
    tags = '{"tags": {"environment": "dev"}}'
    assert environment_of("prod-eu", {"defaultTags": tags}) == "dev"
    assert environment_of("sandbox", None, {"environment": "staging"}) == "staging"
    assert environment_of("team-staging") == "staging"
    assert environment_of("sandbox") == "prod", "an unknown class is held to prod rules"


# --- IRSA ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition, why",
    [
        ({"StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/ABC123:aud": "sts.amazonaws.com"}}, "sub"),
        (
            {"StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/ABC123:sub": "system:serviceaccount:airflow:w"}},
            "aud",
        ),
        ({}, "sub"),
        (
            {
                "StringEquals": {
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC123:sub": "system:serviceaccount:airflow:*",
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC123:aud": "sts.amazonaws.com",
                }
            },
            "wildcard",
        ),
        (
            {
                "StringEquals": {
                    "oidc.eks.us-east-1.amazonaws.com/id/OTHER:sub": "system:serviceaccount:airflow:w",
                    "oidc.eks.us-east-1.amazonaws.com/id/OTHER:aud": "sts.amazonaws.com",
                }
            },
            "sub",
        ),
    ],
)
def test_irsa_trust_without_pinned_sub_and_aud_is_refused(condition, why):
    found = violations(
        "irsa-trust-pins-sub-and-aud", "dev", [res("aws:iam/role:Role", assumeRolePolicy=trust(condition))]
    )
    assert any(why in v.message for v in found), found


def test_irsa_trust_unknown_during_preview_is_not_judged_yet():
    assert violations("irsa-trust-pins-sub-and-aud", "prod", [res("aws:iam/role:Role", assumeRolePolicy=UNKNOWN)]) == []
    pinned = trust(PINNED)
    assert violations("irsa-trust-pins-sub-and-aud", "prod", [res("aws:iam/role:Role", assumeRolePolicy=pinned)]) == []


def test_admin_managed_policy_attachment_is_refused():
    attach = res(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", policyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    assert violations("iam-no-admin-wildcards", "dev", [attach])


# --- EKS -----------------------------------------------------------------------------------------


def test_public_endpoint_is_fine_outside_prod_only_when_fenced():
    fenced = {**CLUSTER_OK, "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]}}
    open_ = {**CLUSTER_OK, "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}}
    unset = {**CLUSTER_OK, "vpcConfig": {}}
    assert violations("eks-endpoint-private-in-prod", "dev", [res("aws:eks/cluster:Cluster", **fenced)]) == []
    assert violations("eks-endpoint-private-in-prod", "dev", [res("aws:eks/cluster:Cluster", **open_)])
    assert violations("eks-endpoint-private-in-prod", "prod", [res("aws:eks/cluster:Cluster", **unset)]), (
        "EKS defaults the endpoint to public: prod must say false"
    )


def test_node_group_without_launch_template_is_refused():
    group = res("aws:eks/nodeGroup:NodeGroup", instanceTypes=["m7i.large"])
    assert violations("nodes-require-imdsv2", "dev", [group])
    assert (
        violations("nodes-require-imdsv2", "dev", [res("aws:eks/nodeGroup:NodeGroup", launchTemplate={"id": "lt"})])
        == []
    )
    assert violations("node-volumes-encrypted", "dev", [res("aws:ec2/launchTemplate:LaunchTemplate", **LT_OK)]) == []


# --- S3 ------------------------------------------------------------------------------------------


def test_bucket_without_any_companion_fails_all_three_s3_rules():
    bare = bucket_with()
    for rule in ("s3-bucket-encrypted", "s3-public-access-blocked", "s3-tls-only"):
        assert violations(rule, "dev", bare), rule
    complete = bucket_with("sse", "pab", "policy")
    for rule in ("s3-bucket-encrypted", "s3-public-access-blocked", "s3-tls-only"):
        assert violations(rule, "dev", complete) == [], rule


def test_companion_of_another_bucket_does_not_count():
    mine = bucket_with()
    other = [
        r.__class__(**{**r.__dict__, "name": f"other-{r.name}", "dependencies": ("other-bucket",)})
        for r in bucket_with("sse")[1:]
    ]
    assert violations("s3-bucket-encrypted", "dev", mine + other)


# --- RDS and protection --------------------------------------------------------------------------


def test_rds_rules_for_dev_are_lenient_on_resilience_not_on_encryption():
    single = res("aws:rds/instance:Instance", **{**RDS_OK, "multiAz": False, "deletionProtection": False})
    assert violations("rds-prod-resilient", "dev", [single]) == []
    assert violations("prod-data-protected", "dev", [single]) == []
    public = res("aws:rds/instance:Instance", **{**RDS_OK, "publiclyAccessible": True})
    assert violations("rds-encrypted-and-private", "dev", [public])


def test_prod_key_needs_the_long_deletion_window():
    key = res("aws:kms/key:Key", protect=True, enableKeyRotation=True, deletionWindowInDays=7)
    assert violations("kms-key-rotation", "prod", [key])
    assert violations("kms-key-rotation", "dev", [key]) == []


# --- Helm ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"config": {"clientSecret": "abc123XYZ", "existingSecret": "oauth2-proxy"}},
        {"config": {"cookieSecret": SECRET}},
        {"jwtSecret": UNKNOWN},
        {"env": [{"name": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_PASSWORD", "value": "postgres"}]},
        {"extraEnv": "AWS_KEY=AKIAABCDEFGHIJKLMNOP"},
        {"data": {"metadataConnection": {"host": "db", "url": "postgresql://airflow:hunter2@db:5432/airflow"}}},
        {"dags": {"gitSync": {"sshKeySecret": "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA=="}}},
    ],
)
def test_secrets_in_helm_values_are_found(values):
    assert list(plaintext_secrets(values)), values


@pytest.mark.parametrize(
    "values",
    [
        {"config": {"existingSecret": "oauth2-proxy", "clientID": "0oa-airflow"}},
        {"dags": {"gitSync": {"sshKeySecret": "airflow-ssh-secret", "credentialsSecret": "git-credentials"}}},
        {"env": [{"name": "AIRFLOW__CORE__FERNET_KEY", "valueFrom": {"secretKeyRef": {"name": "f", "key": "k"}}}]},
        {"env": [{"name": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET", "value": "connections/metadata"}]},
        {"secret": [{"envName": "TOKEN", "secretName": "api", "secretKey": "token"}]},
        {"createUserJob": {"useHelmHooks": False}, "webserverSecretKeySecretName": "airflow-webserver"},
    ],
)
def test_references_to_secrets_are_not_secrets(values):
    assert list(plaintext_secrets(values)) == []


def test_values_that_are_a_secret_as_a_whole_are_refused():
    assert violations("helm-values-no-plaintext-secrets", "dev", [release(values=SECRET)])


@pytest.mark.parametrize("version", ["", "latest", ">=1.19.0", "1.19", None])
def test_unpinned_chart_versions_are_refused(version):
    assert violations("helm-chart-version-pinned", "dev", [release(version=version)])


def test_plain_http_chart_repository_is_refused():
    found = violations("helm-chart-version-pinned", "dev", [release(repositoryOpts={"repo": "http://charts.example"})])
    assert found and "HTTP" in found[0].message


# --- mesh ----------------------------------------------------------------------------------------


def test_permissive_mtls_is_accepted_in_dev_only_and_disable_never():
    permissive = res("kubernetes:security.istio.io/v1:PeerAuthentication", spec={"mtls": {"mode": "PERMISSIVE"}})
    disabled = res("kubernetes:security.istio.io/v1:PeerAuthentication", spec={"mtls": {"mode": "DISABLE"}})
    assert violations("mesh-mtls-strict-outside-dev", "dev", [permissive]) == []
    assert violations("mesh-mtls-strict-outside-dev", "prod", [permissive])
    assert violations("mesh-mtls-strict-outside-dev", "dev", [disabled])


def test_istio_root_peer_authentication_without_mode_is_permissive():
    root = res(
        "kubernetes:security.istio.io/v1:PeerAuthentication",
        metadata={"name": "default", "namespace": "istio-system"},
        spec={},
    )
    assert violations("mesh-mtls-strict-outside-dev", "staging", [root])


def test_airflow_release_namespace_must_be_meshed_and_one_mesh_per_stack():
    assert violations("mesh-namespaces-labelled", "prod", [ns("airflow"), release()])
    both = [
        ns("airflow", **{"kuma.io/sidecar-injection": "enabled"}),
        ns("edge", **{"istio.io/dataplane-mode": "ambient"}),
    ]
    assert violations("mesh-namespaces-labelled", "prod", both)
    # the mesh's own namespace is not required to be in the mesh
    assert violations("mesh-namespaces-labelled", "prod", [ns("kuma-system"), mtp("kuma-system")]) == []


def test_istio_allow_rule_without_source_is_allow_all():
    authz = res(
        "kubernetes:security.istio.io/v1:AuthorizationPolicy",
        metadata={"namespace": "airflow"},
        spec={"action": "ALLOW", "rules": [{"to": [{"operation": {"ports": ["8080"]}}]}]},
    )
    named = res(
        "kubernetes:security.istio.io/v1:AuthorizationPolicy",
        metadata={"namespace": "airflow"},
        spec={"rules": [{"from": [{"source": {"principals": ["cluster.local/ns/edge/sa/oauth2-proxy"]}}]}]},
    )
    assert violations("mesh-no-allow-all", "dev", [authz])
    assert violations("mesh-no-allow-all", "dev", [named]) == []
    whole_domain = mtp(
        "airflow", rules=[{"default": {"allow": [{"spiffeID": {"type": "Prefix", "value": "spiffe://mesh.local/"}}]}}]
    )
    assert violations("mesh-no-allow-all", "dev", [whole_domain])


# --- edge ----------------------------------------------------------------------------------------


def test_route_to_airflow_with_external_auth_filter_is_fine():
    guarded = route(
        {
            "filters": [{"type": "ExternalAuth", "externalAuth": {"protocol": "HTTP", "backendRef": {"name": "o2p"}}}],
            "backendRefs": [{"name": "airflow-api-server", "namespace": "airflow", "port": 8080}],
        }
    )
    assert violations("httproute-to-airflow-authenticated", "prod", [guarded]) == []


def test_internal_load_balancer_needs_no_source_ranges():
    internal = res(
        "kubernetes:core/v1:Service",
        metadata={"annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}},
        spec={"type": "LoadBalancer"},
    )
    assert violations("edge-loadbalancer-restricted", "prod", [internal]) == []
    ngf = release(
        "ngf",
        chart="nginx-gateway-fabric",
        version="2.6.7",
        values={"nginx": {"service": {"loadBalancerSourceRanges": ["0.0.0.0/0"]}}},
    )
    assert violations("edge-loadbalancer-restricted", "dev", [ngf])


def test_load_balancer_scheme_is_read_from_the_annotations():
    def service(**annotations):
        return res("kubernetes:core/v1:Service", metadata={"annotations": annotations}, spec={"type": "LoadBalancer"})

    internal = "service.beta.kubernetes.io/aws-load-balancer-internal"
    assert violations("edge-loadbalancer-restricted", "dev", [service(**{internal: "true"})]) == []
    assert violations("edge-loadbalancer-restricted", "dev", [service(**{internal: "false"})])
    assert violations("edge-loadbalancer-restricted", "dev", [service()]), "Kubernetes' default is internet-facing"


ISTIO = "kubernetes:security.istio.io/v1:"
GATEWAY_PODS = {"gateway.networking.k8s.io/gateway-name": "airflow"}
MARKED = {"airflow-mesh/entry-point": "true"}


def entry_allow(ports, labels=MARKED, selector=GATEWAY_PODS):
    spec = {
        "selector": {"matchLabels": selector},
        "action": "ALLOW",
        "rules": [{"to": [{"operation": {"ports": ports}}]}],
    }
    return res(ISTIO + "AuthorizationPolicy", "ingress", metadata={"namespace": "edge", "labels": labels}, spec=spec)


def entry_mtls(ports, labels=MARKED, selector=GATEWAY_PODS):
    spec = {
        "selector": {"matchLabels": selector},
        "mtls": {"mode": "STRICT"},
        "portLevelMtls": {p: {"mode": "PERMISSIVE"} for p in ports},
    }
    return res(ISTIO + "PeerAuthentication", "ingress", metadata={"namespace": "edge", "labels": labels}, spec=spec)


def test_the_marked_gateway_entry_point_may_take_plaintext_from_anyone_on_its_listeners():
    assert violations("mesh-no-allow-all", "prod", [entry_allow(["80", "443"])]) == []
    assert violations("mesh-mtls-strict-outside-dev", "prod", [entry_mtls(["80", "443"])]) == []


@pytest.mark.parametrize(
    "case",
    [
        {"ports": ["80", "443", "8080"]},  # beyond the listeners
        {"ports": ["443"], "labels": {}},  # not marked as the entry point
        {"ports": ["443"], "selector": {"app": "airflow-api-server"}},  # marked, but not a gateway's pods
    ],
)
def test_no_other_workload_or_port_gets_the_entry_point_exception(case):
    assert violations("mesh-no-allow-all", "prod", [entry_allow(**case)])
    assert violations("mesh-mtls-strict-outside-dev", "prod", [entry_mtls(**case)])
