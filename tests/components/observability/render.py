"""The collector chart, rendered offline with the values a plan records (Helm's engine, via helm-python-sdk).

One render per (stack, provider), cached for the session: about 0.3 s each. Upstream files come from
``$AIRFLOW_MESH_UPSTREAM_DIR`` (tests/conftest.py ``upstream``); the chart is only read, never written.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import helm_python
import yaml

from components import versions
from tests import schemas
from tests.components.mesh import mesh_plans as mp

CHART_DIR = f"charts/opentelemetry-collector-{versions.OTEL_COLLECTOR_CHART_VERSION}"
SCHEMA_DIR = f"opentelemetry-collector/{versions.OTEL_COLLECTOR_CHART_VERSION}"
_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")


def values(stack: str, provider: str = "kuma") -> dict[str, Any]:
    return schemas.releases(mp.plan_for(stack, provider))[versions.OTEL_COLLECTOR_CHART]["inputs"]["values"]


def merged(upstream: Path, user: dict[str, Any]) -> dict[str, Any]:
    """User values over the chart's values.yaml, as Helm coalesces them (maps merge, the rest replaces)."""

    def merge(base: Any, over: Any) -> Any:
        if isinstance(base, dict) and isinstance(over, dict):
            return {**base, **{k: merge(base.get(k), v) for k, v in over.items()}}
        return over

    return merge(yaml.safe_load((upstream / SCHEMA_DIR / "values.yaml").read_text()), user)


@functools.cache
def _chart(folder: str) -> helm_python.Chart:
    return helm_python.Chart.load(folder)


@functools.cache
def _render(folder: str, values_json: str, namespace: str) -> tuple[dict[str, Any], ...]:
    chart = _chart(folder)
    options = {
        "name": "otel-collector",
        "namespace": namespace,
        "is_install": True,
        "kube_version": "v1.34.0",
        "api_versions": ["policy/v1/PodDisruptionBudget"],
    }
    out = json.loads(helm_python._native.call_string("helm_render", chart._raw(), values_json, json.dumps(options)))
    docs = []
    for path, text in sorted(out.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs += [d for d in (yaml.safe_load(part) for part in _SEPARATOR.split(text)) if d]
    return tuple(docs)


def render(upstream: Path, user: dict[str, Any], namespace: str = "observability") -> list[dict[str, Any]]:
    return list(_render(str(upstream / CHART_DIR), json.dumps(user, sort_keys=True), namespace))


def relay_config(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The collector configuration the chart mounts (ConfigMap key ``relay``)."""
    (cm,) = [o for o in objects if o["kind"] == "ConfigMap"]
    return yaml.safe_load(cm["data"]["relay"])
