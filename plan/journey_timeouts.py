"""Timeouts of a person's (or machine's) API call, layer by layer, read back from the recorded plan.

Outer layers must wait at least as long as inner ones, or the outer one answers 504 while the inner
one is still working (issue 14, journey 2: oauth2-proxy waited 120 s, NGINX gave up at its 60 s
default, nginx/nginx-gateway-fabric#2164). Each hop reports the layer's timeout in seconds and where
it comes from; a hop is denied when it is shorter than the layer inside it.

Layers, outermost first (components/timeouts.py explains the numbers): NLB (TCP idle timeout: 350 s,
fixed for NLBs the in-tree cloud provider makes), NGINX (``proxy_read_timeout``: a ProxySettingsPolicy
on the route, else NGINX's 60 s), oauth2-proxy (``upstream_timeout``), PgBouncer
(``query_wait_timeout`` in its pgbouncer.ini Secret, else PgBouncer's 120 s default). Between
oauth2-proxy and PgBouncer, the mesh must add no request timeout and repeat no request
(:func:`mesh_hop`), and Airflow's api-server (uvicorn) has no request timeout at all.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from components.airflow.values import PGBOUNCER_CONFIG_ANNOTATION
from components.mesh.kuma.resilience import SAFE_HTTP_RETRY_ON
from components.timeouts import NLB_IDLE_SECONDS, ApiCall
from plan import harness
from plan.hops import Hop

RELEASE = "kubernetes:helm.sh/v3:Release"
#: NGINX's ``proxy_read_timeout`` default (ngx_http_proxy_module).
NGINX_DEFAULT_READ_SECONDS = 60
#: PgBouncer's ``query_wait_timeout`` default (pgbouncer.org/config.html).
PGBOUNCER_DEFAULT_QUERY_WAIT_SECONDS = 120
#: ``appProtocol`` values that make Kuma treat a port as HTTP, and so apply Envoy's 15 s route timeout
#: (kumahq/kuma pkg/core/metadata/protocol.go ``ParseProtocol``, case-insensitive; components/timeouts.py).
HTTP_PROTOCOLS = frozenset({"http", "http2", "grpc"})
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


def pgbouncer_query_wait(plan: harness.Plan, api_call: ApiCall) -> tuple[float, str]:
    """(seconds, source) of PgBouncer's ``query_wait_timeout``. pgbouncer.ini sits in a Secret (the plan
    records it hidden), so the value is the budget's and the plan shows which file carries it: the
    checksum on PgBouncer's pods (tests/journeys/test_edge_timeouts.py proves the file holds the value
    and that the checksum follows the budget)."""
    pgbouncer = _release_values(plan, "airflow").get("pgbouncer") or {}
    checksum = str((pgbouncer.get("podAnnotations") or {}).get(PGBOUNCER_CONFIG_ANNOTATION, ""))
    if not checksum:
        return PGBOUNCER_DEFAULT_QUERY_WAIT_SECONDS, "PgBouncer default query_wait_timeout (no pgbouncer.ini checksum)"
    return api_call.pgbouncer_query_wait_seconds, f"pgbouncer.ini query_wait_timeout (sha256 {checksum[:12]})"


def layers(plan: harness.Plan, api_call: ApiCall) -> list[tuple[str, float, str]]:
    """(layer, seconds, source), outermost first; ``api_call`` is the stack's budget (settings)."""
    read, source = nginx_read_timeout(plan)
    upstream = oauth2_proxy_options(plan).get("upstream_timeout", "30s")  # oauth2-proxy's default
    wait, wait_source = pgbouncer_query_wait(plan, api_call)
    return [
        ("nlb", NLB_IDLE_SECONDS, "NLB TCP idle timeout"),
        ("gateway", read, source),
        ("oauth2-proxy", seconds(upstream), "oauth2-proxy upstream_timeout"),
        ("pgbouncer", wait, wait_source),
    ]


def http_service_ports(service: dict[str, Any]) -> list[str]:
    """Ports of a Kubernetes Service (object or chart ``service`` values) a mesh would treat as HTTP:
    an HTTP ``appProtocol`` or a ``<port>.service.kuma.io/protocol`` annotation."""
    spec = service.get("spec", service)
    found = [str(p.get("port")) for p in spec.get("ports") or [] if _http(p.get("appProtocol"))]
    if _http(spec.get("appProtocol")):  # chart values: one port
        found.append(str(spec.get("portNumber", "")))
    annotations = (service.get("metadata") or {}).get("annotations") or service.get("annotations") or {}
    found += [
        key.split(".")[0]
        for key, value in annotations.items()
        if key.endswith(".service.kuma.io/protocol") and _http(value)
    ]
    return found


def _http(protocol: Any) -> bool:
    return isinstance(protocol, str) and protocol.lower() in HTTP_PROTOCOLS


def mesh_hop(plan: harness.Plan, provider: str) -> Hop:
    """The mesh between the layers: it must neither cut a request nor repeat one the application may
    have seen. The NGINX -> oauth2-proxy hop is HTTP to a mesh that reads ``appProtocol`` (the
    oauth2-proxy chart sets ``http``), so this is read from the policies, not assumed from TCP."""
    step = "mesh adds no request timeout and no unsafe retry"
    if provider == "kuma":
        return _kuma_hop(plan, step)
    reasons = {
        "istio": "ztunnel is L4 only (no waypoint): no request timeout, no retry",
        "linkerd": "no HTTPRoute timeouts or retry annotations: Linkerd adds none",
        "consul": "in-mesh services keep protocol tcp (no ServiceDefaults/ProxyDefaults protocol)",
    }
    if provider == "consul":
        http = [
            r["inputs"]["metadata"]["name"]
            for r in plan.resources
            if r["type"].endswith(":ServiceDefaults")
            and not (r["inputs"]["spec"].get("destination"))
            and r["inputs"]["spec"].get("protocol") in HTTP_PROTOCOLS
        ]
        if http:
            return Hop(
                "timeout", step, False, f"ServiceDefaults {http}", "HTTP in the mesh: Envoy's 15 s route timeout"
            )
    return Hop("timeout", step, True, reasons.get(provider, provider), "")


def consul_exit_hop(plan: harness.Plan) -> Hop:
    """Consul's exits: no request timeout and no retry the mesh adds to a task's call out.

    A ``ServiceDefaults`` destination with protocol ``tcp`` (443, by SNI) is a TCP proxy in the caller's
    sidecar and the terminating gateway: no route, so no timeout or retry. One with an HTTP protocol is
    an HTTP route in the caller's sidecar that Consul builds without a timeout or retry policy
    (hashicorp/consul ``agent/xds/routes.go`` ``makeNamedAddressesRoute``), so Envoy's 15 s route default
    applies and no config entry can lift it (a ``ServiceResolver`` ``requestTimeout`` reaches only the
    terminating gateway's route, ``makeRoutes``/``makeNamedDefaultRouteWithLB``, where 0 again means
    Envoy's default). The settings therefore refuse plain-HTTP exits with Consul; this reads the plan back.
    Resolvers and routers with timeouts or retries would change the gateway's routes, so none may exist.
    """
    step = "mesh adds no request timeout and no retry on exits"
    http = [
        r["inputs"]["metadata"]["name"]
        for r in plan.resources
        if r["type"].endswith("consul.hashicorp.com/v1alpha1:ServiceDefaults")
        and r["inputs"]["spec"].get("destination")
        and _http(r["inputs"]["spec"].get("protocol"))
    ]
    if http:
        return Hop("timeout", step, False, f"ServiceDefaults {http}", "HTTP exit: Envoy's 15 s route timeout")
    tuned = [
        r["inputs"]["metadata"]["name"]
        for r in plan.resources
        if r["type"].endswith((":ServiceResolver", ":ServiceRouter")) and "consul.hashicorp.com" in r["type"]
    ]
    if tuned:
        return Hop("timeout", step, False, f"{tuned}", "resolvers/routers change the exits' routes")
    return Hop("timeout", step, True, "every destination is tcp (SNI): no HTTP route, no timeout, no retry", "")


def _kuma_hop(plan: harness.Plan, step: str) -> Hop:
    problems: list[str] = []
    mesh = next((r for r in plan.resources if r["type"].endswith("kuma.io/v1alpha1:Mesh")), None)
    skipped = set(((mesh or {}).get("inputs", {}).get("spec") or {}).get("skipCreatingInitialPolicies") or [])
    problems += [f"Kuma's initial {kind} is created" for kind in ("MeshTimeout", "MeshRetry") if kind not in skipped]
    names = []
    for r in plan.resources:
        spec = r["inputs"].get("spec") or {}
        if r["type"].endswith(":MeshTimeout"):
            names.append(r["inputs"]["metadata"]["name"])
            for entry in [*(spec.get("rules") or []), *(spec.get("to") or [])]:
                timeout = ((entry.get("default") or {}).get("http") or {}).get("requestTimeout")
                if timeout is None or seconds(timeout) != 0:
                    problems.append(f"{names[-1]} requestTimeout {timeout}")
        elif r["type"].endswith(":MeshRetry"):
            names.append(r["inputs"]["metadata"]["name"])
            for entry in spec.get("to") or []:
                http = (entry.get("default") or {}).get("http") or {}
                unsafe = set(http.get("retryOn") or ["GatewayError"]) - set(SAFE_HTTP_RETRY_ON)
                if unsafe or http.get("perTryTimeout"):
                    problems.append(f"{names[-1]} retries {sorted(unsafe)} perTryTimeout {http.get('perTryTimeout')}")
    kinds = {r["type"].rsplit(":", 1)[-1] for r in plan.resources if r["type"].startswith("kubernetes:kuma.io/")}
    # No MeshTimeout at all leaves Envoy's own 15 s route timeout (kumahq/kuma meshtimeout plugin
    # testdata basic_without_defaults_*); no MeshRetry leaves none, which is safe but not what we set.
    problems += [f"no {kind}: Envoy's defaults apply" for kind in ("MeshTimeout", "MeshRetry") if kind not in kinds]
    decided = ", ".join(names) or "Kuma's initial MeshTimeout/MeshRetry (15 s, 5 retries)"
    return Hop("timeout", step, not problems and bool(names), decided, "; ".join(problems))


def person_api_call(plan: harness.Plan, api_call: ApiCall, provider: str) -> list[Hop]:
    """One timeout hop per layer (allowed when it waits at least as long as the one inside it), and
    the mesh's."""
    found = layers(plan, api_call)
    hops = []
    for (layer, secs, source), inner in zip(found, [*found[1:], None], strict=True):
        if inner is None:
            hops.append(Hop("timeout", f"{layer} waits {secs:g}s", True, source, "innermost timeout"))
            continue
        ok = secs >= inner[1]
        hops.append(
            Hop("timeout", f"{layer} {secs:g}s >= {inner[0]} {inner[1]:g}s", ok, source, "" if ok else "outer < inner")
        )
    return [*hops, mesh_hop(plan, provider)]
