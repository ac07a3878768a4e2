"""A browser's Airflow session belongs to the person the edge authenticated on that request, and every
cookie the api-server sets is Secure (facts: tests_airflow/probe_edge_session.py, the real api-server
app of Airflow 3.1.7 with the program's plugin, auth manager and FAB config).

Person A signs in through FAB's OAuth views; A's cookies are then sent with oauth2-proxy's headers of
person B (A's edge session ended, B signed in on the same browser), of A, and without edge headers.
"""

from __future__ import annotations

import pytest

ALL = ("api", "ui", "fab")
#: 12 h: oauth2-proxy's cookie_expire (components/platform.py EDGE_SESSION_SECONDS).
EDGE_SESSION_S = 43200


def test_the_login_gives_the_person_an_airflow_token_of_their_own(edge):
    assert edge["login_a"]["cookies"] == ["_token", "session"]
    assert edge["token_user_a"] == "ana@example.com"
    assert edge["middlewares"].index("EdgeSession") < edge["middlewares"].index("ExecutionScope")


@pytest.mark.parametrize("case", ["same_person", "same_person_other_case"])
def test_the_same_person_keeps_working_on_every_path(edge, case):
    for path in ALL:
        assert edge["bound"][case][path]["status"] == 200, (case, path)
        assert edge["bound"][case][path]["cleared"] == [], (case, path)


@pytest.mark.parametrize("path", ["api", "ui"])
def test_another_persons_edge_session_refuses_and_clears_the_token_on_the_rest_api_and_ui(edge, path):
    result = edge["bound"]["other_person"][path]
    assert result["status"] == 401 and result["cleared"] == ["_token", "session"]


def test_another_persons_edge_session_signs_the_fab_session_out(edge):
    result = edge["bound"]["other_person"]["fab"]
    assert result["status"] == 302 and result["location"].startswith("/auth/login/")
    assert result["cleared"] == ["_token"]
    # On the server too: A's own FAB session cookie no longer signs anyone in.
    assert edge["a_after_refusal"]["status"] == 302


def test_without_the_program_airflow_lets_the_next_person_act_as_the_previous_one(edge):
    """The control: Airflow's own app answers B's requests as A (the fault this binding closes)."""
    control = edge["control"]["other_person"]
    assert (control["api"]["status"], control["ui"]["status"]) == (200, 200)


def test_the_next_person_signs_in_as_themselves_on_the_same_browser(edge):
    assert edge["token_user_b"] == "bob@example.com"
    assert {p: r["status"] for p, r in edge["b_calls"].items()} == {"api": 200, "ui": 200, "fab": 200}


def test_requests_without_edge_headers_and_machine_tokens_are_unaffected(edge):
    """No edge person (not through oauth2-proxy) means nothing to compare; a machine's IdP token with
    oauth2-proxy's headers for it (the client id as user and email) reads as before."""
    assert edge["bound"]["no_edge_headers"]["api"]["status"] == 200
    assert edge["bound"]["no_edge_headers"]["ui"]["status"] == 200
    assert edge["machine"]["status"] == 200 and edge["machine"]["cleared"] == []


def test_a_token_airflow_refuses_is_still_refused_and_cleared_by_airflow(edge):
    assert edge["broken_token"]["status"] == 403 and edge["broken_token"]["cleared"] == ["_token"]


def _secure(cookie: str) -> bool:
    return "secure" in {a.strip().lower() for a in cookie.split(";")[1:]}


def test_every_cookie_with_a_value_is_secure_and_http_only(edge):
    """FAB's session and Airflow's _token (FAB's login redirect, the binding's clearing) all Secure.
    One exception Airflow keeps: JWTRefreshMiddleware's deletion of a token it refused is added
    outside every plugin middleware (api_fastapi/app.py adds plugins' middlewares before its own) and
    is Secure only with [api] ssl_cert; it carries no value (``_token=""; Max-Age=0``)."""
    cookies = edge["set_cookie"]
    assert any(c.startswith("_token=") and "max-age=0" not in c.lower() for c in cookies), "the login's token"
    valued = [c for c in cookies if not c.split(";")[0].endswith(("=", '=""'))]
    assert valued and all(_secure(c) for c in valued), valued
    assert all("httponly" in c.lower() for c in cookies)
    unsecured = [c for c in cookies if not _secure(c)]
    assert unsecured == ['_token=""; HttpOnly; Max-Age=0; Path=/; SameSite=lax'], unsecured


def test_airflow_sessions_never_outlive_the_edge_session(edge):
    assert edge["jwt_expiration_time"] == EDGE_SESSION_S
    assert edge["flask_session_lifetime_s"] == EDGE_SESSION_S and edge["flask_session_cookie_secure"] is True


def test_a_persons_cookie_never_lends_its_roles_to_a_bearer_request(edge):
    """Found on the way: with a bearer token *and* a ``_token`` cookie Airflow serves the cookie's user
    (JWTRefreshMiddleware sets ``request.state.user`` from the cookie, which core_api/security.py
    ``get_user`` returns before reading the Authorization header): a Viewer machine's request pauses a
    DAG with an Admin's cookie. The binding refuses it: the cookie is not the edge's person (the client)."""
    control = edge["control"]
    assert (control["viewer_pause"], control["viewer_with_admin_cookie_pause"]) == (403, 200)
    assert edge["viewer_with_admin_cookie_pause"] == 401
    assert edge["machine_with_cookie"]["status"] == 401


def test_a_changed_email_and_a_missing_email_do_not_lock_the_person_out(edge):
    """FAB keeps the first login's email and writes ``<username>@email.notfound`` when the IdP sends
    none; a binding on those would refuse the person at every request, forever."""
    assert edge["email_changed"]["status"] == 200
    assert edge["no_email"]["same"]["status"] == 200 and edge["no_email"]["other"]["status"] == 401
