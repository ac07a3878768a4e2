"""Issue 15's examples, each standing for a class of mistake (or of valid input once refused).

Bad input must be refused by settings, before any resource is registered, with the stack file, the
key path and the value given; valid input must be accepted as the Pulumi CLI accepts it.
"""

from __future__ import annotations

import copy

import pytest

from components import settings
from plan import harness
from tests import stacks

DEV_DOMAINS = stacks.stack_config("dev")[0]["airflow-mesh:domains"]


def domains_with(index: int, field: str, value) -> dict:
    import json

    domains = copy.deepcopy(json.loads(DEV_DOMAINS))
    domains[index][field] = value
    return {"domains": domains}


def s3_prefixes(prefixes: list[str]) -> dict:
    return domains_with(0, "s3", [{"bucket": "example-mkt-raw-dev", "prefixes": prefixes, "access": "read"}])


def refused(overrides: dict, stack: str = "dev") -> settings.SettingsError:
    """The SettingsError of a full run (so a crash or a late failure cannot pass for a refusal)."""
    with pytest.raises(settings.SettingsError) as caught:
        stacks.run(stack, overrides)
    assert caught.value.registered_resources == 0
    return caught.value


BAD = [
    # A user string read as a template (str.format): crashed with KeyError 'aws' after ~214 resources.
    (s3_prefixes(["${aws:PrincipalTag/team}/"]), "airflow-mesh:domains[0].s3[0].prefixes[0]", "policy variable"),
    # `?` is an IAM wildcard like `*`.
    (s3_prefixes(["events/2026-??/"]), "airflow-mesh:domains[0].s3[0].prefixes[0]", "'?' means something to IAM"),
    (s3_prefixes(["events/*/"]), "airflow-mesh:domains[0].s3[0].prefixes[0]", "wildcards"),
    # Credentials in a plain value land in a ConfigMap and the Helm values.
    (
        {"dagsGitRepository": "https://user:TOKEN@github.com/org/dags.git"},
        "airflow-mesh:dagsGitRepository",
        "airflow-mesh:dagsGitSshKey",
    ),
    ({"dagsGitRepository": "https://ghp_TOKEN@github.com/org/dags.git"}, "airflow-mesh:dagsGitRepository", "secret"),
    ({"oidcIssuerUrl": "https://admin:TOKEN@example.okta.com"}, "airflow-mesh:oidcIssuerUrl", "credentials never"),
    # Namespace typos were silently ignored.
    ({"airflowmesh:meshProvider": "istio"}, "airflowmesh:meshProvider", "did you mean airflow-mesh:meshProvider?"),
    ({"airflow_mesh:natGateways": "single"}, "airflow_mesh:natGateways", "did you mean airflow-mesh:natGateways?"),
    ({"Airflow-Mesh:natGateway": "single"}, "Airflow-Mesh:natGateway", "did you mean airflow-mesh:natGateways?"),
    ({"kubernets:context": "dev"}, "kubernets:context", "did you mean kubernetes:context?"),
    ({"aws:regoin": "us-east-1"}, "aws:regoin", "did you mean aws:region?"),
    # Wrong types name the file, the key and the value (not the CLI's "must be of type 'integer'").
    ({"systemNodeMinSize": "two"}, "airflow-mesh:systemNodeMinSize", "'two': is not an integer"),
    ({"databaseMultiAz": "yes"}, "airflow-mesh:databaseMultiAz", "'yes': is not a boolean"),
    ({"availabilityZones": "us-east-1a"}, "airflow-mesh:availabilityZones", "'us-east-1a': is not a list"),
    # RDS class typo was accepted and silently left out of the cost.
    ({"databaseInstanceClass": "db.t4g.mediun"}, "airflow-mesh:databaseInstanceClass", "did you mean db.t4g.medium?"),
    ({"workloadNodeInstanceTypes": ["c7i.xlarge", "c7i.xlarg"]}, None, "did you mean c7i.xlarge?"),
    ({"aws:region": "eu-wset-1"}, "aws:region", "did you mean eu-west-1?"),
    # Found beyond the examples: user strings that reach Helm's `tpl` (oauth2-proxy configFile, the
    # Airflow chart's podTemplate) were evaluated as templates.
    ({"oidcAllowedGroups": ["{{ .Release.Name }}"]}, "airflow-mesh:oidcAllowedGroups", "Helm would evaluate"),
    ({"dagsGitBranch": "{{ .Values }}"}, "airflow-mesh:dagsGitBranch", "not a branch name"),
    ({"dagsGitRepository": "https://github.com/org/{{x}}.git"}, "airflow-mesh:dagsGitRepository", "not a URL"),
]


@pytest.mark.parametrize(("overrides", "key", "words"), BAD, ids=[f"{i}:{c[1]}" for i, c in enumerate(BAD)])
def test_bad_input_is_refused_by_key_with_its_value(overrides, key, words):
    err = refused(overrides)
    text = str(err)
    given = next(iter(overrides.values()))
    assert f"stacks/Pulumi.dev.yaml: {key or ''}" in text, text
    if words:
        assert words in text, text
    if isinstance(given, str) and "TOKEN" not in given:
        assert repr(given) in text, text  # the value given
    assert "TOKEN" not in text, "a credential was echoed"


def test_every_problem_of_a_stack_file_is_reported_in_one_run():
    overrides = {
        **s3_prefixes(["events/2026-??/"]),
        "systemNodeMinSize": "two",
        "vpcCidr": "10.20.0.0/33",
        "airflowmesh:meshProvider": "istio",
        "natGateway": "single",
        "databaseInstanceClass": "db.t4g.mediun",
        "acmeEmail": "nobody",
        "oidcIssuerUrl": None,
    }
    err = refused(overrides)
    keys = {key for key, _ in err.problems}
    assert {
        "airflow-mesh:domains[0].s3[0].prefixes[0]",
        "airflow-mesh:systemNodeMinSize",
        "airflow-mesh:vpcCidr",
        "airflowmesh:meshProvider",
        "airflow-mesh:natGateway",
        "airflow-mesh:databaseInstanceClass",
        "airflow-mesh:acmeEmail",
        "airflow-mesh:oidcIssuerUrl",
    } <= keys, keys
    for line in str(err).splitlines()[1:]:
        assert line.strip().startswith("tests/stacks/Pulumi.dev.yaml: "), line  # the file this run read


VALID = [
    # What `pulumi config set` writes: every scalar is a string.
    {"systemNodeMinSize": "3", "databaseMultiAz": "true", "edgeReplicas": "+1"},
    {"databaseMultiAz": True, "systemNodeMinSize": 3},
    {"workloadNodeInstanceTypes": ["c7i.xlarge", "c6i.xlarge"]},
    {"workloadNodeInstanceTypes": ["r7i.large", "m8i.large"]},
    {"workloadNodeInstanceTypes": ["m8g.xlarge", "c8g.2xlarge"]},
    {"databaseInstanceClass": "db.t4g.medium"},
    {"databaseInstanceClass": "db.r8g.large"},
    {"airflowHostname": "dev.data.example.com"},
    {"airflowImage": "registry.example.com:5000/data/airflow@sha256:" + "a" * 64},
    {"airflowImage": "ghcr.io/org/airflow:3.1.7-python3.12@sha256:" + "0" * 64},
    {"dagsGitRepository": "https://github.com/org/dags.git", "dagsGitBranch": "release/2026.11"},
    {"kubernetes:context": "dev", "pulumi:template": "none", "aws:profile": "data"},
]


@pytest.mark.parametrize("overrides", VALID, ids=[",".join(o) for o in VALID])
def test_valid_input_is_accepted(overrides):
    stacks.settings_for("dev", overrides)


def test_values_are_read_as_the_cli_passes_them():
    s = stacks.settings_for("dev", {"systemNodeMinSize": "3", "databaseMultiAz": "true", "edgeReplicas": "+1"})
    assert (s.system_node_min_size, s.database_multi_az, s.edge_replicas) == (3, True, 1)


def test_a_user_string_in_iam_is_copied_literally():
    """`$` alone and `{region}` are not IAM syntax: they land in the policy as they are (str.format
    used to substitute `{region}` silently)."""
    from components.access_model import build, render_policy
    from plan.access_matrix import placeholder_values

    s = stacks.settings_for("dev", s3_prefixes(["price$/raw/", "{region}/raw/"]))
    model = build(s)
    policy = str(render_policy(model.workload("domain-marketing").grants, placeholder_values(s)))
    assert "arn:aws:s3:::example-mkt-raw-dev/price$/raw/*" in policy
    assert "arn:aws:s3:::example-mkt-raw-dev/{region}/raw/*" in policy


#: Strings that mean something to a template engine, IAM, a shell or a parser somewhere downstream.
NASTY = ["${aws:username}", "{region}", "{0}", "%(x)s %s", "{{ x }}", "*?", "a\nb", "\x00", "x" * 300, "é", "'; --"]


def test_no_nasty_value_anywhere_escapes_as_anything_but_a_settings_error():
    """Every string a stack file can set, each nasty value in turn: either valid settings or a
    SettingsError naming the key; never another exception (the full plan in test_unusual_stacks
    runs the program on the accepted ones)."""
    import json

    config, secret_keys, _ = stacks.stack_config("dev")
    prefix = "airflow-mesh:"
    raw = {k.removeprefix(prefix): v for k, v in config.items() if k.startswith(prefix)}
    others = {k: v for k, v in config.items() if not k.startswith(prefix)}
    secrets = {k.removeprefix(prefix) for k in secret_keys}
    domain = json.loads(raw["domains"])[0]
    cases = []
    for name, field in settings.config_fields().items():
        if field["type"] in ("string", "array") and name != "domains" and not field["secret"]:
            cases += [(name, {name: v if field["type"] == "string" else json.dumps([v])}) for v in NASTY]
    for sub in ("name", "airflowRole", "secretsPrefix", "oidcGroups", "s3", "egress"):
        for v in NASTY:
            changed = copy.deepcopy(domain)
            changed[sub] = {
                "oidcGroups": [v],
                "s3": [{"bucket": v, "prefixes": [v]}],
                "egress": [{"host": v}],
            }.get(sub, v)
            cases.append((f"domains[0].{sub}", {"domains": json.dumps([changed])}))
    refused = 0
    for key, change in cases:
        try:
            settings.validate("dev", "us-east-1", {**raw, **change}, secrets, others=others)
        except settings.SettingsError as err:
            refused += 1
            assert f"airflow-mesh:{key}" in str(err), str(err)
    assert len(cases) > 300 and refused > len(cases) * 3 // 4


def test_known_namespaces_are_the_providers_the_program_imports():
    """A provider added to the program must add its config namespace, or its keys are refused."""
    import ast

    from components.settings.namespaces import PROVIDER_NAMESPACES

    imported: set[str] = set()
    for path in [harness.ROOT / "__main__.py", *sorted((harness.ROOT / "components").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert {m for m in imported if m.startswith(("pulumi_", "pulumiverse_"))} == set(PROVIDER_NAMESPACES)


def test_a_version_read_as_a_yaml_number_gets_a_hint():
    """`kubernetesVersion: 1.40` unquoted is the number 1.4 for yaml.v3, so the CLI passes "1.4"."""
    from typing import Literal

    from pydantic import BaseModel, ValidationError

    from components.settings import loader

    class Versions(BaseModel):
        kubernetesVersion: Literal["1.39", "1.40"]  # noqa: N815 (the config key)

    with pytest.raises(ValidationError) as caught:
        Versions(kubernetesVersion="1.4")
    ((key, message),) = loader._describe(caught.value)
    assert key == "airflow-mesh:kubernetesVersion" and 'quote it, "1.40"' in message
