"""Each render and API-server check fails on a deliberately broken input."""

from __future__ import annotations

import pytest

from proof import apiserver, objects, reviewed
from proof.charts import ChartError, ChartLibrary
from tests.proof.broken import deployment, namespace, object_set


def _release(chart: str, version: str, values: dict, name: str = "x") -> dict:
    inputs = {"chart": chart, "version": version, "name": name, "namespace": "ns", "values": values}
    return {"type": "kubernetes:helm.sh/v3:Release", "name": f"test-{name}", "inputs": inputs}


@pytest.fixture(scope="module")
def library(upstream) -> ChartLibrary:
    return ChartLibrary(upstream)  # renders cached in build/proof like the suite's


def test_values_the_chart_schema_rejects_are_a_render_error(library):
    with pytest.raises(ChartError, match="scheduler/replicas"):
        library.render(_release("airflow", "1.19.0", {"scheduler": {"replicas": "two"}}), "1.34")


def test_an_enabled_dependency_missing_offline_is_a_render_error(library):
    with pytest.raises(ChartError, match="redis-ha"):
        library.render(_release("oauth2-proxy", "10.7.0", {"redis-ha": {"enabled": True}}), "1.34")


def test_a_chart_version_not_in_the_offline_data_is_an_error(library):
    with pytest.raises(ChartError, match=r"no upstream chart airflow 9\.9\.9"):
        library.render(_release("airflow", "9.9.9", {}), "1.34")


def test_release_pipeline_edits_are_applied(library):
    """Kuma's chart in git says 0.0.0-preview; the published one (and its images) say 2.14.3."""
    rendered = library.render(_release("kuma", "2.14.3", {}, name="kuma"), "1.34")
    images = {c["image"] for _, o in rendered.objects for c in _containers(o)}
    assert any(i.endswith(":2.14.3") for i in images) and not any("preview" in i for i in images)
    assert not any(c["spec"]["names"]["kind"] == "MeshGatewayConfig" for c in rendered.crds)


def _containers(obj: dict) -> list[dict]:
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def test_unknown_field_on_a_builtin_kind_is_rejected():
    bad = deployment("web")
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    report = apiserver.validate(object_set(bad))
    assert any("imagePullPolicyy" in e for e in report.errors), report.errors


def test_an_api_version_the_cluster_does_not_serve_is_rejected():
    pdb = {"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget", "metadata": {"name": "p", "namespace": "a"}}
    assert any("does not serve" in e for e in apiserver.validate(object_set(pdb)).errors)


def _gateway_api_set(upstream, *bodies):
    crds = [o.body for o in objects.config_file_crds([_gateway_api_config_file()], upstream)]
    return object_set(*crds, *bodies)


def _gateway_api_config_file() -> dict:
    url = "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.5.1/standard-install.yaml"
    return {"type": objects.CONFIG_FILE, "name": "crds", "inputs": {"file": url}}


def _route(path: str, **extra) -> dict:
    rule = {"matches": [{"path": {"type": "PathPrefix", "value": path}}], **extra}
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "a"},
        "spec": {"parentRefs": [{"name": "gw"}], "rules": [rule]},
    }


def test_a_custom_resource_without_its_crd_in_the_stack_is_rejected():
    assert any("no CRD" in e for e in apiserver.validate(object_set(_route("/"))).errors)


def test_unknown_field_on_a_custom_resource_is_rejected(upstream):
    bad = _route("/")
    bad["spec"]["hostnamez"] = ["x"]
    report = apiserver.validate(_gateway_api_set(upstream, bad))
    assert any("hostnamez" in e for e in report.errors), report.errors


def test_a_cel_rule_violation_is_rejected(upstream):
    """Gateway API: a PathPrefix value must start with '/' (a CEL rule, not an OpenAPI pattern)."""
    good = apiserver.validate(_gateway_api_set(upstream, _route("/api")))
    assert good.errors == [] and good.cel_evaluated > 10
    bad = apiserver.validate(_gateway_api_set(upstream, _route("api")))
    assert any("must be an absolute path" in e for e in bad.errors), bad.errors


def test_a_cel_rule_using_a_kubernetes_library_function_is_evaluated():
    schema = {"type": "object", "properties": {"url": {"type": "string"}, "mem": {"type": "string"}}}
    for rule, value, expected in [
        (
            "isURL(self.url) && url(self.url).getHostname() == 'example.com'",
            {"url": "https://example.com:8443/x"},
            True,
        ),
        ("isURL(self.url)", {"url": "not a url"}, False),
        ("quantity(self.mem).isGreaterThan(quantity('1Gi'))", {"mem": "1500Mi"}, True),
        ("quantity(self.mem).compareTo(quantity('1G')) < 0", {"mem": "900M"}, True),
        ("self.url.split('/').size() == 4 && self.url.lowerAscii().startsWith('https')", {"url": "HTTPS://a/b"}, True),
        ("isCIDR('10.0.0.0/8') && cidr('10.0.0.0/8').containsIP('10.1.2.3')", {}, True),
        ("[1, 2, 3].isSorted() && [1, 2, 3].sum() == 6", {}, True),
    ]:
        assert apiserver.evaluate({"rule": rule}, value, schema) is expected, rule


def test_an_unevaluable_rule_without_a_reviewed_reason_fails():
    report = apiserver.Report()
    outcome = apiserver.evaluate({"rule": "format.dns1123Label().validate(self).hasValue()"}, "x", {})
    assert isinstance(outcome, apiserver.Unevaluable)
    report.unevaluable.add(
        apiserver.Unevaluable("example.io/Thing", "format.dns1123Label().validate(self).hasValue()", outcome.reason)
    )
    assert apiserver.unexplained(report, reviewed.load("cel_unevaluable"))
    optional = apiserver.evaluate({"rule": "self.?spec.orValue('') == ''"}, {}, {})
    assert isinstance(optional, apiserver.Unevaluable) and "parse" in optional.reason


def test_property_names_are_escaped_as_kubernetes_does():
    """`namespace` is a CEL reserved word: rules see it as `__namespace__` (Gateway API relies on it)."""
    schema = {"type": "object", "properties": {"namespace": {"type": "string"}, "a-b": {"type": "string"}}}
    assert (
        apiserver.evaluate(
            {"rule": "self.__namespace__ == 'x' && self.a__dash__b == 'y'"}, {"namespace": "x", "a-b": "y"}, schema
        )
        is True
    )


def test_transition_rules_do_not_run_on_create():
    assert apiserver.evaluate({"rule": "self == oldSelf"}, "x", {}) == "transition"


def test_defaults_are_applied_before_validation():
    schema = {"type": "object", "properties": {"mode": {"type": "string", "default": "Strict"}}}
    assert apiserver.defaulted({}, schema) == {"mode": "Strict"}


def test_namespaces_are_recognised_for_the_kuma_mesh():
    labels = {"kuma.io/sidecar-injection": "enabled"}
    assert namespace("a", **labels)["metadata"]["labels"] == labels
