"""Kuma (the default mesh) in the recorded plans: control plane, the Mesh the program owns, identity
and CA, deliberate exits, observability."""

from __future__ import annotations

import pytest

from components import versions
from components.access_model import Egress
from components.mesh.kuma.component import CA_MOUNT_DIR, NAMESPACE_LABEL
from components.mesh.kuma.exits import DATABASE_HOST, exit_matches
from components.platform import KUBERNETES_API
from tests import schemas, stacks
from tests.components.mesh import mesh_plans as mp

STACKS = stacks.NAMES
REPLICAS = {"dev": 1, "staging": 2, "prod": 3}
TTL = {"dev": "24h", "staging": "24h", "prod": "12h"}


@pytest.fixture(params=STACKS)
def stack(request):
    return request.param


def control_plane(plan):
    return mp.releases(plan)["kuma"]


def test_control_plane_is_ha_outside_dev_with_native_sidecars_and_cni(stack):
    plan = mp.plan_for(stack)
    release = control_plane(plan)
    inputs, values = release["inputs"], release["inputs"]["values"]
    assert inputs["namespace"] == "kuma-system" and inputs["createNamespace"] is False
    assert inputs["atomic"] is True and inputs["version"] == versions.KUMA_CHART_VERSION
    cp = values["controlPlane"]
    assert cp["replicas"] == REPLICAS[stack]
    assert cp["podDisruptionBudget"]["enabled"] is (stack != "dev")
    assert cp["defaults"]["skipMeshCreation"] is True
    assert values["experimental"]["sidecarContainers"] is True
    assert "KUMA_EXPERIMENTAL_SIDECAR_CONTAINERS" not in cp.get("envVars", {})  # the chart renders it once
    assert values["cni"]["enabled"] is True and values["cni"]["chained"] is True
    (namespace,) = [n for n in mp.mesh_of_type(plan, mp.NAMESPACE)]
    assert namespace["inputs"]["metadata"]["name"] == "kuma-system"
    assert namespace["name"] in plan.requires(release["name"])


def test_helm_values_use_only_keys_of_the_chart(stack, upstream):
    values = control_plane(mp.plan_for(stack))["inputs"]["values"]
    values_file = upstream / "kuma" / versions.KUMA_CHART_VERSION / "values.yaml"
    # the security contexts are Kubernetes' own types, which the chart passes through with toYaml
    free = ["controlPlane.envVars", "controlPlane.extraSecrets", "*.containerSecurityContext", "*.podSecurityContext"]
    assert schemas.unknown_value_keys(values, values_file, free) == []


def test_the_program_owns_the_mesh_without_initial_allow_all_or_passthrough(stack):
    (mesh,) = mp.mesh_of_type(mp.plan_for(stack), mp.MESH)
    spec = mesh["inputs"]["spec"]
    assert mesh["inputs"]["metadata"]["name"] == "default"
    assert spec["meshServices"] == {"mode": "Exclusive"}  # MeshIdentity requires MeshServices
    assert spec["networking"]["outbound"]["passthrough"] is False
    assert "MeshTrafficPermission" in spec["skipCreatingInitialPolicies"]
    assert "mtls" not in spec


def test_identity_certificates_live_ttl_hours_and_the_ca_comes_from_cert_manager(stack):
    plan = mp.plan_for(stack)
    (identity,) = mp.mesh_of_type(plan, mp.IDENTITY)
    spec = identity["inputs"]["spec"]
    assert spec["selector"] == {"dataplane": {"matchLabels": {}}}
    assert spec["spiffeID"]["trustDomain"] == f"airflow-mesh-{stack}.mesh.local"
    assert spec["spiffeID"]["path"] == "/ns/{{ .Namespace }}/sa/{{ .ServiceAccount }}"
    bundled = spec["provider"]["bundled"]
    assert spec["provider"]["type"] == "Bundled" and bundled["meshTrustCreation"] == "Enabled"
    assert bundled["certificateParameters"]["expiry"] == TTL[stack]
    assert "autogenerate" not in bundled

    (certificate,) = mp.mesh_of_type(plan, mp.CERTIFICATE)
    cert = certificate["inputs"]["spec"]
    assert cert["isCA"] is True and cert["issuerRef"]["kind"] == "ClusterIssuer"
    assert cert["duration"] and cert["renewBefore"]  # renews itself
    assert cert["privateKey"]["rotationPolicy"] == "Never"  # a renewal still verifies what it signed
    issuers = {i["inputs"]["metadata"]["name"] for i in plan.of_type("kubernetes:cert-manager.io/v1:ClusterIssuer")}
    if issuers:
        assert cert["issuerRef"]["name"] in issuers
    mounts = control_plane(plan)["inputs"]["values"]["controlPlane"]["extraSecrets"]
    (mount,) = [m for m in mounts.values() if m["name"] == cert["secretName"]]
    assert bundled["ca"]["certificate"]["file"]["path"] == f"{mount['mountPath']}/tls.crt"
    assert bundled["ca"]["privateKey"]["file"]["path"] == f"{mount['mountPath']}/tls.key"
    assert mount["mountPath"].startswith(CA_MOUNT_DIR)
    assert certificate["name"] in plan.requires(control_plane(plan)["name"])
    assert certificate["inputs"]["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"

    # Permissions name the identities this MeshIdentity issues.
    for mtp in mp.mesh_of_type(plan, mp.MTP):
        for rule in mtp["inputs"]["spec"]["rules"]:
            for allow in rule["default"]["allow"]:
                assert allow["spiffeID"]["value"].startswith(f"spiffe://{spec['spiffeID']['trustDomain']}/ns/")


def test_ca_rotation_keeps_the_previous_ca_trusted_but_issuing_nothing():
    plan = mp.plan_for("staging", meshCaName="ca-2", meshPreviousCaName="ca-1")
    identities = {i["inputs"]["metadata"]["name"]: i for i in mp.mesh_of_type(plan, mp.IDENTITY)}
    assert set(identities) == {"identity-ca-1", "identity-ca-2"}
    assert identities["identity-ca-2"]["inputs"]["spec"]["selector"] == {"dataplane": {"matchLabels": {}}}
    assert identities["identity-ca-1"]["inputs"]["spec"]["selector"] == {}  # selects no proxy
    for identity in identities.values():
        assert identity["inputs"]["spec"]["provider"]["bundled"]["meshTrustCreation"] == "Enabled"  # still trusted
    secrets = {c["inputs"]["spec"]["secretName"] for c in mp.mesh_of_type(plan, mp.CERTIFICATE)}
    assert secrets == {"mesh-ca-ca-1", "mesh-ca-ca-2"}
    mounted = {m["name"] for m in control_plane(plan)["inputs"]["values"]["controlPlane"]["extraSecrets"].values()}
    assert mounted == secrets
    # Finishing the rotation removes the old CA entirely.
    after = mp.plan_for("staging", meshCaName="ca-2")
    assert [i["inputs"]["metadata"]["name"] for i in mp.mesh_of_type(after, mp.IDENTITY)] == ["identity-ca-2"]


def test_builtin_ca_is_generated_by_kuma():
    plan = mp.plan_for("dev", meshCaSource="builtin")
    assert mp.mesh_of_type(plan, mp.CERTIFICATE) == []
    (identity,) = mp.mesh_of_type(plan, mp.IDENTITY)
    bundled = identity["inputs"]["spec"]["provider"]["bundled"]
    assert bundled["autogenerate"] == {"enabled": True} and "ca" not in bundled
    assert bundled["insecureAllowSelfSigned"] is True
    assert "extraSecrets" not in control_plane(plan)["inputs"]["values"]["controlPlane"]


def test_rds_aws_apis_and_the_idp_leave_the_mesh_deliberately(stack):
    """With passthrough off, a workload reaches nothing outside the mesh unless its MeshPassthrough
    lists it: IRSA (STS), S3, Secrets Manager, the IdP and RDS would break silently."""
    plan, model, settings = mp.plan_for(stack), mp.model_for(stack), mp.settings_for(stack)
    exits = mp.mesh_of_type(plan, mp.PASSTHROUGH)
    by_workload = {}
    for r in exits:
        spec = r["inputs"]["spec"]
        assert r["inputs"]["metadata"]["namespace"] == "kuma-system"
        assert spec["default"]["passthroughMode"] == "Matched"
        labels = dict(spec["targetRef"]["labels"])
        namespace = labels.pop(NAMESPACE_LABEL)
        (workload,) = [w for w in model.workloads.values() if w.namespace == namespace and dict(w.selector) == labels]
        by_workload[workload.name] = spec["default"]["appendMatch"]
    assert set(by_workload) == {e.source for e in model.egress}

    def allowed(workload, host, port):
        for m in by_workload[workload]:
            if host == DATABASE_HOST:
                if (m["type"], m["value"], m["port"], m["protocol"]) == ("CIDR", settings.vpc_cidr, port, "tcp"):
                    return True
            elif "/" in host:  # a CIDR (the Service range, for cert-manager's metrics)
                if (m["type"], m["value"], m["port"], m["protocol"]) == ("CIDR", host, port, "tcp"):
                    return True
            elif host == KUBERNETES_API:
                if (m["type"], m["value"], m["port"], m["protocol"]) == ("IP", host, port, "tcp"):
                    return True
            elif (m["type"], m["value"], m["port"], m["protocol"]) == ("Domain", host, port, "tls"):
                return True
        return False

    for e in model.egress:
        assert allowed(e.source, e.host, e.port), (e.source, e.host, e.port)
    region = settings.region
    assert allowed("airflow-pgbouncer", DATABASE_HOST, 5432)
    for api in ("sts", "s3", "secretsmanager"):
        assert allowed("airflow-scheduler", f"{api}.{region}.amazonaws.com", 443)
        assert allowed("domain-marketing", f"{api}.{region}.amazonaws.com", 443)
    assert allowed("airflow-worker", f"*.s3.{region}.amazonaws.com", 443)  # virtual-hosted buckets
    issuer = settings.oidc_issuer_url.split("/")[2]
    assert allowed("airflow-api-server", issuer, 443) and allowed("edge-oauth2-proxy", issuer, 443)
    assert allowed("domain-marketing", "api.partner.example.com", 443)
    # the scheduler launches task pods and the NGF controller watches routes through the API server
    assert allowed("airflow-scheduler", KUBERNETES_API, 443) and allowed("edge-controller", KUBERNETES_API, 443)
    assert "edge-oauth2-proxy" not in {e.source for e in model.egress if e.host == KUBERNETES_API}
    # Nothing wider than the model: no open passthrough, no "any address".
    for matches in by_workload.values():
        assert all(m["value"] not in ("0.0.0.0/0", "*") for m in matches)


def test_exits_wait_for_the_mesh_and_come_before_mtls(stack):
    plan = mp.plan_for(stack)
    (identity,) = mp.mesh_of_type(plan, mp.IDENTITY)
    for r in mp.mesh_of_type(plan, mp.PASSTHROUGH):
        assert r["name"] in plan.requires(identity["name"])
        assert control_plane(plan)["name"] in plan.requires(r["name"])


def test_pod_identity_adds_the_node_agent_to_workloads_that_call_aws():
    plan = mp.plan_for("dev", identityMode="pod-identity")
    for r in mp.mesh_of_type(plan, mp.PASSTHROUGH):
        matches = r["inputs"]["spec"]["default"]["appendMatch"]
        calls_sts = any(m["value"].startswith("sts.") for m in matches)
        has_agent = any(m["value"] == "169.254.170.23" and m["port"] == 80 for m in matches)
        assert has_agent == calls_sts, r["name"]


def test_exit_rules():
    def egress(host, port):
        return [Egress("w", host, port, "test")]

    assert exit_matches(egress("10.1.2.3", 8443), "10.0.0.0/16", "irsa") == [
        {"type": "IP", "value": "10.1.2.3", "port": 8443, "protocol": "tcp"}
    ]
    assert exit_matches(egress("example.com", 80), "10.0.0.0/16", "irsa")[0]["protocol"] == "http"
    with pytest.raises(ValueError, match="non-TLS port"):
        exit_matches(egress("github.com", 22), "10.0.0.0/16", "irsa")
    with pytest.raises(ValueError, match="placeholder"):
        exit_matches(egress("{unknown}", 443), "10.0.0.0/16", "irsa")


def test_telemetry_goes_to_the_stacks_collector():
    """Metrics, traces and access logs of every proxy go to the in-cluster collector's OTLP gRPC port."""
    kinds = [mp.KUMA + k for k in ("MeshMetric", "MeshTrace", "MeshAccessLog", "MeshOpenTelemetryBackend")]
    plan = mp.plan_for("prod")
    (backend,) = mp.mesh_of_type(plan, kinds[3])
    assert backend["inputs"]["spec"]["endpoint"] == {
        "address": "otel-collector.observability.svc.cluster.local",
        "port": 4317,
    }
    labels = backend["inputs"]["metadata"]["labels"]
    for kind in kinds[:3]:
        (policy,) = mp.mesh_of_type(plan, kind)
        spec = policy["inputs"]["spec"]
        rules = spec.get("rules") or [spec]
        (b,) = rules[0]["default"]["backends"]
        ref = b["openTelemetry"]["backendRef"]
        assert ref["kind"] == "MeshOpenTelemetryBackend" and ref["labels"].items() <= labels.items()
        assert backend["name"] in plan.requires(policy["name"])
