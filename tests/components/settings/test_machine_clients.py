"""Machine clients (issue 14, journey 5): accepted audiences, client id / scope -> role, the edge group.

Bad input is rejected naming the stack file, the key and the value, before any resource exists.
"""

from __future__ import annotations

import pytest

from components import settings
from tests import stacks

# (stack, overrides, key the message must name, words the message must contain)
BAD_MACHINE_CONFIGS = [
    ("dev", {"machineRoleMappings": ["client:0oa-ci=Super"]}, "machineRoleMappings[0]", "'Super' is not a role"),
    ("dev", {"machineRoleMappings": ["0oa-ci=Op"]}, "machineRoleMappings[0]", "must be client:<client id>=Role"),
    ("dev", {"machineRoleMappings": ["group:x=Op"]}, "machineRoleMappings[0]", "must be client:<client id>=Role"),
    ("dev", {"machineRoleMappings": ["client:=Op"]}, "machineRoleMappings[0]", "'' is not a client name"),
    ("dev", {"machineRoleMappings": ["client:a,b=Op"]}, "machineRoleMappings[0]", "'a,b' is not a client name"),
    (
        "dev",
        {"machineRoleMappings": ["client:0oa-airflow-dev=Op"]},
        "machineRoleMappings[0]",
        "is oidcClientId, the people's client",
    ),
    (
        "dev",
        {"machineRoleMappings": ["client:0oa-ci=Op", "client:0oa-ci=Admin"]},
        "machineRoleMappings[1]",
        "already mapped to 'Op'",
    ),
    (
        "dev",
        {"oidcAllowedEmailDomains": ["example.com"], "machineRoleMappings": ["scope:airflow.read=Viewer"]},
        "machineRoleMappings[0]",
        "map client ids",
    ),
    (
        "dev",
        {"machineRoleMappings": ["scope:openid=Admin"]},
        "machineRoleMappings[0]",
        "a scope of people's tokens too",
    ),
    ("dev", {"machineTokenAudiences": [""]}, "machineTokenAudiences[0]", "'': an audience is non-empty"),
    ("dev", {"machineTokenAudiences": [" api://airflow"]}, "machineTokenAudiences[0]", "without surrounding spaces"),
    ("dev", {"machineTokenAudiences": ["a=b"]}, "machineTokenAudiences[0]", "must not contain '='"),
    ("dev", {"machineTokenAudiences": ["x", "x"]}, "machineTokenAudiences", "duplicates"),
    ("dev", {"machineTokenAudiences": []}, "machineTokenAudiences", "required with machineRoleMappings"),
    (
        "dev",
        {"machineRoleMappings": [], "machineTokenAudiences": ["api://airflow"]},
        "machineTokenAudiences",
        "has no effect without machineRoleMappings",
    ),
    ("dev", {"machineTokenIssuerUrl": "http://idp.example.com"}, "machineTokenIssuerUrl", "must be an https:// URL"),
    ("staging", {"machineEdgeGroup": ""}, "machineEdgeGroup", "required when airflow-mesh:oidcAllowedGroups"),
    ("staging", {"machineEdgeGroup": "data-engineers"}, "machineEdgeGroup", "is mapped to an Airflow role"),
    (
        "dev",
        {"machineRoleMappings": [], "machineTokenAudiences": [], "machineEdgeGroup": "m"},
        "machineEdgeGroup",
        "has no effect",
    ),
]


@pytest.mark.parametrize(
    ("stack", "overrides", "key", "words"), BAD_MACHINE_CONFIGS, ids=[f"{c[2]}:{c[3]}" for c in BAD_MACHINE_CONFIGS]
)
def test_bad_machine_client_config_is_rejected_by_name(stack, overrides, key, words):
    with pytest.raises(settings.SettingsError) as caught:
        stacks.run(stack, overrides)
    assert f"stacks/Pulumi.{stack}.yaml: airflow-mesh:{key}: " in str(caught.value)
    assert words in str(caught.value)
    assert caught.value.registered_resources == 0


def test_machine_settings_of_the_fixture_stacks():
    dev = stacks.settings_for("dev")
    assert dev.machine_issuer_url == dev.oidc_issuer_url
    assert ("client:0oa-ci-deployer", "Op") in dev.machine_mappings
    assert ("scope:airflow.read", "Viewer") in dev.machine_mappings
    other = stacks.settings_for("dev", {"machineTokenIssuerUrl": "https://machines.example.com/oauth2/m2m"})
    assert other.machine_issuer_url == "https://machines.example.com/oauth2/m2m"
