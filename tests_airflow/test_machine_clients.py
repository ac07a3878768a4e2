"""Issue 14, journey 5: machine clients reach Airflow 3.1.7's REST API with the IdP's access tokens,
with exactly the role their client id or scope maps to (facts: tests_airflow/probe_machine.py).

The IdP is a test RSA key served at the stack's real issuer URL; the tokens have the shape of Okta
client-credentials tokens (``cid``, ``scp``, ``sub`` = client id, ``aud`` = the authorization
server's audience).
"""

from __future__ import annotations

import pytest

REFUSED = ("wrong_audience", "wrong_issuer", "foreign_key", "unknown_kid", "unmapped_client", "no_client_no_scope")


def test_the_api_server_runs_the_programs_auth_manager_from_its_config_folder(machine):
    """Loaded from where the values mount it; the name keeps DAG access_control sync on
    (``"FabAuthManager" in [core] auth_manager``, dag_processing/collection.py)."""
    assert machine["auth_manager"] == "airflow_mesh_auth_manager.AirflowMeshFabAuthManager"
    assert machine["auth_manager_file"].endswith("/home/config/airflow_mesh_auth_manager.py")
    assert "FabAuthManager" in machine["auth_manager"].rsplit(".", 1)[1]


def test_with_fab_alone_the_mapped_clients_token_is_refused(machine):
    """Today's behaviour, the reason for the auth manager: "Invalid JWT token"."""
    assert machine["fab_alone"]["read"] == 403 and machine["fab_alone"]["detail"] == "Invalid JWT token"


def test_a_mapped_client_gets_its_roles_permissions(machine):
    """client:0oa-ci-deployer=Op reads and changes DAGs; scope:airflow.read=Viewer only reads."""
    calls = machine["calls"]
    assert (calls["mapped_client"]["read"], calls["mapped_client"]["write"]) == (200, 200)
    assert (calls["mapped_scope"]["read"], calls["mapped_scope"]["write"]) == (200, 403)
    assert len(calls["mapped_scope"]["read_dags"]) == 4
    assert machine["machine_users"]["0oa-ci-deployer@machine.invalid"] == ["Op"]
    assert machine["machine_users"]["0oa-reporting@machine.invalid"] == ["Viewer"]


def test_a_client_mapped_to_a_domain_role_sees_and_changes_only_its_domain(machine):
    own, other = machine["domain_client"]["own_dag"], machine["domain_client"]["other_domain_dag"]
    assert own["read_dags"] == ["marketing_etl"]
    assert own["write"] == 200 and other["write"] == 403


@pytest.mark.parametrize("caller", REFUSED)
def test_tokens_that_are_not_a_mapped_clients_are_refused(machine, caller):
    result = machine["calls"][caller]
    assert (result["read"], result["write"]) == (403, 403), result
    assert result["detail"] == "Invalid JWT token"


def test_an_expired_token_is_refused_as_expired(machine):
    assert machine["calls"]["expired"]["read"] == 401 and machine["calls"]["expired"]["detail"] == "Token Expired"


def test_an_unmapped_machine_gets_no_user_at_all(machine):
    assert set(machine["machine_users"]) == {
        "0oa-ci-deployer@machine.invalid",
        "0oa-reporting@machine.invalid",
        "0oa-marketing-loader@machine.invalid",
    }


def test_no_person_signs_in_under_a_machines_username(machine):
    """FAB finds an OAuth user by username alone (case-insensitively): without the guard in
    webserver_config.py a person named like a machine would take over its user and, at its next
    call, its roles."""
    assert machine["login_as_machine"] == {"machine_username": False, "person_username": True}


def test_airflows_own_tokens_still_work(machine):
    own = machine["calls"]["airflow_own_token"]
    assert (own["read"], own["write"]) == (200, 200)
    assert machine["calls"]["no_token"]["read"] == 401


def test_keys_come_from_the_issuers_discovery_document(machine):
    issuer = machine["data"]["issuer"]
    assert machine["idp_requests"][:2] == [f"{issuer}/.well-known/openid-configuration", f"{issuer}/v1/keys"]


def test_a_rotated_signing_key_is_fetched_when_first_seen_and_not_in_a_storm(machine):
    """Airflow's JWKS refetches hourly; a token signed with a key the IdP published since is refused
    within the retry interval (no fetch per request) and accepted after it (one refetch)."""
    rotation = machine["key_rotation"]
    assert (rotation["soon"], rotation["fetches_soon"]) == (403, 0)
    assert (rotation["later"], rotation["later_write"]) == (200, 200)


def test_deactivating_a_machines_user_refuses_its_tokens_at_once(machine):
    assert machine["deactivated"]["read"] == 403 and machine["deactivated"]["detail"] == "Invalid JWT token"
