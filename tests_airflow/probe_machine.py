"""Machine clients on Airflow 3.1.7's REST API (issue 14, journey 5), through the real FastAPI app with
the program's auth manager, FAB config and local settings, on a migrated SQLite metadata database.

Run as ``python -m tests_airflow.probe_machine VARIANT_DIR OUT_JSON`` in ``.venv-airflow``. Facts only,
one per check (a check that raises records its traceback, ``probe_io.guarded``);
``tests_airflow/test_machine_clients.py`` holds the expectations.

The api-server's environment is the release's (``[core] auth_manager`` and the auth manager's data
come from ``apiServer.env``); the auth manager module is placed where ``apiServer.extraVolumeMounts``
mounts it (``$AIRFLOW_HOME/config``, bundle folder ``config/``). The IdP is a test RSA key: its
discovery document and JWKS are served to the auth manager's HTTP client by an ``httpx.MockTransport``
at the stack's real issuer URL, so discovery, the JWKS fetch and Airflow's ``JWTValidator`` all run.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from tests_airflow import probe_io
from tests_airflow.probe_io import guarded

#: Key id of the IdP's signing key, and of an attacker's key that reuses it.
KID = "idp-key-1"
#: The DAG the calls read and change (from tests_airflow/probe_api.py ``DAGS``).
DAG = "platform_report"


def _key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def idp_transport(issuer: str, public_jwks: list[dict[str, Any]]) -> Any:
    """An HTTP transport answering the issuer's discovery document and its keys (``public_jwks``, which
    the caller may change: a key rotation); records the calls."""
    import httpx

    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        calls.append(url)
        if url == f"{issuer}/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": issuer, "jwks_uri": f"{issuer}/v1/keys"})
        if url == f"{issuer}/v1/keys":
            return httpx.Response(200, json={"keys": list(public_jwks)})
        return httpx.Response(404)

    transport = httpx.MockTransport(handler)
    transport.calls = calls  # type: ignore[attr-defined]
    return transport


def sign(key: Any, claims: dict[str, Any], kid: str = KID) -> str:
    import jwt

    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def tokens(data: dict[str, Any], key: Any, other_key: Any) -> dict[str, str]:
    """Access tokens as the IdP issues them to clients (Okta's client-credentials shape: cid, scp, sub)."""
    now = int(time.time())
    issuer, audience = data["issuer"], data["audiences"][0]
    client = sorted(data["clients"])[0]
    scope = sorted(data["scopes"])[0] if data["scopes"] else "none"
    base = {"iss": issuer, "aud": audience, "iat": now, "exp": now + 600, "jti": "t"}
    return {
        "mapped_client": sign(key, {**base, "cid": client, "sub": client, "scp": ["airflow.deploy"]}),
        "mapped_scope": sign(key, {**base, "cid": "0oa-reporting", "sub": "0oa-reporting", "scp": [scope]}),
        "unmapped_client": sign(key, {**base, "cid": "0oa-stranger", "sub": "0oa-stranger", "scp": ["x"]}),
        "wrong_audience": sign(key, {**base, "aud": "api://someone-else", "cid": client, "sub": client}),
        "wrong_issuer": sign(key, {**base, "iss": "https://evil.example.com/oauth2/default", "cid": client}),
        "expired": sign(key, {**base, "iat": now - 7200, "exp": now - 3600, "cid": client, "sub": client}),
        "foreign_key": sign(other_key, {**base, "cid": client, "sub": client}),
        "unknown_kid": sign(key, {**base, "cid": client, "sub": client}, kid="not-published"),
        "no_client_no_scope": sign(key, {**base, "sub": "someone"}),
    }


def calls(app: Any, headers_by_caller: dict[str, dict[str, str]], dag: str = DAG) -> dict[str, dict[str, Any]]:
    """Each caller: a read (list DAGs) and a write (pause ``dag``, then unpause it)."""
    from fastapi.testclient import TestClient

    out: dict[str, dict[str, Any]] = {}
    with TestClient(app) as client:
        for caller, headers in headers_by_caller.items():
            read = client.get("/api/v2/dags", headers=headers)
            write = client.patch(f"/api/v2/dags/{dag}", json={"is_paused": True}, headers=headers)
            if write.status_code == 200:
                client.patch(f"/api/v2/dags/{dag}", json={"is_paused": False}, headers=headers)
            out[caller] = {
                "read": read.status_code,
                "read_dags": sorted(d["dag_id"] for d in read.json()["dags"]) if read.status_code == 200 else None,
                "write": write.status_code,
                "detail": (read.json() if read.status_code != 200 else {}).get("detail"),
            }
    return out


def domain_client(app: Any, data: dict[str, Any], key: Any, flask_app: Any) -> dict[str, Any]:
    """A client mapped to a domain role (data as the program writes ``client:0oa-marketing-loader=marketing``),
    with the DAGs' access_control synced as the dag-processor syncs it (collection.py ``_sync_dag_perms``)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session

    with flask_app.app_context(), create_session() as session:
        sm = flask_app.appbuilder.sm
        for dag_id in ("marketing_etl", "finance_etl", DAG):
            dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
            sm.sync_perm_for_dag(dag_id, dag.access_control)
    get_auth_manager().machine["clients"]["0oa-marketing-loader"] = ["marketing"]
    now = int(time.time())
    claims = {"iss": data["issuer"], "aud": data["audiences"][0], "iat": now, "exp": now + 600}
    token = sign(key, {**claims, "cid": "0oa-marketing-loader", "sub": "0oa-marketing-loader"})
    headers = {"domain_client": {"Authorization": f"Bearer {token}"}}
    return {
        "own_dag": calls(app, headers, "marketing_etl")["domain_client"],
        "other_domain_dag": calls(app, headers, "finance_etl")["domain_client"],
    }


def key_rotation(app: Any, data: dict[str, Any], published: list[dict[str, Any]], transport: Any) -> dict[str, Any]:
    """The IdP publishes a new key and signs with it: refused while the keys were fetched moments ago
    (no refetch storm), accepted once the retry interval has passed (as if a minute went by)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.tokens import key_to_jwk_dict

    new_key = _key()
    published.append(key_to_jwk_dict(new_key, "idp-key-2"))
    now = int(time.time())
    client = sorted(data["clients"])[0]
    claims = {"iss": data["issuer"], "aud": data["audiences"][0], "iat": now, "exp": now + 600, "cid": client}
    headers = {"rotated": {"Authorization": f"Bearer {sign(new_key, claims, kid='idp-key-2')}"}}
    jwks = get_auth_manager()._validator.jwks
    jwks.last_fetch_attempt_at = time.monotonic()  # a fetch a moment ago
    fetches = len(transport.calls)
    soon = calls(app, headers)["rotated"]
    fetches_soon = len(transport.calls) - fetches
    jwks.last_fetch_attempt_at -= 60
    later = calls(app, headers)["rotated"]
    return {"soon": soon["read"], "fetches_soon": fetches_soon, "later": later["read"], "later_write": later["write"]}


def deactivated(app: Any, flask_app: Any, client: str, headers: dict[str, str]) -> dict[str, Any]:
    """The mapped ``client``'s call after its FAB user (made at its first call) was deactivated.
    Raises LookupError when the client has no user to deactivate (its calls were refused)."""
    with flask_app.app_context():
        sm = flask_app.appbuilder.sm
        user = sm.find_user(username=f"{client}@machine.invalid")
        if user is None:
            raise LookupError(f"no user {client}@machine.invalid to deactivate: the client's calls made none")
        user.active = False
        sm.update_user(user)
    return calls(app, {"mapped_client": headers})["mapped_client"]


def machine_users(flask_app: Any) -> dict[str, list[str]]:
    """Every machine's FAB user (``<client id>@machine.invalid``) with its roles."""
    with flask_app.app_context():
        users = flask_app.appbuilder.sm.get_all_users()
        return {u.username: sorted(r.name for r in u.roles) for u in users if u.username.endswith("@machine.invalid")}


def login_as_machine(flask_app: Any) -> dict[str, bool]:
    """Whether FAB's OAuth login lets in a person whose IdP username is a machine's (FAB finds users by
    username alone, case-insensitively), and a person with an ordinary username (the control)."""
    with flask_app.app_context():
        sm = flask_app.appbuilder.sm
        person = {"first_name": "P", "last_name": "Q", "role_keys": [sorted(data_groups())[0]]}
        takeover = sm.auth_user_oauth({**person, "username": "0OA-CI-DEPLOYER@machine.invalid"}, False)
        control = sm.auth_user_oauth({**person, "username": "alice@example.com", "email": "alice@example.com"}, False)
    return {"machine_username": takeover is not None, "person_username": control is not None}


def data_groups() -> set[str]:
    """IdP groups of the FAB config's role mapping (webserver_config.py ``AUTH_ROLES_MAPPING``)."""
    return set(json.loads(os.environ["AIRFLOW_MESH_WEBSERVER_CONFIG"])["roles_mapping"])


def fab_alone(mapped_client_token: str) -> dict[str, Any]:
    """Control: the same mapped client's token on an api-server with FAB's own auth manager (today)."""
    from airflow.api_fastapi.app import create_app

    os.environ["AIRFLOW__CORE__AUTH_MANAGER"] = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    return calls(create_app(), {"mapped_client": {"Authorization": f"Bearer {mapped_client_token}"}})["mapped_client"]


def run(variant: Path, work: Path) -> dict[str, Any]:
    from tests_airflow import probe, probe_api

    probe.prepare(variant.parent, variant, work)
    home = work / "home"
    if (variant / "plugins").is_dir():
        shutil.copytree(variant / "plugins", home / "plugins")
    os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(home / "plugins")
    os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = "probe-jwt-secret-not-a-real-one"
    data = json.loads(os.environ["AIRFLOW_MESH_AUTH_MANAGER"])

    import httpx
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.tokens import key_to_jwk_dict
    from airflow.providers.fab.www.app import create_app as create_fab_app
    from airflow.utils.db import resetdb

    resetdb()
    probe_api.world(work / "dags")
    app = create_app()
    manager = get_auth_manager()
    key, other_key = _key(), _key()
    published = [key_to_jwk_dict(key, KID)]
    transport = idp_transport(data["issuer"], published)
    type(manager).http_client = httpx.AsyncClient(transport=transport)

    flask_app = create_fab_app(enable_plugins=False)
    with flask_app.app_context():
        sm = flask_app.appbuilder.sm
        admin = sm.add_user("probe-admin", "P", "A", "a@x.io", sm.find_role("Admin"))
        own_token = get_auth_manager().generate_jwt(admin)

    signed = tokens(data, key, other_key)
    headers = {name: {"Authorization": f"Bearer {token}"} for name, token in signed.items()}
    headers["airflow_own_token"] = {"Authorization": f"Bearer {own_token}"}
    headers["no_token"] = {}
    # Each check is its own fact (probe_io.guarded), in this order: the calls create the machines' users,
    # the later checks change or read them; the FAB-alone control swaps the auth manager, so it is last.
    client = sorted(data["clients"])[0]
    facts: dict[str, Any] = {
        "auth_manager": f"{type(manager).__module__}.{type(manager).__name__}",
        "auth_manager_file": str(sys.modules[type(manager).__module__].__file__),
        "data": data,
    }
    facts["calls"] = guarded(lambda: calls(app, headers))
    facts["domain_client"] = guarded(lambda: domain_client(app, data, key, flask_app))
    facts["key_rotation"] = guarded(lambda: key_rotation(app, data, published, transport))
    facts["deactivated"] = guarded(lambda: deactivated(app, flask_app, client, headers["mapped_client"]))
    facts["machine_users"] = guarded(lambda: machine_users(flask_app))
    facts["login_as_machine"] = guarded(lambda: login_as_machine(flask_app))
    facts["idp_requests"] = list(transport.calls)
    facts["fab_alone"] = guarded(lambda: fab_alone(signed["mapped_client"]))
    return facts


if __name__ == "__main__":
    probe_io.cli("probe_machine", run)
