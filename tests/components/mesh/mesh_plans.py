"""Shared by the mesh tests: recorded plans per (stack, provider, overrides), the stack's access
model, and readers that turn recorded policies back into (source, destination) pairs."""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from components import access_model
from components import settings as stack_settings
from plan import harness
from tests import stacks

PROVIDERS = ("kuma", "istio", "linkerd", "consul")
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
KUMA = "kubernetes:kuma.io/v1alpha1:"
MTP = KUMA + "MeshTrafficPermission"
PASSTHROUGH = KUMA + "MeshPassthrough"
IDENTITY = KUMA + "MeshIdentity"
MESH_TLS = KUMA + "MeshTLS"
MESH = KUMA + "Mesh"
AUTHZ = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
PEER_AUTH = "kubernetes:security.istio.io/v1:PeerAuthentication"
LINKERD = "kubernetes:policy.linkerd.io/"
SERVER = LINKERD + "v1beta3:Server"
L5D_AUTHZ = LINKERD + "v1alpha1:AuthorizationPolicy"
MTLS_AUTHN = LINKERD + "v1alpha1:MeshTLSAuthentication"
NET_AUTHN = LINKERD + "v1alpha1:NetworkAuthentication"
EGRESS_NETWORK = LINKERD + "v1alpha1:EgressNetwork"
TLS_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:TLSRoute"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
CONSUL = "kubernetes:consul.hashicorp.com/v1alpha1:"
INTENTIONS = CONSUL + "ServiceIntentions"
SERVICE_DEFAULTS = CONSUL + "ServiceDefaults"
TERMINATING_GATEWAY = CONSUL + "TerminatingGateway"
CONSUL_MESH = CONSUL + "Mesh"
PROXY_DEFAULTS = CONSUL + "ProxyDefaults"
SERVICE = "kubernetes:core/v1:Service"


@functools.cache
def _run(stack: str, overrides: tuple[tuple[str, Any], ...]) -> harness.Plan:
    return stacks.run(stack, dict(overrides))


#: Config a provider needs on the committed stacks (which declare domain egress allow-lists): Istio
#: ambient does not enforce them, and the settings make a stack say it accepts that.
PROVIDER_CONFIG: dict[str, dict[str, Any]] = {"istio": {"meshAcceptUnenforcedEgress": True}}


def plan_for(stack: str, provider: str = "kuma", **overrides: Any) -> harness.Plan:
    """The recorded plan of ``stack`` with ``meshProvider`` and other config overrides (cached)."""
    config = {"meshProvider": provider, **PROVIDER_CONFIG.get(provider, {}), **overrides}
    return _run(stack, tuple(sorted(config.items())))


def settings_for(stack: str, **overrides: Any) -> stack_settings.Settings:
    return stacks.settings_for(stack, overrides)


def model_for(stack: str) -> access_model.AccessModel:
    return access_model.build(settings_for(stack))


def mesh_resources(plan: harness.Plan) -> list[dict[str, Any]]:
    """Every resource below the stack's Mesh component."""
    root = f"{settings_for(plan.stack).cluster_name}-mesh"
    parents = {r["name"]: r["parent"] for r in plan.resources}

    def below(name: str | None) -> bool:
        while name is not None:
            if name == root:
                return True
            name = parents.get(name)
        return False

    return [r for r in plan.resources if r["custom"] and below(r["parent"])]


def mesh_of_type(plan: harness.Plan, typ: str) -> list[dict[str, Any]]:
    return [r for r in mesh_resources(plan) if r["type"] == typ]


def releases(plan: harness.Plan) -> dict[str, dict[str, Any]]:
    """The mesh's Helm releases by chart, values decoded."""
    out = {}
    for r in mesh_of_type(plan, RELEASE):
        inputs = dict(r["inputs"])
        if isinstance(inputs.get("values"), str):
            inputs["values"] = json.loads(inputs["values"])
        out[inputs["chart"]] = {**r, "inputs": inputs}
    return out


def as_object(record: dict[str, Any]) -> dict[str, Any]:
    """A recorded custom resource as the object the API server receives."""
    return {k: v for k, v in record["inputs"].items() if k in ("apiVersion", "kind", "metadata", "spec")}


def workload_by_identity(model: access_model.AccessModel) -> dict[tuple[str, str], str]:
    return {(w.namespace, w.service_account): w.name for w in model.workloads.values()}


def workload_by_selector(model: access_model.AccessModel) -> dict[tuple[str, tuple], str]:
    return {(w.namespace, tuple(sorted(w.selector.items()))): w.name for w in model.workloads.values()}


def kuma_allowed(plan: harness.Plan, model: access_model.AccessModel) -> list[tuple[str, str]]:
    """(source, destination) of every allow in the recorded MeshTrafficPermissions."""
    by_identity, by_selector = workload_by_identity(model), workload_by_selector(model)
    pairs = []
    for r in mesh_of_type(plan, MTP):
        spec, namespace = r["inputs"]["spec"], r["inputs"]["metadata"]["namespace"]
        assert spec["targetRef"]["kind"] == "Dataplane", r["name"]
        destination = by_selector[(namespace, tuple(sorted(spec["targetRef"]["labels"].items())))]
        for rule in spec["rules"]:
            assert set(rule["default"]) == {"allow"}, r["name"]
            for match in rule["default"]["allow"]:
                assert match["spiffeID"]["type"] == "Exact", r["name"]
                path = match["spiffeID"]["value"].split("/", 3)[3]  # spiffe://<td>/ns/<ns>/sa/<sa>
                _, ns, _, sa = path.split("/")
                pairs.append((by_identity[(ns, sa)], destination))
    return pairs


def istio_allowed(plan: harness.Plan, model: access_model.AccessModel) -> list[tuple[str, str, int]]:
    """(source, destination, port) of every principal-based allow in the AuthorizationPolicies."""
    by_identity, by_selector = workload_by_identity(model), workload_by_selector(model)
    triples = []
    for r in mesh_of_type(plan, AUTHZ):
        spec, namespace = r["inputs"].get("spec") or {}, r["inputs"]["metadata"]["namespace"]
        for rule in spec.get("rules", []):
            principals = [p for f in rule.get("from", []) for p in f["source"].get("principals", [])]
            if not principals:
                continue
            destination = by_selector[(namespace, tuple(sorted(spec["selector"]["matchLabels"].items())))]
            ports = [int(p) for t in rule["to"] for p in t["operation"]["ports"]]
            for principal in principals:
                trust_domain, _, ns, _, sa = principal.split("/")
                assert trust_domain == "cluster.local"
                for port in ports:
                    triples.append((by_identity[(ns, sa)], destination, port))
    return triples


def linkerd_allowed(plan: harness.Plan, model: access_model.AccessModel) -> list[tuple[str, str, int]]:
    """(source, destination, port) of every identity-based allow: AuthorizationPolicy -> Server (pods,
    port) and -> MeshTLSAuthentication (ServiceAccounts). Policies that require a NetworkAuthentication
    (the entry point's) are not identity allows and are left out."""
    by_identity, by_selector = workload_by_identity(model), workload_by_selector(model)

    def index(typ: str) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (r["inputs"]["metadata"]["namespace"], r["inputs"]["metadata"]["name"]): r for r in mesh_of_type(plan, typ)
        }

    servers, authentications = index(SERVER), index(MTLS_AUTHN)
    triples = []
    for r in mesh_of_type(plan, L5D_AUTHZ):
        spec, namespace = r["inputs"]["spec"], r["inputs"]["metadata"]["namespace"]
        refs = spec["requiredAuthenticationRefs"]
        if [ref["kind"] for ref in refs] == ["NetworkAuthentication"]:
            continue
        assert spec["targetRef"]["kind"] == "Server", r["name"]
        server = servers[(namespace, spec["targetRef"]["name"])]["inputs"]["spec"]
        destination = by_selector[(namespace, tuple(sorted(server["podSelector"]["matchLabels"].items())))]
        (ref,) = refs
        assert ref["kind"] == "MeshTLSAuthentication", r["name"]
        for identity in authentications[(namespace, ref["name"])]["inputs"]["spec"]["identityRefs"]:
            assert identity["kind"] == "ServiceAccount" and identity.get("name"), r["name"]  # never "every SA"
            triples.append((by_identity[(identity["namespace"], identity["name"])], destination, server["port"]))
    return triples


def allowed(plan: harness.Plan, provider: str, model: access_model.AccessModel) -> list[tuple[str, str, int]]:
    """(source, destination, port) read back from the recorded policies of ``provider``. Kuma's
    permissions carry no port: they are reported with the edge's port of that pair."""
    if provider == "kuma":
        ports = {(e.source, e.destination): e.port for e in model.tcp_edges()}
        return [(s, d, ports.get((s, d), -1)) for s, d in kuma_allowed(plan, model)]
    if provider == "istio":
        return istio_allowed(plan, model)
    if provider == "linkerd":
        return linkerd_allowed(plan, model)
    if provider == "consul":
        # Intentions name services, not ports: an allowed pair may use every port of its edges.
        ports: dict[tuple[str, str], list[int]] = {}
        for e in model.tcp_edges():
            ports.setdefault((e.source, e.destination), []).append(e.port)
        return [(s, d, port) for s, d in consul_allowed(plan, model) for port in ports.get((s, d), [-1])]
    raise ValueError(provider)


def consul_allowed(plan: harness.Plan, model: access_model.AccessModel) -> list[tuple[str, str]]:
    """(source, destination) of every ``allow`` source in the ServiceIntentions between workloads
    (Consul service name = ServiceAccount name); exits (``ext-*`` destinations) are left out."""
    by_service = {w.service_account: w.name for w in model.workloads.values() if w.meshed}
    pairs = []
    for r in mesh_of_type(plan, INTENTIONS):
        spec = r["inputs"]["spec"]
        destination = spec["destination"]["name"]
        if destination == "*" or destination.startswith("ext-"):
            continue
        for source in spec["sources"]:
            assert source["action"] == "allow" and source["name"] != "*", r["name"]
            pairs.append((by_service[source["name"]], by_service[destination]))
    return pairs


@functools.cache
def linkerd_crds(upstream: Path) -> Path:
    """Linkerd's policy CRDs and its bundled TLSRoute (v1alpha2), as plain YAML (see :func:`_untemplated`).

    They are Helm templates upstream (the files the lock pins; ``rendered-crds/`` of the shared copy is
    not in upstream.lock). The only template lines are metadata annotations and labels and the
    ``if``/``end`` around a document, so dropping them leaves the CRD itself unchanged (checked
    against ``rendered-crds/`` in test_linkerd.py where that copy exists).
    """
    from components import versions

    source = upstream / "charts" / f"linkerd-{versions.LINKERD_EDGE_RELEASE}" / "linkerd-crds" / "templates"
    return _untemplated(
        [*sorted((source / "policy").glob("*.yaml")), source / "gateway.networking.k8s.io_tlsroutes.yaml"]
    )


@functools.cache
def consul_crds(upstream: Path) -> Path:
    """consul-k8s's config-entry CRDs as plain YAML: the chart ships them as templates whose only
    template lines are the ``if connectInject.enabled`` around the document and the labels, so dropping
    those lines leaves each CRD's schema unchanged (as for :func:`linkerd_crds`)."""
    from components import versions

    return _untemplated(
        sorted((upstream / "charts" / f"consul-{versions.CONSUL_CHART_VERSION}" / "templates").glob("crd-*.yaml"))
    )


def _untemplated(templates: list[Path]) -> Path:
    """``templates`` without their ``{{ }}`` lines, in a temporary folder removed when the session ends."""
    folder = Path(tempfile.mkdtemp(prefix="airflow-mesh-crds-"))
    atexit.register(shutil.rmtree, folder, True)
    for template in templates:
        lines = [line for line in template.read_text().splitlines() if "{{" not in line]
        (folder / template.name).write_text("\n".join(lines) + "\n")
    return folder
