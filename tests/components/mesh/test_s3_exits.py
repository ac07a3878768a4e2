"""S3 exits let the SDKs' virtual-hosted names out (``<bucket>.s3.<region>.amazonaws.com``) on every
provider that filters egress by host: Kuma (MeshPassthrough ``*.s3...`` by SNI), Linkerd (TLSRoute
hostnames ``*.s3...``), Consul (destination addresses listing each granted bucket's host, since
destinations take no wildcard). Read back from the recorded plans, per workload and bucket."""

from __future__ import annotations

from fnmatch import fnmatch

import pytest

from components.mesh.policy import egress_by_source, is_s3_endpoint, s3_bucket_hosts
from tests.components.mesh import mesh_plans as mp

STACK = "staging"  # us-east-1: the regional and the global S3 endpoint


def _wanted(model, settings) -> list[tuple[str, str]]:
    """(workload, virtual-hosted name) for every bucket a workload's grants name, on each S3 endpoint
    it has an exit to."""
    values = {"logs_bucket": settings.logs_bucket_name}
    out = []
    for source, egress in egress_by_source(model).items():
        for e in egress:
            if e.port == 443 and is_s3_endpoint(e.host):
                out.extend((source, name) for name in s3_bucket_hosts(model, [source], e.host, values))
    return out


def _kuma(plan, model) -> dict[str, list[str]]:
    by_workload = {}
    for r in mp.mesh_of_type(plan, mp.PASSTHROUGH):
        name = r["inputs"]["metadata"]["name"].removeprefix("exit-")
        matches = r["inputs"]["spec"]["default"]["appendMatch"]
        by_workload[name] = [m["value"] for m in matches if m["type"] == "Domain" and m["port"] == 443]
    return by_workload


def _linkerd(plan, model) -> dict[str, list[str]]:
    by_namespace: dict[str, list[str]] = {}
    for r in mp.mesh_of_type(plan, mp.TLS_ROUTE):
        by_namespace.setdefault(r["inputs"]["metadata"]["namespace"], []).extend(r["inputs"]["spec"]["hostnames"])
    return {w.name: by_namespace.get(w.namespace, []) for w in model.workloads.values()}


def _consul(plan, model) -> dict[str, list[str]]:
    allowed = {}
    for r in mp.mesh_of_type(plan, mp.INTENTIONS):
        spec = r["inputs"]["spec"]
        allowed[spec["destination"]["name"]] = {s["name"] for s in spec["sources"]}
    out: dict[str, list[str]] = {}
    for r in mp.mesh_of_type(plan, mp.SERVICE_DEFAULTS):
        destination = r["inputs"]["spec"].get("destination")
        if not destination or destination["port"] != 443:
            continue
        for w in model.workloads.values():
            if w.service_account in allowed.get(r["inputs"]["metadata"]["name"], set()):
                out.setdefault(w.name, []).extend(destination["addresses"])
    return out


READERS = {"kuma": _kuma, "linkerd": _linkerd, "consul": _consul}


@pytest.mark.parametrize("provider", sorted(READERS))
def test_every_granted_bucket_is_reachable_by_its_virtual_hosted_name(provider):
    settings, model = mp.settings_for(STACK), mp.model_for(STACK)
    wanted = _wanted(model, settings)
    assert any(name.endswith(".s3.amazonaws.com") for _, name in wanted)
    assert any(name.endswith(".s3.us-east-1.amazonaws.com") for _, name in wanted)
    assert any(name.startswith(settings.logs_bucket_name + ".") for _, name in wanted)
    allowed = READERS[provider](mp.plan_for(STACK, provider), model)
    missing = [(w, name) for w, name in wanted if not any(fnmatch(name, pattern) for pattern in allowed.get(w, []))]
    assert missing == [], f"{provider}: virtual-hosted S3 names not let out: {missing}"


def test_consul_lists_only_granted_buckets():
    """No wildcard: a bucket no grant names is not a destination address (IAM would refuse it anyway)."""
    settings, model = mp.settings_for(STACK), mp.model_for(STACK)
    addresses = {a for names in _consul(mp.plan_for(STACK, "consul"), model).values() for a in names}
    granted = {name for _, name in _wanted(model, settings)}
    s3_names = {a for a in addresses if ".s3." in a and not a.startswith("s3.")}
    assert s3_names == granted
    assert not any("*" in a for a in addresses)


def test_a_bucket_slot_without_a_value_is_refused():
    model = mp.model_for(STACK)
    with pytest.raises(ValueError, match="logs_bucket"):
        s3_bucket_hosts(model, ["airflow-worker"], "s3.amazonaws.com", {})
