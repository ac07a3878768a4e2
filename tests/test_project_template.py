"""Pulumi.yaml's `template:` section: `pulumi new <this repo>` asks for the organisation's values, and
a stack made from the answers (plus the two arrays README's bootstrap sets) is a valid stack."""

from __future__ import annotations

import yaml

from components.settings import config_fields
from plan import harness

PROJECT_FILE = yaml.safe_load((harness.ROOT / "Pulumi.yaml").read_text())


def test_template_asks_for_every_required_scalar_and_hides_secrets():
    asked = PROJECT_FILE["template"]["config"]
    required = {
        f"airflow-mesh:{n}"
        for n, f in config_fields().items()
        if "default" not in f and f["declare"] and f["type"] != "array"
    }
    assert required <= set(asked)
    assert set(asked) - required == {"aws:region"}
    assert asked["airflow-mesh:oidcClientSecret"]["secret"] is True
    assert all(entry["description"] for entry in asked.values())
    assert not set(asked) & set(PROJECT_FILE["config"]), "asked keys have no project default to fall back on"


def test_a_stack_from_the_template_answers_validates(tmp_path):
    answers = {
        "aws:region": "eu-west-1",
        "airflow-mesh:environment": "dev",
        "airflow-mesh:owner": "analytics",
        "airflow-mesh:awsAccountId": "210987654321",
        "airflow-mesh:oidcIssuerUrl": "https://login.acme.io/oauth2/default",
        "airflow-mesh:oidcClientId": "airflow-dev",
        "airflow-mesh:oidcClientSecret": {"secure": "v1:abc"},
        "airflow-mesh:airflowHostname": "airflow.dev.acme.io",
        "airflow-mesh:hostedZoneName": "dev.acme.io",
        "airflow-mesh:hostedZoneId": "Z0123456789ABCDEFGHIJ",
        "airflow-mesh:acmeEmail": "platform@acme.io",
        # set with `pulumi config set --path` (README: Bootstrap from an empty account)
        "airflow-mesh:availabilityZones": ["eu-west-1a", "eu-west-1b"],
        "airflow-mesh:adminRoleArns": ["arn:aws:iam::210987654321:role/platform-admin"],
        "pulumi:disable-default-providers": ["aws", "kubernetes"],
    }
    assert set(answers) >= set(PROJECT_FILE["template"]["config"])
    (tmp_path / "Pulumi.new.yaml").write_text(yaml.safe_dump({"config": answers}))
    settings = harness.settings_for("new", stacks_dir=tmp_path)
    assert settings.aws_account_id == "210987654321" and settings.region == "eu-west-1"
