"""Edge: NGF behind an NLB, the Gateway and its routes, oauth2-proxy, TLS and the DNS record."""

from __future__ import annotations

import base64
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from components import access_model, platform, versions
from components.edge import component as edge
from components.edge import oauth2_proxy
from plan import harness
from tests import schemas, stacks

GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
SERVICE = "kubernetes:core/v1:Service"
RECORD = "aws:route53/record:Record"
NGF_CHART = "oci://ghcr.io/nginx/charts/nginx-gateway-fabric"
#: Headers the issue names; the gateway must remove each of them from every client request.
FORGEABLE = {
    "x-auth-request-user",
    "x-auth-request-email",
    "x-auth-request-groups",
    "x-auth-request-preferred-username",
    "x-auth-request-access-token",
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-groups",
    "remote-user",
    # not identity, but Airflow's ProxyFix would take it as the script root (components/edge/routes.py)
    "x-forwarded-prefix",
}
HOSTS = {
    "dev": "airflow.dev.data.example.com",
    "staging": "airflow.staging.data.example.com",
    "prod": "airflow.data.example.com",
}


def upstream_dir(upstream: Path, *parts: str) -> Path:
    folder = upstream.joinpath(*parts)
    if not folder.exists():
        pytest.skip(f"{folder} not in the upstream data")
    return folder


def edge_records(plan, typ):
    return [r for r in plan.of_type(typ) if r["parent"] and "-edge" in r["parent"]]


def routes(plan):
    return {r["inputs"]["metadata"]["name"]: r for r in plan.of_type(HTTP_ROUTE)}


def gateway(plan):
    return plan.one(GATEWAY)


def lb_service(plan):
    (svc,) = [s for s in plan.of_type(SERVICE) if s["inputs"]["metadata"]["name"] == edge.LOAD_BALANCER_SERVICE]
    return svc


def oauth2_values(plan):
    return schemas.releases(plan)["oauth2-proxy"]["inputs"]["values"]


def proxy_config(plan) -> dict:
    return tomllib.loads(oauth2_values(plan)["config"]["configFile"])


def stack_edge_replicas(stack: str) -> int:
    return {"dev": 1, "staging": 2, "prod": 3}[stack]


# --- NGINX Gateway Fabric ---------------------------------------------------------------------------


def test_ngf_is_a_pinned_atomic_release_in_the_edge_namespace(plan):
    ngf = schemas.releases(plan)[NGF_CHART]
    inputs = ngf["inputs"]
    assert inputs["version"] == versions.NGINX_GATEWAY_FABRIC_CHART_VERSION == "2.7.0"
    assert inputs["atomic"] is True and inputs["timeout"] >= 300
    assert inputs["namespace"] == platform.EDGE_NAMESPACE
    assert inputs["name"] == platform.GATEWAY_CONTROLLER
    values = inputs["values"]
    assert values["nginxGateway"]["gatewayClassName"] == gateway(plan)["inputs"]["spec"]["gatewayClassName"]
    # one load balancer only: the Service this program owns, not a second one from NGF
    assert values["nginx"]["service"]["type"] == "ClusterIP"
    assert values["nginxGateway"]["productTelemetry"] == {"enable": False}


def test_ngf_values_match_the_upstream_chart(plan, upstream):
    folder = upstream_dir(upstream, "nginx-gateway-fabric", versions.NGINX_GATEWAY_FABRIC_OFFLINE_DATA)
    values = schemas.releases(plan)[NGF_CHART]["inputs"]["values"]
    # Helm validates the chart defaults merged with ours (the schema marks some defaults required).
    merged = _merge(yaml.safe_load((folder / "values.yaml").read_text()), values)
    assert schemas.values_schema_errors(merged, folder / "values.schema.json") == []
    schema = json.loads((folder / "values.schema.json").read_text())
    # `nginx.config` is `{}` in values.yaml; its fields are declared in the schema (NginxProxy).
    undeclared = [
        p
        for p in schemas.unknown_value_keys(
            values, folder / "values.yaml", free_form=["*.annotations", "*.resources", "nginx.container.resources"]
        )
        if not _in_schema(p, schema)
    ]
    assert undeclared == []


def test_data_plane_replicas_and_disruption_budget(plans):
    for stack, plan in plans.items():
        replicas = stack_edge_replicas(stack)
        values = schemas.releases(plan)[NGF_CHART]["inputs"]["values"]
        assert values["nginx"]["replicas"] == replicas
        assert oauth2_values(plan)["replicaCount"] == replicas
        pdbs = [p for p in plan.of_type("kubernetes:policy/v1:PodDisruptionBudget") if "-edge-" in p["name"]]
        if stack == "dev":
            assert replicas == 1 and pdbs == []
            assert oauth2_values(plan)["podDisruptionBudget"]["enabled"] is False
        else:
            assert replicas >= 2
            (pdb,) = pdbs
            assert pdb["inputs"]["spec"]["selector"]["matchLabels"] == platform.GATEWAY_SELECTOR
            assert pdb["inputs"]["metadata"]["namespace"] == platform.EDGE_NAMESPACE
            assert oauth2_values(plan)["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
            assert values["nginxGateway"]["replicas"] == 2


def test_edge_workloads_start_after_the_mesh(plan):
    (mesh,) = [r for r in plan.resources if r["type"] == "airflow-mesh:mesh:Mesh"]
    mesh_parts = {
        r["name"] for r in plan.resources if r["name"] != mesh["name"] and mesh["name"] in _ancestors(plan, r)
    }
    for chart in (NGF_CHART, "oauth2-proxy"):
        needs = plan.requires(schemas.releases(plan)[chart]["name"])
        assert needs & mesh_parts, chart
    assert plan["airflow-mesh-" + plan.stack + "-ns-edge"]["name"] in plan.requires(gateway(plan)["name"])


def test_data_plane_identity_constants_match_what_ngf_provisions(plan):
    """NGF names the per-Gateway objects `<gateway>-<class>` and labels pods with the gateway name."""
    spec = gateway(plan)["inputs"]
    assert spec["metadata"]["name"] == platform.GATEWAY_NAME
    assert f"{spec['metadata']['name']}-{spec['spec']['gatewayClassName']}" == platform.GATEWAY_SERVICE_ACCOUNT
    assert {"gateway.networking.k8s.io/gateway-name": spec["metadata"]["name"]} == platform.GATEWAY_SELECTOR


# --- Gateway and routes -------------------------------------------------------------------------------


def test_gateway_terminates_tls_with_the_cert_manager_certificate(plan):
    gw = gateway(plan)["inputs"]
    listeners = {listener["name"]: listener for listener in gw["spec"]["listeners"]}
    assert set(listeners) == {"http", "https"}
    assert (listeners["http"]["protocol"], listeners["http"]["port"]) == ("HTTP", 80)
    https = listeners["https"]
    assert (https["protocol"], https["port"], https["tls"]["mode"]) == ("HTTPS", 443, "Terminate")
    (ref,) = https["tls"]["certificateRefs"]
    (cert,) = [c for c in plan.of_type("kubernetes:cert-manager.io/v1:Certificate") if "-edge-" in c["name"]]
    assert cert["inputs"]["spec"]["secretName"] == ref["name"]
    assert cert["inputs"]["metadata"]["namespace"] == gw["metadata"]["namespace"] == platform.EDGE_NAMESPACE
    assert cert["inputs"]["spec"]["dnsNames"] == [HOSTS[plan.stack]]
    renew = int(re.fullmatch(r"(\d+)h", cert["inputs"]["spec"]["renewBefore"]).group(1))
    assert 24 * 7 <= renew < 24 * 45, "renewed well before a Let's Encrypt certificate (90, soon 45 days) expires"
    issuer = cert["inputs"]["spec"]["issuerRef"]
    assert issuer["kind"] == "ClusterIssuer"
    acme = [
        i
        for i in plan.of_type("kubernetes:cert-manager.io/v1:ClusterIssuer")
        if i["inputs"]["metadata"]["name"] == issuer["name"]
    ]
    assert acme and "acme" in acme[0]["inputs"]["spec"]
    for listener in listeners.values():
        assert listener["hostname"] == HOSTS[plan.stack]
        assert listener["allowedRoutes"]["namespaces"] == {"from": "Same"}


def test_http_listener_only_redirects_to_https(plan):
    attached = [
        r for r in routes(plan).values() if any(p["sectionName"] == "http" for p in r["inputs"]["spec"]["parentRefs"])
    ]
    assert attached
    for route in attached:
        for rule in route["inputs"]["spec"]["rules"]:
            assert not rule.get("backendRefs"), route["name"]
            redirects = [f["requestRedirect"] for f in rule["filters"] if f["type"] == "RequestRedirect"]
            assert redirects == [{"scheme": "https", "statusCode": 301}]


def test_every_route_strips_client_supplied_identity_headers(plan):
    assert len(routes(plan)) == 2
    for route in routes(plan).values():
        for rule in route["inputs"]["spec"]["rules"]:
            (modifier,) = [f for f in rule["filters"] if f["type"] == "RequestHeaderModifier"]
            removed = {h.lower() for h in modifier["requestHeaderModifier"]["remove"]}
            assert removed >= FORGEABLE, (route["name"], FORGEABLE - removed)
            assert "set" not in modifier["requestHeaderModifier"] and "add" not in modifier["requestHeaderModifier"]


def test_the_only_backend_is_oauth2_proxy(plans):
    for plan in plans.values():
        backends = [
            (ref.get("kind", "Service"), ref["name"], ref["port"])
            for route in routes(plan).values()
            for rule in route["inputs"]["spec"]["rules"]
            for ref in rule.get("backendRefs", [])
        ]
        release = schemas.releases(plan)["oauth2-proxy"]["inputs"]
        # the chart's Service is named after the release and listens on service.portNumber
        assert backends == [("Service", release["name"], release["values"]["service"]["portNumber"])]
        https = routes(plan)[f"{platform.GATEWAY_NAME}-route"]["inputs"]["spec"]
        assert https["parentRefs"][0]["sectionName"] == "https"
        # everything, /oauth2/* included, goes to oauth2-proxy; oauth2-proxy alone goes on to Airflow
        assert https["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
        assert proxy_config(plan)["upstreams"] == ["http://airflow-api-server.airflow.svc:8080/"]


def test_in_the_mesh_the_gateway_reaches_only_oauth2_proxy_and_its_controller():
    for stack in stacks.NAMES:
        model = access_model.build(_settings(stack))
        from_gateway = {(e.destination, e.port) for e in model.edges if e.source == "edge-gateway"}
        assert from_gateway == {("edge-oauth2-proxy", 4180), ("edge-controller", platform.GATEWAY_AGENT_PORT)}
        into_airflow = {e.source for e in model.edges if e.destination == "airflow-api-server"}
        assert {s for s in into_airflow if model.workload(s).kind == "edge"} == {"edge-oauth2-proxy"}


def test_https_route_sets_hsts(plan):
    rules = routes(plan)[f"{platform.GATEWAY_NAME}-route"]["inputs"]["spec"]["rules"]
    (rule,) = [r for r in rules if "backendRefs" in r]  # the other rule only redirects (logout)
    (modifier,) = [f for f in rule["filters"] if f["type"] == "ResponseHeaderModifier"]
    (hsts,) = [h for h in modifier["responseHeaderModifier"]["set"] if h["name"] == "Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts["value"]).group(1))
    assert max_age >= 31536000


def test_gateway_objects_validate_against_upstream_crds(plan, upstream):
    standard = upstream_dir(upstream, "gateway-api", versions.GATEWAY_API_VERSION, "standard")
    objects = [
        o for _, o in schemas.kubernetes_objects(plan) if o["apiVersion"].startswith("gateway.networking.k8s.io/")
    ]
    assert sorted(o["kind"] for o in objects) == ["Gateway", "HTTPRoute", "HTTPRoute"]
    for obj in objects:
        assert schemas.custom_resource_errors(obj, standard) == [], obj["metadata"]["name"]


def test_mesh_entry_point_annotations_reach_the_data_plane_pods(plans):
    from components import mesh

    for stack, plan in plans.items():
        wanted = mesh.entry_point_pod_annotations(_settings(stack).mesh_provider)
        spec = gateway(plan)["inputs"]["spec"]
        assert spec.get("infrastructure", {}).get("annotations", {}) == wanted


# --- load balancer and DNS --------------------------------------------------------------------------


def test_nlb_scheme_cross_zone_and_source_ranges(plans):
    for stack, plan in plans.items():
        svc = lb_service(plan)["inputs"]
        annotations = svc["metadata"]["annotations"]
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled"] == "true"
        internal = annotations.get("service.beta.kubernetes.io/aws-load-balancer-internal")
        assert internal == (None if stack == "dev" else "true"), stack  # dev is internet-facing
        assert svc["spec"].get("loadBalancerSourceRanges", []) == (["198.51.100.0/24"] if stack == "dev" else [])
        assert svc["spec"]["type"] == "LoadBalancer"
        assert svc["spec"]["selector"] == platform.GATEWAY_SELECTOR
        assert {p["port"]: p["targetPort"] for p in svc["spec"]["ports"]} == {80: 80, 443: 443}
        assert f"stack={stack}" in annotations["service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags"]
        # the NLB goes into the program's own subnets (public or private by scheme), named explicitly
        role = "elb" if stack == "dev" else "internal-elb"
        subnets = [
            s
            for s in plan.of_type("aws:ec2/subnet:Subnet")
            if (s["inputs"].get("tags") or {}).get(f"kubernetes.io/role/{role}")
        ]
        assert subnets and {s["name"] for s in subnets} <= set(lb_service(plan)["dependsOn"])
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-subnets"].count("subnet-") == len(subnets)


def test_dns_alias_points_at_the_nlb_and_is_destroyed_before_it(plan):
    (record,) = edge_records(plan, RECORD)
    svc = lb_service(plan)
    inputs = record["inputs"]
    assert (inputs["name"], inputs["type"], inputs["zoneId"]) == (HOSTS[plan.stack], "A", _zone_id(plan.stack))
    (alias,) = inputs["aliases"]
    assert alias["name"].endswith(".elb.us-east-1.amazonaws.com")
    assert alias["zoneId"] == "Z26RNL4JYFTOTI"  # NLBs in us-east-1
    assert alias["evaluateTargetHealth"] is True
    # the record depends on the load balancer's Service, which depends on the Gateway and NGF: on
    # destroy the record goes first, then the Service (and with it the NLB), then the rest
    assert svc["name"] in record["dependsOn"]
    assert {gateway(plan)["name"], schemas.releases(plan)[NGF_CHART]["name"]} <= plan.requires(record["name"])
    assert gateway(plan)["name"] in svc["dependsOn"]
    assert record["provider"] == plan.one("pulumi:providers:aws")["name"]
    assert record["options"].get("protect", False) is (plan.stack == "prod")


# --- oauth2-proxy -------------------------------------------------------------------------------------


def test_oauth2_proxy_values_use_only_chart_keys(plans, upstream):
    folder = upstream_dir(upstream, "oauth2-proxy", versions.OAUTH2_PROXY_CHART_VERSION)
    values_yaml = folder / "values.yaml"
    # documented in values.yaml as a commented example ("# existingSecret: secret")
    commented = {"config.existingSecret": "existingSecret"}
    for key in commented.values():
        assert re.search(rf"^\s*#\s*{key}:", values_yaml.read_text(), re.M), key
    variants = [*plans.values(), stacks.run("dev", {"oauth2ProxySessionStore": "redis"})]
    for plan in variants:
        values = oauth2_values(plan)
        # free-form maps (annotations, resources, the pod security context) and the `redis-ha` subchart
        # (its own values.yaml)
        free_form = ["podAnnotations", "resources", "podSecurityContext", "redis-ha"]
        unknown = schemas.unknown_value_keys(values, values_yaml, free_form=free_form)
        assert [k for k in unknown if k not in commented] == [], plan.stack


def test_oauth2_proxy_is_an_oidc_reverse_proxy_with_safe_cookies(plans):
    for stack, plan in plans.items():
        cfg = proxy_config(plan)
        assert cfg["provider"] == "oidc"
        assert cfg["oidc_issuer_url"] == "https://example.okta.com/oauth2/default"
        assert cfg["redirect_url"] == f"https://{HOSTS[stack]}/oauth2/callback"
        assert cfg["code_challenge_method"] == "S256"
        assert cfg["cookie_secure"] is True and cfg["cookie_httponly"] is True
        assert cfg["cookie_samesite"] in {"lax", "strict"}
        # scoped to the host: a __Host- cookie has no Domain attribute and is never sent to other hosts
        assert cfg["cookie_name"].startswith("__Host-") and "cookie_domains" not in cfg
        assert cfg["cookie_path"] == "/"
        assert _seconds(cfg["cookie_refresh"]) < _seconds(cfg["cookie_expire"])
        assert "offline_access" in cfg["scope"].split(), "refresh needs a refresh token"
        assert cfg["skip_jwt_bearer_tokens"] is True
        # browsers are sent to the IdP; only the API answers 401
        assert cfg["skip_provider_button"] is True
        assert cfg["api_routes"] == ["^/api/"]
        # the host, and the IdP host logout ends its session at (nothing else: an open redirect)
        assert cfg["whitelist_domains"] == [HOSTS[stack], "example.okta.com"]
        for secret_option in ("client_secret", "cookie_secret", "client_id"):
            assert secret_option not in cfg
        values = oauth2_values(plan)
        assert values["serviceAccount"] == {"enabled": False, "name": "oauth2-proxy"}
        assert values["config"]["existingSecret"] == oauth2_proxy.CREDENTIALS_SECRET


def test_allowed_groups_and_email_domains_come_from_the_settings(plans):
    prod = proxy_config(plans["prod"])
    assert prod["allowed_groups"] == [
        "data-platform-admins",
        "data-engineers",
        "data-analysts",
        "data-marketing",
        "data-finance",
        "data-risk",
    ]
    assert prod["email_domains"] == ["*"]
    assert "allowed_groups" not in proxy_config(plans["dev"])
    restricted = proxy_config(
        stacks.run(
            "dev", {"oidcAllowedEmailDomains": ["example.com"], "machineRoleMappings": ["client:0oa-ci-deployer=Op"]}
        )
    )
    assert restricted["email_domains"] == ["example.com"]


def test_cookie_secret_is_32_random_bytes_kept_secret(plan):
    (raw,) = [r for r in plan.of_type("random:index/randomBytes:RandomBytes") if "-edge-" in r["name"]]
    assert raw["inputs"]["length"] == 32
    assert {"base64", "hex"} <= set(raw["options"]["additionalSecretOutputs"])
    (secret,) = [
        s
        for s in plan.of_type("kubernetes:core/v1:Secret")
        if s["inputs"]["metadata"]["name"] == "oauth2-proxy-credentials"
    ]
    assert secret["inputs"]["stringData"] == "[secret]"
    assert raw["name"] in secret["dependsOn"]
    assert secret["name"] in plan.requires(schemas.releases(plan)["oauth2-proxy"]["name"])
    # rotated on a schedule: the bytes are regenerated when the time keeper rolls over
    assert "rotation" in raw["inputs"]["keepers"]


@pytest.mark.parametrize("seed", [b"\xfb\xff" * 16, bytes(range(32)), b"\x00" * 32])
def test_cookie_secret_decodes_to_a_32_byte_key_the_way_oauth2_proxy_reads_it(seed):
    """oauth2-proxy (pkg/encryption SecretBytes) URL-safe-decodes the value and uses the bytes only if
    they are 16/24/32 long; otherwise the raw string is the key. Standard base64 of bytes that encode
    to '+' or '/' would silently become a 44-byte (invalid) key."""
    value = oauth2_proxy.cookie_secret(base64.b64encode(seed).decode())
    decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    assert decoded == seed and len(decoded) == 32
    assert "+" not in value and "/" not in value


def test_oidc_client_secret_never_appears_in_plain_text():
    plan = stacks.run("dev", {"oidcClientSecret": harness.Secure("sentinel-value")})
    text = plan.to_json()
    assert "sentinel-value" not in text
    (secret,) = [
        s
        for s in plan.of_type("kubernetes:core/v1:Secret")
        if s["inputs"]["metadata"]["name"] == "oauth2-proxy-credentials"
    ]
    assert secret["inputs"]["stringData"] == "[secret]"
    # ...and not hidden inside Helm values either: Helm keeps values in its release Secret
    for chart in ("oauth2-proxy", NGF_CHART, "cert-manager"):
        values = schemas.releases(plan)[chart]["inputs"]["values"]
        assert isinstance(values, dict) and "[secret]" not in json.dumps(values), chart


def test_redis_session_store_when_configured():
    plan = stacks.run("prod", {"oauth2ProxySessionStore": "redis"})
    values = oauth2_values(plan)
    storage = values["sessionStorage"]
    assert storage["type"] == "redis"
    assert storage["redis"]["existingSecret"] == values["redis-ha"]["existingSecret"] == oauth2_proxy.REDIS_SECRET
    assert values["redis-ha"]["enabled"] is True and values["redis-ha"]["auth"] is True
    (redis_secret,) = [
        s
        for s in plan.of_type("kubernetes:core/v1:Secret")
        if s["inputs"]["metadata"]["name"] == oauth2_proxy.REDIS_SECRET
    ]
    assert redis_secret["inputs"]["stringData"] == "[secret]"
    assert redis_secret["name"] in plan.requires(schemas.releases(plan)["oauth2-proxy"]["name"])
    assert "sessionStorage" not in oauth2_values(stacks.run("prod"))


def test_edge_resource_names_are_derived_from_the_component(plan):
    for r in plan.resources:
        if r["parent"] and r["parent"].startswith(f"airflow-mesh-{plan.stack}-edge"):
            assert r["name"].startswith(r["parent"]), r["name"]


# --- helpers ------------------------------------------------------------------------------------------


def _in_schema(path: str, schema: dict) -> bool:
    node = schema
    for key in path.split("."):
        node = (node.get("properties") or {}).get(key)
        if node is None:
            return False
    return True


def _settings(stack: str):
    return stacks.settings_for(stack)


def _merge(defaults, override):
    if isinstance(defaults, dict) and isinstance(override, dict):
        return {k: _merge(defaults.get(k), v) for k, v in override.items()} | {
            k: v for k, v in defaults.items() if k not in override
        }
    return override


def _ancestors(plan, record) -> set[str]:
    out = set()
    parent = record["parent"]
    while parent:
        out.add(parent)
        parent = plan[parent]["parent"]
    return out


def _zone_id(stack: str) -> str:
    return {"dev": "Z0DEV00000000EXAMPLE", "staging": "Z0STAGING000EXAMPLE", "prod": "Z0PROD0000000EXAMPLE"}[stack]


def _seconds(duration: str) -> int:
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in re.findall(r"(\d+)([hms])", duration))


def test_ngf_cert_generator_hook_runs_outside_kuma_so_it_can_reach_the_api_server(plans):
    """Kuma closes egress and the hook Job has no identity in the access model: without the opt-out
    the pre-install hook would hang and the atomic release roll back."""
    ngf = schemas.releases(plans["dev"])["oci://ghcr.io/nginx/charts/nginx-gateway-fabric"]["inputs"]["values"]
    assert ngf["certGenerator"]["annotations"] == {"kuma.io/sidecar-injection": "disabled"}
    istio = schemas.releases(stacks.run("dev", {"meshProvider": "istio", "meshAcceptUnenforcedEgress": True}))[
        "oci://ghcr.io/nginx/charts/nginx-gateway-fabric"
    ]["inputs"]["values"]
    assert istio["certGenerator"]["annotations"] == {}
