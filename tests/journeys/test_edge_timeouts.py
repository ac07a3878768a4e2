"""Journey 2 at the edge: NGINX's timeouts on the Airflow route come from the journey's one number,
in an object NGF's own CRD accepts, and outlast oauth2-proxy's."""

from __future__ import annotations

from components import versions
from components.edge import timeouts
from plan import journey_timeouts
from tests import schemas

POLICY = "kubernetes:gateway.nginx.org/v1alpha1:ProxySettingsPolicy"


def test_proxy_settings_policy_validates_against_the_ngf_crd(plan, upstream):
    (record,) = plan.of_type(POLICY)
    obj = {k: record["inputs"][k] for k in ("apiVersion", "kind", "metadata", "spec")}
    crds = upstream / "nginx-gateway-fabric" / versions.NGINX_GATEWAY_FABRIC_OFFLINE_DATA / "crds"
    assert schemas.custom_resource_errors(obj, crds) == []
    assert obj["spec"]["targetRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "airflow-route"}
    ]


def test_layers_read_back_from_the_plan_nest(plan):
    found = journey_timeouts.layers(plan)
    assert [layer for layer, _, _ in found] == ["nlb", "gateway", "oauth2-proxy"]
    assert found[2][1] == timeouts.API_CALL_SECONDS
    assert found[1][1] == timeouts.API_CALL_SECONDS + timeouts.MARGIN_SECONDS
    assert [s for _, s, _ in found] == sorted((s for _, s, _ in found), reverse=True)
