"""Stack settings: every committed stack is valid, and bad input is rejected by name before any
resource is registered."""

from __future__ import annotations

import ipaddress

import pytest
import yaml

from components import settings
from plan import harness
from plan.project_file import render
from tests import stacks

# (stack, overrides, key the message must name, words the message must contain)
BAD_CONFIGS = [
    ("dev", {"vpcCidr": "10.0.0.0/33"}, "airflow-mesh:vpcCidr", "not a valid IPv4 CIDR"),
    ("dev", {"vpcCidr": "10.0.0.0/8"}, "airflow-mesh:vpcCidr", "/16 to /20"),
    ("dev", {"vpcCidr": "8.8.0.0/16"}, "airflow-mesh:vpcCidr", "RFC 1918"),
    (
        "dev",
        {
            "privateSubnetCidrs": ["10.20.0.0/19", "10.20.16.0/20"],
            "publicSubnetCidrs": ["10.20.224.0/22", "10.20.228.0/22"],
        },
        "airflow-mesh:privateSubnetCidrs[1]",
        "overlaps 10.20.0.0/19",
    ),
    (
        "dev",
        {
            "privateSubnetCidrs": ["10.20.0.0/19", "10.99.0.0/19"],
            "publicSubnetCidrs": ["10.20.224.0/22", "10.20.228.0/22"],
        },
        "airflow-mesh:privateSubnetCidrs[1]",
        "outside vpcCidr",
    ),
    ("dev", {"privateSubnetCidrs": ["10.20.0.0/19", "10.20.32.0/19"]}, "airflow-mesh:privateSubnetCidrs", "neither"),
    ("dev", {"availabilityZones": ["us-east-1a"]}, "airflow-mesh:availabilityZones", "at least 2"),
    (
        "prod",
        {"availabilityZones": ["us-east-1a", "us-east-1b"]},
        "airflow-mesh:availabilityZones",
        "prod needs at least 3",
    ),
    (
        "dev",
        {"availabilityZones": ["us-east-1a", "eu-west-1b"]},
        "airflow-mesh:availabilityZones[1]",
        "not an availability zone of us-east-1",
    ),
    ("dev", {"availabilityZones": ["us-east-1a", "us-east-1a"]}, "airflow-mesh:availabilityZones", "duplicates"),
    ("dev", {"kubernetesVersion": "1.27"}, "airflow-mesh:kubernetesVersion", "allowed: 1.34, 1.35"),
    (
        "dev",
        {"systemNodeInstanceTypes": ["t3.medium"], "systemNodeMinSize": 4},
        "airflow-mesh:systemNodeInstanceTypes",
        "cannot hold the platform",
    ),
    (  # computed from components/sizing.py, not a fixed figure: 3 x m7i.large is too small on 2
        "staging",
        {"systemNodeInstanceTypes": ["m7i.large"]},
        "airflow-mesh:systemNodeMinSize",
        "the platform requests",
    ),
    (
        "dev",
        {"workloadNodeMinSize": 1, "workloadNodeMaxSize": 4, "workloadNodeInstanceTypes": ["x9.mega", "m7i.large"]},
        "airflow-mesh:workloadNodeInstanceTypes[0]",
        "not an EC2 instance type",
    ),
    (
        "dev",
        {"workloadNodeMinSize": 1, "workloadNodeMaxSize": 4, "workloadNodeInstanceTypes": ["m7i.large", "m7g.large"]},
        "airflow-mesh:workloadNodeInstanceTypes",
        "mixes x86_64 and arm64",
    ),
    (
        "dev",
        {
            "workloadNodeMinSize": 1,
            "workloadNodeMaxSize": 4,
            "workloadNodeInstanceTypes": ["m7i.large"],
            "workloadCapacityType": "SPOT",
        },
        "airflow-mesh:workloadNodeInstanceTypes",
        "SPOT needs at least two",
    ),
    ("dev", {"workloadNodeMinSize": 5, "workloadNodeMaxSize": 2}, "airflow-mesh:workloadNodeMinSize", "min <= max"),
    ("dev", {"workloadNodeMinSize": 0, "workloadNodeMaxSize": 4}, "airflow-mesh:workloadNodeMinSize", "from zero"),
    ("prod", {"systemNodeCapacityType": "SPOT"}, "airflow-mesh:systemNodeCapacityType", "not allowed in prod"),
    ("dev", {"systemNodeInstanceTypes": ["t4g.large"]}, "airflow-mesh:systemNodeInstanceTypes", "two instance types"),
    ("prod", {"workingHours": "MON-FRI 07:00-19:00"}, "airflow-mesh:workingHours", "around the clock"),
    ("dev", {"workingHours": "weekdays 9-5"}, "airflow-mesh:workingHours", "is not like"),
    ("dev", {"workingHours": "MON-FRI 19:00-07:00"}, "airflow-mesh:workingHours", "start before it ends"),
    ("dev", {"workingHours": "MON-FRI 07:00-19:05"}, "airflow-mesh:workingHours", "end on the hour"),
    ("dev", {"workingHoursTimezone": "Mars/Olympus"}, "airflow-mesh:workingHoursTimezone", "not an IANA time zone"),
    ("dev", {"taskNodeCpuLimit": 1}, "airflow-mesh:taskNodeCpuLimit", "outside 2-10000"),
    ("dev", {"taskNodeCapacityTypes": ["spot", "spot"]}, "airflow-mesh:taskNodeCapacityTypes", "each once"),
    ("dev", {"expectedTaskVcpuHours": 999999}, "airflow-mesh:expectedTaskVcpuHours", "taskNodeCpuLimit"),
    ("prod", {"systemNodeMinSize": 2}, "airflow-mesh:systemNodeMinSize", "one system node per AZ"),
    (  # room enough, but the third Consul server has no node of its own: Raft never bootstraps
        "staging",
        {"meshProvider": "consul", "systemNodeInstanceTypes": ["m7i.2xlarge"], "systemNodeMinSize": 2},
        "airflow-mesh:systemNodeMinSize",
        "the 3 Consul servers need a node each",
    ),
    (
        "staging",
        {
            "meshProvider": "linkerd",
            "meshControlPlaneReplicas": 3,
            "systemNodeInstanceTypes": ["m7i.2xlarge"],
            "systemNodeMinSize": 2,
        },
        "airflow-mesh:systemNodeMinSize",
        "the 3 replicas of every Linkerd controller need a node each",
    ),
    (
        "prod",
        {"endpointAccess": "public", "publicAccessCidrs": ["0.0.0.0/0"]},
        "airflow-mesh:endpointAccess",
        "not allowed in prod",
    ),
    ("prod", {"natGateways": "single"}, "airflow-mesh:natGateways", "not allowed in prod"),
    ("dev", {"publicAccessCidrs": []}, "airflow-mesh:publicAccessCidrs", "no implicit 0.0.0.0/0"),
    ("staging", {"publicAccessCidrs": ["10.0.0.0/8"]}, "airflow-mesh:publicAccessCidrs", "must be empty"),
    ("dev", {"oidcIssuerUrl": None}, "airflow-mesh:oidcIssuerUrl", "is required"),
    ("dev", {"oidcClientId": None}, "airflow-mesh:oidcClientId", "is required"),
    ("dev", {"oidcIssuerUrl": "http://example.okta.com"}, "airflow-mesh:oidcIssuerUrl", "https://"),
    ("dev", {"oidcClientSecret": "plain-text"}, "airflow-mesh:oidcClientSecret", "must be a secret"),
    (
        "dev",
        {"oidcEndSessionEndpoint": "http://example.okta.com/logout"},
        "airflow-mesh:oidcEndSessionEndpoint",
        "https://",
    ),
    ("dev", {"oauth2ProxySessionMaxGroups": 30}, "airflow-mesh:oauth2ProxySessionStore", "'cookie' cannot carry"),
    ("dev", {"oauth2ProxySessionMaxGroups": -1}, "airflow-mesh:oauth2ProxySessionMaxGroups", "greater than or equal"),
    ("dev", {"oidcClientSecret": harness.Secure("  ")}, "airflow-mesh:oidcClientSecret", "must not be empty"),
    ("dev", {"natGateway": "single"}, "airflow-mesh:natGateway", "did you mean airflow-mesh:natGateways"),
    ("dev", {"natGateways": "two"}, "airflow-mesh:natGateways", "allowed: single, per-az"),
    ("dev", {"adminRoleArns": []}, "airflow-mesh:adminRoleArns", "nobody can reach the cluster"),
    (
        "dev",
        {"adminRoleArns": ["arn:aws:iam::111122223333:user/alice"]},
        "airflow-mesh:adminRoleArns[0]",
        "not an IAM role ARN",
    ),
    ("dev", {"awsAccountId": "1234"}, "airflow-mesh:awsAccountId", "should match pattern"),
    ("dev", {"environment": "prod"}, "airflow-mesh:environment", "does not match the stack name"),
    ("dev", {"clusterLogRetentionDays": 42}, "airflow-mesh:clusterLogRetentionDays", "not a CloudWatch retention"),
    ("dev", {"addonVersions": ["kube-dns=v1"]}, "airflow-mesh:addonVersions[0]", "name=version"),
    ("dev", {"interfaceEndpoints": ["dynamodb"]}, "airflow-mesh:interfaceEndpoints[0]", "allowed: sts"),
    ("dev", {"maxSessionDurationSeconds": 60}, "airflow-mesh:maxSessionDurationSeconds", "3600-43200"),
    ("dev", {"permissionsBoundaryArn": "boundary"}, "airflow-mesh:permissionsBoundaryArn", "not an IAM policy ARN"),
    ("dev", {"nodeDiskSizeGib": 8}, "airflow-mesh:nodeDiskSizeGib", "20-1000"),
    ("dev", {"aws:region": None}, "aws:region", "is required"),
    # mesh
    ("staging", {"meshTlsMode": "permissive"}, "airflow-mesh:meshTlsMode", "not allowed in staging"),
    ("prod", {"meshCertificateTtlHours": 72}, "airflow-mesh:meshCertificateTtlHours", "outside 1-24"),
    ("prod", {"meshControlPlaneReplicas": 1}, "airflow-mesh:meshControlPlaneReplicas", "at least 2"),
    ("dev", {"meshPreviousCaName": "ca-1"}, "airflow-mesh:meshPreviousCaName", "must differ"),
    ("dev", {"meshProvider": "cilium"}, "airflow-mesh:meshProvider", "allowed: kuma, istio, linkerd, consul"),
    ("dev", {"meshProvider": "linkerd", "meshCaSource": "builtin"}, "airflow-mesh:meshCaSource", "use cert-manager"),
    ("dev", {"meshProvider": "istio"}, "airflow-mesh:meshProvider", "does not enforce egress allow-lists"),
    # edge
    ("dev", {"airflowHostname": "airflow.other.example.org"}, "airflow-mesh:airflowHostname", "outside hostedZoneName"),
    ("prod", {"oidcAllowedGroups": []}, "airflow-mesh:oidcAllowedGroups", "must not be empty in prod"),
    ("dev", {"edgeSourceRanges": []}, "airflow-mesh:edgeSourceRanges", "required when edgeScheme is internet-facing"),
    ("dev", {"hostedZoneId": "zone-1"}, "airflow-mesh:hostedZoneId", "not a Route 53 hosted zone id"),
    ("dev", {"acmeEmail": "nobody"}, "airflow-mesh:acmeEmail", "not an email address"),
    # airflow
    ("dev", {"airflowExecutor": "LocalExecutor"}, "airflow-mesh:airflowExecutor", "allowed: KubernetesExecutor"),
    ("prod", {"airflowSchedulerReplicas": 1}, "airflow-mesh:airflowSchedulerReplicas", "prod needs at least 2"),
    ("prod", {"airflowApiServerReplicas": 1}, "airflow-mesh:airflowApiServerReplicas", "prod needs at least 2"),
    ("dev", {"secretRotationDays": 0}, "airflow-mesh:secretRotationDays", "outside 1-365"),
    ("dev", {"airflowRoleMappings": ["data-engineers=Superuser"]}, "airflow-mesh:airflowRoleMappings[0]", "not a role"),
    ("dev", {"dagsGitRepository": "git@github.com:org/dags.git"}, "airflow-mesh:dagsGitSshKey", "required for the SSH"),
    (
        "dev",
        {"dagsGitRepository": "ssh://git@github.com/org/dags.git"},
        "airflow-mesh:dagsGitRepository",
        "use an https://",
    ),
    ("dev", {"vpcCidr": "172.20.0.0/16"}, "airflow-mesh:vpcCidr", "overlaps the cluster's Service CIDR"),
    ("prod", {"databaseMultiAz": False}, "airflow-mesh:databaseMultiAz", "not allowed in prod"),
    ("dev", {"dagsGitSshKey": "-----BEGIN OPENSSH PRIVATE KEY-----"}, "airflow-mesh:dagsGitSshKey", "must be a secret"),
]


@pytest.mark.parametrize(
    ("stack", "overrides", "key", "words"), BAD_CONFIGS, ids=[c[2] + ":" + c[3] for c in BAD_CONFIGS]
)
def test_bad_config_is_rejected_by_name_before_any_resource(stack, overrides, key, words):
    with pytest.raises((settings.SettingsError, harness.StackConfigError)) as caught:
        stacks.run(stack, overrides)
    message = str(caught.value)
    assert key in message, message
    assert words in message, message
    if isinstance(caught.value, settings.SettingsError):
        assert f"stacks/Pulumi.{stack}.yaml: {key}" in message, message
        assert caught.value.registered_resources == 0
    else:
        # The Pulumi CLI itself refuses these before the program starts.
        assert f"Stack '{stack}'" in message


DEV_DOMAINS = stacks.stack_config("dev")[0]["airflow-mesh:domains"]


def with_domains(*changes):
    """The dev stack's domains with the given (index, field, value) changes."""
    import json

    domains = json.loads(DEV_DOMAINS)
    for index, field, value in changes:
        if index >= len(domains):
            domains.append(json.loads(json.dumps(domains[0])))
        domains[index][field] = value
    return {"domains": domains}


BAD_DOMAINS = [
    (with_domains((1, "name", "marketing")), "airflow-mesh:domains[1].name", "duplicate domain"),
    (with_domains((1, "oidcGroups", ["data-marketing"])), "airflow-mesh:domains[1].oidcGroups[0]", "already mapped"),
    (
        with_domains((1, "s3", [{"bucket": "example-mkt-curated-dev", "prefixes": ["x/"], "access": "readwrite"}])),
        "airflow-mesh:domains[1].s3[0].prefixes",
        "written by domain 'marketing'",
    ),
    (with_domains((1, "secretsPrefix", "airflow/prod/finance")), "airflow-mesh:domains[1].secretsPrefix", "outside"),
    (with_domains((1, "secretsPrefix", "../marketing")), "airflow-mesh:domains[1].secretsPrefix", "outside"),
    (with_domains((1, "airflowRole", "Admin")), "airflow-mesh:domains[1].airflowRole", "built-in role"),
    (with_domains((0, "name", "Marketing!")), "airflow-mesh:domains[0].name", "should match pattern"),
    (with_domains((0, "colour", "blue")), "airflow-mesh:domains[0].colour", "Extra inputs are not permitted"),
    (with_domains((1, "secretsPrefix", "marketing")), "airflow-mesh:domains[1].secretsPrefix", "already the prefix"),
    (
        with_domains((1, "oidcGroups", ["data-engineers"])),
        "airflow-mesh:domains[1].oidcGroups[0]",
        "airflowRoleMappings",
    ),
    (
        with_domains((1, "s3", [{"bucket": "airflow-mesh-dev-111122223333-task-logs", "access": "read"}])),
        "airflow-mesh:domains[1].s3[0].bucket",
        "is the task-log bucket",
    ),
    (
        with_domains((0, "egress", [{"host": "db.partner.example.com", "port": 5432}])),
        "airflow-mesh:domains[0].egress[0]",
        "reachable on 443 (TLS) or 80 only",
    ),
    (
        {
            "meshProvider": "consul",
            **with_domains((0, "egress", [{"host": "api.partner.example.com", "port": 80}])),
        },
        "airflow-mesh:domains[0].egress[0]",
        "cut at Envoy's 15 s route timeout",
    ),
]


@pytest.mark.parametrize(("overrides", "key", "words"), BAD_DOMAINS, ids=[c[1] + ":" + c[2] for c in BAD_DOMAINS])
def test_bad_domains_are_rejected_by_name(overrides, key, words):
    with pytest.raises(settings.SettingsError) as caught:
        stacks.run("dev", overrides)
    assert f"stacks/Pulumi.dev.yaml: {key}" in str(caught.value)
    assert words in str(caught.value)
    assert caught.value.registered_resources == 0


def test_the_corpus_is_large_and_names_distinct_keys():
    assert len(BAD_CONFIGS) >= 20
    assert len({c[2] for c in BAD_CONFIGS}) >= 25


def test_every_problem_is_reported_at_once():
    with pytest.raises(settings.SettingsError) as caught:
        stacks.run("prod", {"natGateways": "single", "endpointAccess": "public", "publicAccessCidrs": ["1.2.3.0/24"]})
    keys = [key for key, _ in caught.value.problems]
    assert "airflow-mesh:natGateways" in keys and "airflow-mesh:endpointAccess" in keys


def test_committed_stacks_are_valid_and_differ_only_in_stack_files(plans):
    """Every stack plans, and nothing but the settings module reads Pulumi config or the stack name,
    so environments can only differ through their stack files."""
    import ast

    assert set(plans) == {"dev", "staging", "prod"}
    readers = []
    for path in [harness.ROOT / "__main__.py", *sorted((harness.ROOT / "components").rglob("*.py"))]:
        where = path.relative_to(harness.ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in {"Config", "get_stack", "get_config"}:
                readers.append(f"{where}:{node.lineno}")
    assert readers and all(r.startswith("components/settings/loader.py:") for r in readers), readers


def test_pulumi_yaml_is_generated_from_the_settings_model():
    """`make project-file` regenerates it; a field added to the model must reach the CLI's schema."""
    assert (harness.ROOT / "Pulumi.yaml").read_text() == render()
    project = yaml.safe_load((harness.ROOT / "Pulumi.yaml").read_text())
    assert project["stackConfigDir"] == settings.STACK_CONFIG_DIR
    fields = settings.config_fields()
    for key, decl in project["config"].items():
        # Description and default only: a `type`, `secret` or required key would make the CLI stop
        # at the first problem before the program could report them all (docs/configuration.md).
        assert set(decl) == {"description", "default"}, key
        assert decl["default"] == fields[key.removeprefix("airflow-mesh:")]["default"], key
    assert "airflow-mesh:oidcClientSecret" not in project["config"]


def test_required_keys_have_no_default_and_optional_keys_have_safe_ones():
    fields = settings.config_fields()
    required = {name for name, f in fields.items() if "default" not in f}
    assert required == {
        "airflowHostname",
        "hostedZoneName",
        "hostedZoneId",
        "acmeEmail",
        "environment",
        "owner",
        "awsAccountId",
        "availabilityZones",
        "adminRoleArns",
        "oidcIssuerUrl",
        "oidcClientId",
        "oidcClientSecret",
    }
    # Secure defaults: HA NAT, private endpoint, every interface endpoint, on-demand workers.
    assert fields["natGateways"]["default"] == "per-az"
    assert fields["endpointAccess"]["default"] == "private"
    assert fields["workloadCapacityType"]["default"] == "ON_DEMAND"
    assert len(fields["interfaceEndpoints"]["default"]) == 5


def test_derived_subnets_fit_the_vpc_and_do_not_overlap():
    public, private = settings.derive_subnets("10.20.0.0/16", 3)
    assert private == ["10.20.0.0/19", "10.20.32.0/19", "10.20.64.0/19"]
    assert public == ["10.20.224.0/22", "10.20.228.0/22", "10.20.232.0/22"]
    for prefix in range(16, 21):
        for azs in range(2, 7):
            public, private = settings.derive_subnets(f"10.20.0.0/{prefix}", azs)
            nets = [ipaddress.ip_network(c) for c in public + private]
            assert len(nets) == 2 * azs
            assert all(n.subnet_of(ipaddress.ip_network(f"10.20.0.0/{prefix}")) for n in nets)
            assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_secrets_never_leave_settings_in_plain_text():
    with pytest.raises(settings.SettingsError) as caught:
        stacks.run("dev", {"oidcClientSecret": "hunter2-plain"})
    assert "hunter2-plain" not in str(caught.value)
    plan = stacks.run("dev", {"oidcClientSecret": harness.Secure("hunter2-secret")})
    assert "hunter2-secret" not in plan.to_json()


def test_readme_configuration_reference_is_generated_from_the_model():
    from plan.project_file import update_readme

    readme = (harness.ROOT / "README.md").read_text()
    assert readme == update_readme(readme), "run `make project-file`"
    for name in settings.config_fields():
        assert f"`airflow-mesh:{name}`" in readme
