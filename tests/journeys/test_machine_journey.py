"""Journey 5 (issue 14): a machine's API call, NLB -> NGINX -> oauth2-proxy (bearer token) -> mesh ->
Airflow role, walked by ``plan explain`` on the recorded plans, for every mesh provider.

The dev fixture maps ``client:0oa-ci-deployer`` to Op and ``scope:airflow.read`` to Viewer, with the
Okta authorization server's audience ``api://airflow``; staging adds the people's allowed groups and
the machine group the IdP puts into machine tokens. Airflow's side of the same journey runs in real
Airflow in tests_airflow/test_machine_clients.py.
"""

from __future__ import annotations

import pytest

from components.mesh.component import PROVIDERS
from plan.explain import Explainer, render
from tests import stacks
from tests.components.mesh.mesh_plans import PROVIDER_CONFIG, plan_for

CI, READER, STRANGER = "client:0oa-ci-deployer", "scope:airflow.read", "client:0oa-stranger"


def explainer_for(stack: str, provider: str = "kuma", **overrides) -> Explainer:
    config = {"meshProvider": provider, **PROVIDER_CONFIG.get(provider, {}), **overrides}
    return Explainer(plan_for(stack, provider, **overrides), stacks.settings_for(stack, config))


@pytest.fixture(scope="module", params=sorted(PROVIDERS))
def dev(request) -> Explainer:
    return explainer_for("dev", request.param)


def _denied(hops):
    return [h for h in hops if not h.allowed]


@pytest.mark.parametrize(("principal", "role"), [(CI, "Op"), (READER, "Viewer")])
def test_a_mapped_machine_reaches_airflow_with_its_role(dev, principal, role):
    hops = dev.explain(principal, "/api/v2/dags")
    assert not _denied(hops), render(hops)
    (airflow,) = [h for h in hops if h.layer == "airflow"]
    assert airflow.note == role and "AirflowMeshFabAuthManager" in airflow.decided_by
    (audience,) = [h for h in hops if "audience" in h.step]
    assert "oidc_extra_audiences" in audience.decided_by and "api://airflow" in audience.note
    layers = [h.layer for h in hops]
    assert layers[:5] == ["nlb", "gateway", "gateway", "mesh", "oauth2-proxy"] and "timeout" in layers


def test_an_unmapped_machine_passes_the_edge_and_gets_no_role(dev):
    """Without email domains or allowed groups the edge checks only the token; Airflow refuses the client."""
    hops = dev.explain(STRANGER, "/api/v2/dags")
    assert [h.layer for h in _denied(hops)] == ["airflow"], render(hops)
    assert "unmapped" in _denied(hops)[0].note


def test_with_allowed_groups_a_machine_passes_by_the_machine_group():
    hops = explainer_for("staging").explain(CI, "/api/v2/dags")
    (groups,) = [h for h in hops if "allowed_groups" in h.step]
    assert groups.allowed and "airflow-machines" in groups.note, render(hops)
    assert not _denied(hops), render(hops)


def test_with_email_domains_only_mapped_clients_pass_the_edge():
    restricted = explainer_for(
        "dev", oidcAllowedEmailDomains=("example.com",), machineRoleMappings=("client:0oa-ci-deployer=Op",)
    )
    assert not _denied(restricted.explain(CI, "/api/v2/dags"))
    stranger = restricted.explain(STRANGER, "/api/v2/dags")
    assert _denied(stranger)[0].decided_by == "oauth2-proxy authenticated emails file", render(stranger)


def test_without_machine_audiences_the_token_is_refused_at_the_edge():
    """The documented path before issue 14: an Okta access token's audience is not the client id (#1350)."""
    hops = explainer_for("dev", machineRoleMappings=(), machineTokenAudiences=()).explain(CI, "/api/v2/dags")
    assert _denied(hops)[0].layer == "oauth2-proxy" and "#1350" in _denied(hops)[0].note, render(hops)


def test_the_access_matrix_lists_the_machines():
    from components import access_model
    from plan import access_matrix

    settings = stacks.settings_for("dev")
    matrix = access_matrix.build(access_model.build(settings), settings)
    assert matrix["machines"]["audiences"] == ["api://airflow"]
    assert {"machine": "client:0oa-ci-deployer", "airflowRole": "Op"} in matrix["machines"]["clients"]
    assert "| `scope:airflow.read` | Viewer |" in access_matrix.to_markdown(matrix)


def test_a_route_that_removed_authorization_would_be_the_denying_layer():
    """The walk reads the recorded HTTPRoute: if a route stripped Authorization, the gateway decides."""
    import copy

    plan = copy.deepcopy(plan_for("dev"))
    for route in plan.of_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"):
        for rule in route["inputs"]["spec"]["rules"]:
            for f in rule.get("filters", []):
                if f.get("type") == "RequestHeaderModifier":
                    f["requestHeaderModifier"]["remove"].append("Authorization")
    hops = Explainer(plan, stacks.settings_for("dev", PROVIDER_CONFIG.get("kuma", {}))).explain(CI, "/api/v2/dags")
    assert _denied(hops)[0].layer == "gateway" and "removes it" in _denied(hops)[0].decided_by, render(hops)
