"""Timeouts of a person's (or machine's) API call, layer by layer, read back from the recorded plan.

Outer layers must wait at least as long as inner ones, or the outer one answers 504 while the inner
one is still working (issue 14, journey 2: oauth2-proxy waited 120 s, NGINX gave up at its 60 s
default, nginx/nginx-gateway-fabric#2164). Each hop reports the layer's timeout in seconds and where
it comes from; a hop is denied when it is shorter than the layer inside it.

Layers, outermost first: NLB (TCP idle timeout: 350 s, fixed for NLBs the in-tree cloud provider
makes), NGINX (``proxy_read_timeout``: a ProxySettingsPolicy on the route, else NGINX's 60 s),
oauth2-proxy (``upstream_timeout``). The meshes add no request timeout on these hops (Kuma's default
MeshTimeout only bounds idle TCP connections at 1 h; Istio ambient without waypoints has none) and
Airflow's api-server (uvicorn) has no request timeout at all.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from components.edge.timeouts import NLB_IDLE_SECONDS
from plan import harness
from plan.hops import Hop

RELEASE = "kubernetes:helm.sh/v3:Release"
#: NGINX's ``proxy_read_timeout`` default (ngx_http_proxy_module).
NGINX_DEFAULT_READ_SECONDS = 60
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "": 1}


def seconds(duration: str) -> float:
    """``"120s"``, ``"2m"``, ``"500ms"``, ``"90"`` (NGINX and Go durations of one unit) in seconds."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h|)", duration.strip())
    if not match:
        raise ValueError(f"unsupported duration {duration!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _release_values(plan: harness.Plan, chart: str) -> dict[str, Any]:
    (release,) = [r for r in plan.of_type(RELEASE) if chart in str(r["inputs"].get("chart"))]
    values = release["inputs"]["values"]
    return json.loads(values) if isinstance(values, str) else values


def oauth2_proxy_options(plan: harness.Plan) -> dict[str, Any]:
    """oauth2-proxy's options, parsed from the config file in the recorded chart values (TOML)."""
    return tomllib.loads(_release_values(plan, "oauth2-proxy")["config"]["configFile"])


def nginx_read_timeout(plan: harness.Plan) -> tuple[float, str]:
    """(seconds, source) of NGINX's read timeout on the Airflow route."""
    for r in plan.resources:
        if r["type"].endswith(":ProxySettingsPolicy"):
            read = (r["inputs"]["spec"].get("timeout") or {}).get("read")
            if read:
                return seconds(read), f"ProxySettingsPolicy {r['inputs']['metadata']['name']} timeout.read"
    return NGINX_DEFAULT_READ_SECONDS, "NGINX default proxy_read_timeout (no ProxySettingsPolicy)"


def layers(plan: harness.Plan) -> list[tuple[str, float, str]]:
    """(layer, seconds, source), outermost first."""
    read, source = nginx_read_timeout(plan)
    upstream = oauth2_proxy_options(plan).get("upstream_timeout", "30s")  # oauth2-proxy's default
    return [
        ("nlb", NLB_IDLE_SECONDS, "NLB TCP idle timeout"),
        ("gateway", read, source),
        ("oauth2-proxy", seconds(upstream), "oauth2-proxy upstream_timeout"),
    ]


def person_api_call(plan: harness.Plan) -> list[Hop]:
    """One timeout hop per layer: allowed when the layer waits at least as long as the one inside it."""
    found = layers(plan)
    hops = []
    for (layer, secs, source), inner in zip(found, [*found[1:], None], strict=True):
        if inner is None:
            hops.append(Hop("timeout", f"{layer} waits {secs:g}s for Airflow", True, source, "innermost timeout"))
            continue
        ok = secs >= inner[1]
        hops.append(
            Hop("timeout", f"{layer} {secs:g}s >= {inner[0]} {inner[1]:g}s", ok, source, "" if ok else "outer < inner")
        )
    return hops
