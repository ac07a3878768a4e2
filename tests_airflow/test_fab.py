"""The generated api-server config in a real FAB app, and OIDC logins through FAB's own OAuth callback.

Expected roles come from the stack's settings (``meta.json``: ``role_mappings``, built-in and domain
groups alike), never from the generated ``AUTH_ROLES_MAPPING``: that is what is under test.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests_airflow.support import VARIANTS, Checks, facts, meta

#: flask_appbuilder.const.AUTH_OAUTH
AUTH_OAUTH = 4
#: probe_fab._logins: case -> how the groups claim carried the groups.
CASES = [
    "admin_group",
    "admin_group_as_string",
    "domain_group",
    "unmapped_group",
    "no_groups_claim",
    "admin_group_then_removed",
]


def _groups(case: str, m: dict[str, Any]) -> list[str]:
    admin = next(g for g, role in m["role_mappings"] if role == "Admin")
    return {
        "admin_group": [admin],
        "admin_group_as_string": [admin],
        "domain_group": [m["domains"][0]["oidc_groups"][0]] if m["domains"] else [],
        "unmapped_group": [],
        "no_groups_claim": [],
        "admin_group_then_removed": [],
    }[case]


def _mapped(groups: list[str], m: dict[str, Any]) -> set[str]:
    return {role for group, role in m["role_mappings"] if group in groups}


@pytest.mark.parametrize("variant", VARIANTS)
def test_api_server_config_builds_an_oauth_fab_app(probes, variant):
    fab = facts(probes, variant, "fab")
    assert fab["auth_type"] == AUTH_OAUTH
    assert len(fab["providers"]) == 1
    # Roles are recomputed from the IdP's groups at every login (override.py auth_user_oauth).
    assert fab["roles_sync_at_login"] is True


@pytest.mark.parametrize("variant", VARIANTS)
def test_roles_are_synced_for_every_mapped_role(probes, variant):
    """sync_roles created every role the settings map a group to, domain roles included."""
    roles = facts(probes, variant, "fab")["roles"]
    wanted = {role for _, role in meta(variant)["role_mappings"]}
    assert wanted - set(roles) == set()


@pytest.mark.parametrize("variant", VARIANTS)
def test_registration_role_grants_nothing(probes, variant):
    """Everyone who logs in also gets the registration role; it must carry no permission at all."""
    fab = facts(probes, variant, "fab")
    assert fab["roles"][fab["registration_role"]] == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_domain_roles_see_no_dag_by_themselves(probes, variant):
    """No all-DAGs grant and no import errors (they show other domains' code); DAGs grant access
    to their domain's role through access_control."""
    roles = facts(probes, variant, "fab")["roles"]
    for domain in meta(variant)["domains"]:
        perms = roles[domain["airflow_role"]]
        assert [p for p in perms if p[1] == "DAGs" and p[0] != "menu_access"] == []
        assert [p for p in perms if p[1] in {"ImportError", "Import Errors"}] == []
        assert perms, "a domain role with no permission cannot even open the UI"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_oidc_login_gets_exactly_the_mapped_roles(probes, variant, case):
    m = meta(variant)
    fab = facts(probes, variant, "fab")
    if case == "domain_group" and not m["domains"]:
        pytest.skip("no domains in this variant")
    login = Checks(fab["logins"], f"{variant}'s FAB login")[case]
    assert login["status"] == 302
    assert login["roles"] is not None, f"{case}: no user was registered"
    mapped = _mapped(_groups(case, m), m)
    extra = set(login["roles"]) - mapped
    assert mapped <= set(login["roles"])
    assert {r for r in extra if fab["roles"][r]} == set(), f"{case}: roles beyond the mapping grant something"


def _folders(probes, variant: str) -> dict[str, str]:
    """Accepted sample DAG id -> its domain folder ('' for the platform), from the policy check."""
    domains = {d["name"] for d in meta(variant)["domains"]}
    return {
        case["dag_id"]: (rel.split("/")[0] if rel.split("/")[0] in domains else "")
        for rel, case in facts(probes, variant, "dagbag").items()
        if case["intent"] == "accept"
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_admin_reads_every_dag_and_an_unmapped_user_none(probes, variant):
    access = facts(probes, variant, "dag_access")
    assert access["readable"]["admin_group_as_string"] == sorted(_folders(probes, variant))
    assert access["readable"]["unmapped_group"] == []


@pytest.mark.parametrize("variant", [v for v in VARIANTS if meta(v)["domains"]])
def test_domain_user_reads_its_own_domain_dags(probes, variant):
    """FabAuthManager.is_authorized_dag, after the DAGs' permissions are synced from their
    access_control as the dag-processor does; the domain's DAGs grant its role (README)."""
    access = facts(probes, variant, "dag_access")
    domain = meta(variant)["domains"][0]["name"]
    own = {d for d, folder in _folders(probes, variant).items() if folder == domain}
    assert own and own <= set(access["readable"]["domain_group"])


@pytest.mark.parametrize("variant", [v for v in VARIANTS if meta(v)["domains"]])
def test_domain_user_reads_no_dag_outside_its_domain(probes, variant):
    """A domain's people must not see or trigger (can_edit) DAGs that run as the platform or as
    another domain, whatever those DAGs' authors wrote into access_control."""
    access = facts(probes, variant, "dag_access")
    domain = meta(variant)["domains"][0]["name"]
    own = {d for d, folder in _folders(probes, variant).items() if folder == domain}
    assert set(access["readable"]["domain_group"]) - own == set()


@pytest.mark.parametrize("variant", [v for v in VARIANTS if meta(v)["domains"]])
def test_domain_user_has_no_write_outside_its_dags(probes, variant):
    """A domain's people act on their DAGs only: no write the auth manager checks against no DAG."""
    assert facts(probes, variant, "dag_access")["global_writes"]["domain_group"] == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_unmapped_user_has_no_write_at_all(probes, variant):
    assert facts(probes, variant, "dag_access")["global_writes"]["unmapped_group"] == []
