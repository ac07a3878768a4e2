"""oauth2-proxy lets machine access tokens through (issue 14, journey 5), read from the recorded plan
and the chart rendered with those values.

What oauth2-proxy v7.15.3 checks on a bearer token is in ``components/edge/oauth2_proxy.py``
``machine_options`` (with the upstream functions); these tests hold the options to it.
"""

from __future__ import annotations

import tomllib

import pytest

from proof.charts import ChartLibrary
from tests import schemas, stacks

EMAIL_DOMAINS = {"oidcAllowedEmailDomains": ["example.com"], "machineRoleMappings": ["client:0oa-ci-deployer=Op"]}


def oauth2_values(plan) -> dict:
    return schemas.releases(plan)["oauth2-proxy"]["inputs"]["values"]


def proxy_config(plan) -> dict:
    return tomllib.loads(oauth2_values(plan)["config"]["configFile"])


def test_machine_audiences_are_accepted_on_the_people_issuer(plans):
    """Okta access tokens carry the authorization server's audience, not the client id (#1350)."""
    config = proxy_config(plans["dev"])
    assert config["skip_jwt_bearer_tokens"] is True
    assert config["oidc_extra_audiences"] == ["api://airflow"]
    assert "extra_jwt_issuers" not in config
    # no email domain: every subject passes the email check, so no emails file is needed
    assert config["email_domains"] == ["*"] and "authenticatedEmailsFile" not in oauth2_values(plans["dev"])


def test_a_separate_machine_issuer_becomes_extra_jwt_issuers():
    issuer = "https://example.okta.com/oauth2/machines"
    config = proxy_config(stacks.run("dev", {"machineTokenIssuerUrl": issuer}))
    assert config["extra_jwt_issuers"] == [f"{issuer}=api://airflow"]
    assert "oidc_extra_audiences" not in config


def test_without_machine_clients_no_token_of_another_audience_passes():
    config = proxy_config(stacks.run("dev", {"machineRoleMappings": [], "machineTokenAudiences": []}))
    assert "oidc_extra_audiences" not in config and "extra_jwt_issuers" not in config


def test_with_allowed_groups_the_machine_group_is_allowed(plans):
    """oauth2-proxy checks allowed_groups on every session, bearer ones too (provider_default.go Authorize)."""
    config = proxy_config(plans["staging"])
    assert config["allowed_groups"][-1] == "airflow-machines"
    assert "airflow-machines" not in {g for g, _ in stacks.settings_for("staging").role_mappings}


@pytest.fixture(scope="module")
def rendered_with_email_domains(upstream):
    plan = stacks.run("dev", EMAIL_DOMAINS)
    (release,) = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "oauth2-proxy"]
    return release, ChartLibrary(upstream).render(release, "1.34")


def test_with_email_domains_exactly_the_mapped_clients_pass_the_email_check(rendered_with_email_domains):
    """A token without email gets its ``sub`` as email (providers/oidc.go CreateSessionFromToken); the
    Okta client-credentials ``sub`` is the client id, listed in the authenticated emails file the chart
    mounts, so only the mapped clients pass ``email_domains`` (#2943)."""
    release, rendered = rendered_with_email_domains
    values = release["inputs"]["values"]
    assert tomllib.loads(values["config"]["configFile"])["email_domains"] == ["example.com"]
    objects = [o for _, o in rendered.objects]
    (accesslist,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-accesslist")]
    assert list(accesslist["data"].values()) == ["0oa-ci-deployer"]
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "oauth2-proxy"]
    assert any(a.startswith("--authenticated-emails-file=") for a in container["args"]), container["args"]
