"""Journey 4 (logout) in a real FAB app built from the generated ``webserver_config.py``: after a real
OIDC login, FAB's logout view ends FAB's session and Airflow's JWT cookie, and sends the browser to
oauth2-proxy's sign-out with the IdP's logout as ``rd`` (probe_fab.logout)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests_airflow.support import VARIANTS, facts, meta

SIGN_OUT = "/oauth2/sign_out"


def _rd(location: str) -> str:
    parts = urlsplit(location)
    assert parts.path == SIGN_OUT, location
    (rd,) = parse_qs(parts.query)["rd"]
    return rd


@pytest.mark.parametrize("variant", VARIANTS)
def test_logout_is_ours_and_ends_the_airflow_session(probes, variant):
    out = facts(probes, variant, "logout")
    assert out["view"] == "AirflowMeshAuthOAuthView.logout" and out["rule"] == "/logout/"
    for case in ("discovered", "foreign_host", "none"):
        result = out[case]
        assert result["userinfo_before"] == 200, "the probe user was signed in"
        assert result["status"] == 302
        assert result["userinfo_after"] == 302 and "/login/" in result["userinfo_after_location"]
        cleared = {c.split("=", 1)[0] for c in result["set_cookie"] if "Max-Age=0" in c}
        assert {"session", "_token"} <= cleared, result["set_cookie"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_logout_goes_to_the_discovered_idp_logout_through_oauth2_proxy(probes, variant):
    m = meta(variant)
    issuer = urlsplit(m["oidc_issuer_url"])
    home = f"https://{m['airflow_hostname']}/"
    idp = urlsplit(_rd(facts(probes, variant, "logout")["discovered"]["location"]))
    assert (idp.scheme, idp.hostname) == ("https", issuer.hostname)
    query = parse_qs(idp.query)
    assert query["post_logout_redirect_uri"] == [home]
    # oauth2-proxy puts the session's ID token here (oauthproxy.go SignOut, idTokenPlaceholder)
    assert query["id_token_hint"] == ["{id_token}"]
    assert query["client_id"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_without_a_usable_idp_logout_the_browser_comes_home(probes, variant):
    """No end_session_endpoint (Google), or one on a host oauth2-proxy would refuse: Airflow's and
    oauth2-proxy's sessions still end, and the browser is sent home rather than to a refused URL."""
    home = f"https://{meta(variant)['airflow_hostname']}/"
    out = facts(probes, variant, "logout")
    assert _rd(out["none"]["location"]) == home
    assert _rd(out["foreign_host"]["location"]) == home
