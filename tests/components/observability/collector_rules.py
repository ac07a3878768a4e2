"""The OpenTelemetry Collector's own configuration rules that can be checked offline.

From the collector's config validation (go.opentelemetry.io/collector/otelcol ``Config.Validate`` and
``service/pipelines``): every component a pipeline names is defined, and every defined receiver,
processor, exporter and connector is used by some pipeline (the collector logs unused ones and
ignores them; here that is an error, because an unused exporter is a signal silently going nowhere);
every extension the service lists is defined; component ids are ``type[/name]``. Beyond that: every
type is in the chosen distribution's manifest, and endpoints are well formed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")
_ID = re.compile(r"^[a-z][a-z0-9_]*(/[A-Za-z0-9_.-]+)?$")
#: host:port where host may be ``${env:VAR}``, a DNS name or an IPv4 address.
_ENDPOINT = re.compile(r"^(\$\{env:[A-Z_]+\}|[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\d{1,3}(\.\d{1,3}){3}):(?P<port>\d{1,5})$")


def component_type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def problems(config: Mapping[str, Any], distribution: Mapping[str, frozenset[str]]) -> list[str]:
    out: list[str] = []
    defined = {kind: set((config.get(kind) or {}).keys()) for kind in KINDS}
    for kind, ids in defined.items():
        for cid in ids:
            if not _ID.match(cid):
                out.append(f"{kind}.{cid}: not a component id (type[/name])")
            if component_type(cid) not in distribution.get(kind, frozenset()):
                out.append(f"{kind}.{cid}: type {component_type(cid)!r} is not in the distribution")
    service = config.get("service") or {}
    for ext in service.get("extensions", []):
        if ext not in defined["extensions"]:
            out.append(f"service.extensions: {ext} is not defined")
    pipelines = service.get("pipelines") or {}
    if not pipelines:
        out.append("service.pipelines: none")
    used: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for name, pipeline in pipelines.items():
        if component_type(name) not in ("logs", "metrics", "traces", "profiles"):
            out.append(f"pipeline {name}: unknown signal")
        for kind in ("receivers", "processors", "exporters"):
            for cid in pipeline.get(kind, []):
                source = "connectors" if cid in defined["connectors"] and kind != "processors" else kind
                if cid not in defined[source]:
                    out.append(f"pipeline {name}: {kind[:-1]} {cid} is not defined")
                used[source].add(cid)
        if not pipeline.get("receivers") or not pipeline.get("exporters"):
            out.append(f"pipeline {name}: needs at least one receiver and one exporter")
    for kind in ("receivers", "processors", "exporters", "connectors"):
        for cid in sorted(defined[kind] - used[kind]):
            out.append(f"{kind}.{cid}: defined but used by no pipeline")
    for path, endpoint in endpoints(config):
        match = _ENDPOINT.match(endpoint)
        if not match or not 0 < int(match.group("port")) < 65536:
            out.append(f"{path}: {endpoint!r} is not host:port")
    return out


def endpoints(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every ``endpoint`` string in the configuration (scrape targets too), with its path."""
    found: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            here = f"{path}.{k}" if path else str(k)
            if k == "endpoint" and isinstance(v, str):
                found.append((here, v))
            elif k == "targets" and isinstance(v, list):
                found += [(f"{here}[{i}]", t) for i, t in enumerate(v)]
            else:
                found += endpoints(v, here)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += endpoints(v, f"{path}[{i}]")
    return found
