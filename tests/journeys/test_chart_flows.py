"""Journey 6: every port the Airflow chart's Services serve is either allowed by the access model or
excluded with a written reason (components/access_model/chart_flows.py), read from the chart itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components import access_model, versions
from components.access_model import chart_flows
from tests import stacks

_PORT_REF = re.compile(r"\.Values\.ports\.([A-Za-z]+)")


def chart_services(upstream: Path) -> dict[str, set[str]]:
    """Service template (relative to templates/) -> the ``ports.<key>`` it serves, from the chart sources."""
    templates = upstream / "charts" / f"airflow-{versions.AIRFLOW_CHART_VERSION}" / "templates"
    out = {}
    for path in sorted(templates.rglob("*.yaml")):
        text = path.read_text()
        if re.search(r"^kind: Service$", text, re.M):
            out[str(path.relative_to(templates))] = set(_PORT_REF.findall(text))
    return out


def test_every_chart_service_port_is_allowed_or_excluded(upstream):
    services = chart_services(upstream)
    assert services, "no Service templates found in the chart"
    covered = {(f.template, f.port_key) for f in chart_flows.FLOWS}
    missing = {(t, k) for t, keys in services.items() for k in keys} - covered
    assert not missing, f"chart Service ports with no flow or exclusion: {sorted(missing)}"
    for template, keys in services.items():
        if not keys:  # the api-server's ports come from apiServer.service.ports (which name ports.apiServer)
            explained = template in chart_flows.UNUSED_SERVICES or template in {f.template for f in chart_flows.FLOWS}
            assert explained, f"{template}: serves no ports.<key> and is not explained"


def test_flow_ports_match_the_chart_values(upstream):
    import yaml

    chart = upstream / "charts" / f"airflow-{versions.AIRFLOW_CHART_VERSION}"
    values = yaml.safe_load((chart / "values.yaml").read_text())
    for flow in chart_flows.FLOWS:
        assert values["ports"][flow.port_key] == flow.port, flow


@pytest.mark.parametrize("executor", ["KubernetesExecutor", "CeleryExecutor"])
@pytest.mark.parametrize("stack", stacks.NAMES)
def test_model_allows_every_included_flow(stack, executor):
    # Celery runs every task as the platform worker, so the settings only accept it without domains.
    overrides = {"airflowExecutor": executor, **({"domains": []} if executor == "CeleryExecutor" else {})}
    model = access_model.build(stacks.settings_for(stack, overrides))
    held = {(e.source, e.destination, e.port) for e in model.edges}
    for flow in chart_flows.flows_for(executor):
        assert bool(flow.edges) != bool(flow.excluded), f"{flow}: needs edges or a reason, not both"
        for source, destination in flow.edges:
            flow_id = f"{stack}/{executor}: {source} -> {destination}:{flow.port}"
            assert (source, destination, flow.port) in held, flow_id
        if flow.edges:
            assert flow.port in model.workload(flow.edges[0][1]).ports
