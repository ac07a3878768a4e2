"""Journeys 3 (big sessions) and 4 (logout), walked from the recorded objects by ``plan explain``.

Each walk is also run on a copy of the recorded plan with one layer broken the way the issue found it
(NGINX's default buffer, no redirect of Airflow's Logout, the IdP missing from oauth2-proxy's allowed
redirects), so the walk is shown to deny exactly there.
"""

from __future__ import annotations

import copy
import json

import pytest

from components.edge import routes
from plan import journey_sessions
from plan.explain import Explainer
from plan.journey_timeouts import RELEASE
from tests import stacks

STACK = "dev"
ADMINS = "data-platform-admins"
BIG = {"oauth2ProxySessionMaxGroups": 30, "oauth2ProxySessionMaxGroupNameBytes": 40}


@pytest.fixture(scope="module")
def redis_plan():
    overrides = {**BIG, "oauth2ProxySessionStore": "redis"}
    return stacks.run(STACK, overrides), stacks.settings_for(STACK, overrides)


def _denied(hops):
    return [h for h in hops if not h.allowed]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_accepted_session_passes_nginx(plans, stack):
    hops = Explainer(plans[stack], stacks.settings_for(stack)).explain(f"group:{ADMINS}", "session")
    assert _denied(hops) == [], [h.line() for h in hops]
    assert any("Cookie line" in h.step for h in hops) and any("proxy_buffer_size" in h.step for h in hops)


def test_thirty_groups_pass_with_redis(redis_plan):
    plan, settings = redis_plan
    hops = journey_sessions.login_session(plan, settings)
    assert _denied(hops) == [], [h.line() for h in hops]
    assert hops[0].step.startswith("session store redis: 1 cookie")


def test_thirty_groups_in_cookies_are_denied_at_nginx(redis_plan):
    """The same session in the cookie store (what the settings rule refuses to plan) fails both NGINX hops
    once the buffer is NGINX's default: the request line, and the callback's 502."""
    plan, settings = copy.deepcopy(redis_plan)
    (release,) = [r for r in plan.resources if "oauth2-proxy" in str(r["inputs"].get("chart"))]
    values = release["inputs"]["values"]
    values = json.loads(values) if isinstance(values, str) else values
    values.pop("sessionStorage")
    release["inputs"]["values"] = values
    (policy,) = [r for r in plan.resources if r["type"].endswith(":ProxySettingsPolicy")]
    del policy["inputs"]["spec"]["buffering"]
    denied = {h.step.split(" ")[0] for h in _denied(journey_sessions.login_session(plan, settings))}
    assert denied == {"Cookie", "callback"}


def test_person_logout_ends_every_session(plans):
    hops = Explainer(plans[STACK], stacks.settings_for(STACK)).explain(f"group:{ADMINS}", "logout")
    assert [h.layer for h in hops] == ["gateway", "airflow", "oauth2-proxy", "idp"]
    assert _denied(hops) == [], [h.line() for h in hops]


def _route(plan):
    (route,) = [r for r in plan.resources if r["type"].endswith(":HTTPRoute") and r["name"].endswith("-route")]
    return route


def test_logout_walk_denies_where_a_layer_breaks(plans):
    no_redirect = copy.deepcopy(plans[STACK])
    spec = _route(no_redirect)["inputs"]["spec"]
    spec["rules"] = [r for r in spec["rules"] if "backendRefs" in r]
    assert [h.layer for h in _denied(journey_sessions.person_logout(no_redirect))] == ["gateway"]

    idp_not_allowed = copy.deepcopy(plans[STACK])
    (release,) = [r for r in idp_not_allowed.resources if "oauth2-proxy" in str(r["inputs"].get("chart"))]
    config = release["inputs"]["values"]["config"]
    config["configFile"] = "\n".join(
        line for line in config["configFile"].splitlines() if not line.startswith("whitelist_domains")
    )
    assert [h.layer for h in _denied(journey_sessions.person_logout(idp_not_allowed))] == ["oauth2-proxy", "idp"]


@pytest.mark.parametrize(
    ("rd", "allowed"),
    [
        ("https://example.okta.com/oauth2/v1/logout?id_token_hint={id_token}", True),
        ("https://example.okta.com:8443/logout", False),  # no port in the allowed entry: default ports only
        ("https://evil.example.net/logout", False),
        ("https://login.example.okta.com/logout", False),  # not a suffix entry
        ("/", True),
        ("//evil.example.net/", False),
        ("/\\evil.example.net/", False),
    ],
)
def test_redirect_check_follows_oauth2_proxy(rd, allowed):
    assert journey_sessions.is_valid_redirect(rd, ["airflow.example.com", "example.okta.com"]) is allowed


def test_logout_route_is_exact_and_only_redirects(plans):
    for plan in plans.values():
        (rule,) = [r for r in _route(plan)["inputs"]["spec"]["rules"] if "backendRefs" not in r]
        assert rule["matches"] == [{"path": {"type": "Exact", "value": p}} for p in routes.LOGOUT_PATHS]
        assert [f["type"] for f in rule["filters"]] == ["RequestHeaderModifier", "RequestRedirect"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_airflow_serves_only_the_edge_persons_session(plans, stack):
    hops = journey_sessions.session_binding(plans[stack])
    assert [h.layer for h in hops] == ["gateway", "oauth2-proxy", "airflow", "airflow"]
    assert _denied(hops) == [], [h.line() for h in hops]
    assert "43200 s" in hops[-1].step


def test_session_binding_walk_denies_where_a_layer_breaks(plans):
    """Without the middleware, with Airflow's 24 h default token, or with forgeable person headers."""
    plan = copy.deepcopy(plans[STACK])
    (plugins,) = [r for r in plan.resources if r["type"].endswith(":ConfigMap") and "plugins" in r["name"]]
    for key, text in plugins["inputs"]["data"].items():
        plugins["inputs"]["data"][key] = text.replace("EdgeSession", "Removed")
    (release,) = [r for r in plan.of_type(RELEASE) if "airflow" in str(r["inputs"].get("chart"))]
    values = release["inputs"]["values"]
    values = json.loads(values) if isinstance(values, str) else values
    values["config"].pop("api_auth")
    release["inputs"]["values"] = values
    rule = next(r for r in _route(plan)["inputs"]["spec"]["rules"] if "backendRefs" in r)
    for f in rule["filters"]:
        if f["type"] == "RequestHeaderModifier":
            f["requestHeaderModifier"]["remove"] = [
                h for h in f["requestHeaderModifier"]["remove"] if h != "X-Forwarded-Email"
            ]
    denied = _denied(journey_sessions.session_binding(plan))
    assert [h.layer for h in denied] == ["gateway", "airflow", "airflow"], [h.line() for h in denied]
    assert "x-forwarded-email" in denied[0].note and "86400 s" in denied[2].step
