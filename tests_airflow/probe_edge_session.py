"""A browser's Airflow session and the edge's person, through Airflow 3.1.7's real api-server app (the
root FastAPI app with the program's plugin, auth manager and FAB config, on a migrated SQLite database).

Run as ``python -m tests_airflow.probe_edge_session VARIANT_DIR OUT_JSON`` in ``.venv-airflow``. Facts
only, one per check (a check that raises records its traceback, ``probe_io.guarded``);
``tests_airflow/test_edge_session.py`` holds the expectations.

Every request carries what oauth2-proxy adds for the person it authenticated (``X-Forwarded-Email``,
``-User``, ``-Preferred-Username``; pass_user_headers). Person A signs in through FAB's own OAuth views
(``/auth/login/<provider>`` then the callback; only the IdP's redirect and token exchange are
replaced, as in probe_fab.py), which sets FAB's session and Airflow's ``_token`` cookie. Then A's
cookies are sent with B's headers (oauth2-proxy's session ended and B signed in on the same browser),
with A's headers, and without edge headers; B then signs in on that browser. A machine client's IdP
token (probe_machine.py's IdP) passes with oauth2-proxy's headers for it. The control is the same app
without the program's middleware (Airflow's behaviour).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests_airflow import probe_io
from tests_airflow.probe_io import guarded

PATHS = {"api": "/api/v2/dags", "ui": "/ui/config", "fab": "/auth/users/userinfo/"}


def edge(person: dict[str, str]) -> dict[str, str]:
    """oauth2-proxy's headers for a person session (``sub``, ``email``, ``preferred_username``)."""
    headers = {
        "X-Forwarded-User": person["sub"],
        "X-Forwarded-Email": person.get("email", ""),
        "X-Forwarded-Preferred-Username": person["preferred_username"],
    }
    return {k: v for k, v in headers.items() if v}


def _flask_app(app: Any) -> Any:
    """FAB's Flask app inside the root app (``/auth`` mount, FabAuthManager.get_fastapi_app)."""
    auth = next(r.app for r in app.routes if getattr(r, "path", "") == "/auth")
    return next(r.app.app for r in auth.routes if type(r.app).__name__ == "WSGIMiddleware")


def login(client: Any, flask_app: Any, provider: str, person: dict[str, Any], seen: list[str]) -> dict[str, Any]:
    """FAB's OAuth login of ``person`` through the root app, with the edge's headers for that person."""
    from flask import redirect

    remote = flask_app.appbuilder.sm.oauth_remotes[provider]
    remote.authorize_redirect = lambda redirect_uri, state=None, **_: redirect(f"https://idp.invalid/a?state={state}")
    remote.authorize_access_token = lambda **_: {"access_token": "probe", "token_type": "Bearer", "userinfo": person}
    headers = edge(person)
    start = client.get(f"/auth/login/{provider}", headers=headers, follow_redirects=False)
    (state,) = parse_qs(urlsplit(start.headers["location"]).query)["state"]
    callback = f"/auth/oauth-authorized/{provider}"
    steps = [start, client.get(callback, params={"state": state}, headers=headers, follow_redirects=False)]
    # Follow FAB's redirects (the token cookie is set on one of them: providers/fab/www/views.py redirect).
    while steps[-1].status_code == 302 and len(steps) < 5:
        location = urlsplit(steps[-1].headers["location"])
        if location.netloc not in ("", "airflow.example.com"):
            break
        steps.append(client.get(location.path, headers=headers, follow_redirects=False))
    for step in steps:
        seen += step.headers.get_list("set-cookie")
    return {"statuses": [s.status_code for s in steps], "cookies": dict(client.cookies)}


def call(app: Any, path: str, cookies: dict[str, str], headers: dict[str, str], seen: list[str]) -> dict[str, Any]:
    """One request with exactly these cookies and headers (a fresh client: no jar carried over)."""
    from fastapi.testclient import TestClient

    client = TestClient(app, base_url="https://airflow.example.com")
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    response = client.get(path, headers={**headers, "Cookie": cookie}, follow_redirects=False)
    set_cookie = response.headers.get_list("set-cookie")
    seen += set_cookie
    return {
        "status": response.status_code,
        "location": response.headers.get("location"),
        "cleared": sorted(c.split("=", 1)[0] for c in set_cookie if "max-age=0" in c.lower()),
        "set": sorted(c.split("=", 1)[0] for c in set_cookie if "max-age=0" not in c.lower()),
    }


def matrix(app: Any, cookies: dict[str, str], cases: dict[str, dict[str, str]], seen: list[str]) -> dict[str, Any]:
    return {case: {p: call(app, path, cookies, h, seen) for p, path in PATHS.items()} for case, h in cases.items()}


def token_user(token: str) -> str:
    """The username of an Airflow ``_token`` (FabAuthManager: ``sub`` is the FAB user id)."""
    import asyncio

    from airflow.api_fastapi.app import get_auth_manager

    return asyncio.run(get_auth_manager().get_user_from_token(token)).username


def pause(app: Any, cookies: dict[str, str], headers: dict[str, str]) -> int:
    """Status of pausing a DAG (a write a Viewer may not do), then unpausing it again if it worked."""
    from fastapi.testclient import TestClient

    from tests_airflow.probe_machine import DAG

    client = TestClient(app, base_url="https://airflow.example.com")
    cookie = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    url = f"/api/v2/dags/{DAG}"
    status = client.patch(url, json={"is_paused": True}, headers={**headers, **cookie}).status_code
    if status == 200:
        client.patch(url, json={"is_paused": False}, headers={**headers, **cookie})
    return status


def without_edge_session(app: Any) -> Any:
    """The root app's middleware stack without the program's EdgeSession (Airflow's own behaviour)."""
    kept = list(app.user_middleware)
    app.user_middleware[:] = [m for m in kept if m.cls.__name__ != "EdgeSession"]
    try:
        stack = app.build_middleware_stack()
    finally:
        app.user_middleware[:] = kept

    async def control(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["app"] = app  # what Starlette.__call__ sets before its middleware stack
        await stack(scope, receive, send)

    return control


def run(variant: Path, work: Path) -> dict[str, Any]:
    from tests_airflow import probe, probe_api, probe_machine

    probe.prepare(variant.parent, variant, work)
    home = work / "home"
    shutil.copytree(variant / "plugins", home / "plugins")
    os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(home / "plugins")
    os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = "probe-jwt-secret-not-a-real-one"
    meta = json.loads((variant / "meta.json").read_text())
    machine = json.loads(os.environ["AIRFLOW_MESH_AUTH_MANAGER"])
    provider = json.loads(os.environ["AIRFLOW_MESH_WEBSERVER_CONFIG"])["provider"]

    import httpx
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.tokens import key_to_jwk_dict
    from airflow.configuration import conf
    from airflow.utils.db import resetdb
    from fastapi.testclient import TestClient

    resetdb()
    probe_api.world(work / "dags")
    app = create_app()
    flask_app = _flask_app(app)
    admins = next(g for g, role in meta["role_mappings"] if role == "Admin")
    claim = meta["groups_claim"]
    a = {"sub": "00u-ana", "email": "ana@example.com", "preferred_username": "ana@example.com", claim: [admins]}
    b = {"sub": "00u-bob", "email": "bob@example.com", "preferred_username": "bob@example.com", claim: [admins]}
    seen: list[str] = []
    browser = TestClient(app, base_url="https://airflow.example.com")
    login_a = login(browser, flask_app, provider, a, seen)
    cookies = login_a["cookies"]
    cases = {
        "same_person": edge(a),
        "same_person_other_case": {**edge(a), "X-Forwarded-Email": a["email"].upper()},
        "other_person": edge(b),
        "no_edge_headers": {},
    }
    facts: dict[str, Any] = {
        "middlewares": [m.cls.__name__ for m in app.user_middleware],
        "jwt_expiration_time": conf.getint("api_auth", "jwt_expiration_time"),
        "flask_session_lifetime_s": flask_app.config["PERMANENT_SESSION_LIFETIME"],
        "flask_session_cookie_secure": flask_app.config["SESSION_COOKIE_SECURE"],
        "login_a": {"statuses": login_a["statuses"], "cookies": sorted(cookies)},
    }
    # One fact per check (probe_io.guarded), in the order the requests were always made: A's session is
    # signed out by the refusal under B's headers before B signs in on the same browser.
    facts["bound"] = guarded(lambda: matrix(app, cookies, cases, seen))
    # A's FAB session after the refusal under B's headers: signed out on the server, not only in that response.
    facts["a_after_refusal"] = guarded(lambda: call(app, PATHS["fab"], cookies, edge(a), seen))

    # B signs in on the same browser (A's cookies still in its jar).
    b_cookies: dict[str, str] = {}

    def login_b() -> dict[str, Any]:
        done = login(browser, flask_app, provider, b, seen)
        b_cookies.update(done["cookies"])
        return {"statuses": done["statuses"], "cookies": sorted(done["cookies"])}

    facts["login_b"] = guarded(login_b)
    facts["b_calls"] = guarded(lambda: {p: call(app, path, b_cookies, edge(b), seen) for p, path in PATHS.items()})

    def email_changed() -> dict[str, Any]:
        """A's email changed at the IdP (same username): FAB's user follows at the next login, the binding holds."""
        renamed = {**a, "email": "ana.new@example.com"}
        fresh = TestClient(app, base_url="https://airflow.example.com")
        return call(app, PATHS["api"], login(fresh, flask_app, provider, renamed, seen)["cookies"], edge(renamed), seen)

    def no_email() -> dict[str, Any]:
        """A person whose IdP sends no email (FAB stores <username>@email.notfound): matched on the username."""
        c = {"sub": "00u-cy", "preferred_username": "cy", claim: [admins]}
        login_c = login(TestClient(app, base_url="https://airflow.example.com"), flask_app, provider, c, seen)
        return {
            "same": call(app, PATHS["api"], login_c["cookies"], edge(c), seen),
            "other": call(app, PATHS["api"], login_c["cookies"], edge(b), seen),
        }

    facts["email_changed"] = guarded(email_changed)
    facts["no_email"] = guarded(no_email)
    # Airflow refuses a broken token itself and clears it (refresh_token.py): with Secure now.
    facts["broken_token"] = guarded(lambda: call(app, PATHS["api"], {"_token": "not-a-jwt"}, edge(a), seen))

    key = probe_machine._key()
    published = [key_to_jwk_dict(key, probe_machine.KID)]
    type(get_auth_manager()).http_client = httpx.AsyncClient(
        transport=probe_machine.idp_transport(machine["issuer"], published)
    )
    token = probe_machine.tokens(machine, key, probe_machine._key())["mapped_client"]
    client_id = sorted(machine["clients"])[0]
    # oauth2-proxy's headers for a bearer session: the token's sub as user and email (providers/oidc.go).
    machine_headers = {
        "Authorization": f"Bearer {token}",
        "X-Forwarded-User": client_id,
        "X-Forwarded-Email": client_id,
    }
    facts["machine"] = guarded(lambda: call(app, PATHS["api"], {}, machine_headers, seen))
    # The same machine request carrying a person's _token cookie: Airflow serves the cookie's user, not the
    # bearer's (JWTRefreshMiddleware puts it in request.state.user, which core_api/security.py get_user
    # returns before it reads the Authorization header).
    facts["machine_with_cookie"] = guarded(
        lambda: call(app, PATHS["api"], {"_token": cookies["_token"]}, machine_headers, seen)
    )
    viewer = probe_machine.tokens(machine, key, probe_machine._key())["mapped_scope"]  # 0oa-reporting: Viewer
    viewer_headers = {"Authorization": f"Bearer {viewer}", "X-Forwarded-User": "0oa-reporting"}
    viewer_headers["X-Forwarded-Email"] = "0oa-reporting"

    control_seen: list[str] = []

    def control() -> dict[str, Any]:
        """The same requests through the app without the program's middleware: Airflow's behaviour."""
        bare = without_edge_session(app)
        return {
            "other_person": {p: call(bare, path, cookies, edge(b), control_seen) for p, path in PATHS.items()},
            "broken": call(bare, PATHS["api"], {"_token": "not-a-jwt"}, edge(a), control_seen),
            "viewer_pause": pause(bare, {}, viewer_headers),
            "viewer_with_admin_cookie_pause": pause(bare, {"_token": cookies["_token"]}, viewer_headers),
        }

    facts["control"] = guarded(control)
    facts["token_user_a"] = guarded(lambda: token_user(cookies["_token"]) if "_token" in cookies else None)
    facts["token_user_b"] = guarded(lambda: token_user(b_cookies["_token"]) if "_token" in b_cookies else None)
    facts["viewer_with_admin_cookie_pause"] = guarded(lambda: pause(app, {"_token": cookies["_token"]}, viewer_headers))
    facts["set_cookie"] = seen
    facts["control_set_cookie"] = control_seen
    return facts


if __name__ == "__main__":
    probe_io.cli("probe_edge_session", run)
