"""Journeys that leave the mesh (scheduler -> PgBouncer -> RDS, task -> S3 / Secrets Manager / partner
API, API clients -> Kubernetes API, oauth2-proxy -> IdP), per provider: every exit of the access model
is let out by a recorded object that names it, and nothing else is, where the provider filters egress."""

from __future__ import annotations

import pytest

from components.mesh.policy import egress_by_source, is_s3_endpoint, s3_bucket_hosts
from plan import harness
from plan.journey_exits import decide_exit
from tests.components.mesh import mesh_plans as mp

STACK = "staging"
FILTERING = ("kuma", "linkerd", "consul")


@pytest.mark.parametrize("provider", mp.PROVIDERS)
def test_every_exit_of_the_model_is_let_out_by_a_named_object(provider):
    model, plan = mp.model_for(STACK), mp.plan_for(STACK, provider)
    denied = []
    for source, egress in egress_by_source(model).items():
        for e in egress:
            hop = decide_exit(plan, model, provider, source, e.host, e.port)
            if not hop.allowed:
                denied.append(hop.line())
    assert denied == []


@pytest.mark.parametrize("provider", mp.PROVIDERS)
def test_task_pods_reach_their_buckets_by_virtual_hosted_name(provider):
    settings, model, plan = mp.settings_for(STACK), mp.model_for(STACK), mp.plan_for(STACK, provider)
    values = {"logs_bucket": settings.logs_bucket_name}
    for source, egress in egress_by_source(model).items():
        for e in (e for e in egress if is_s3_endpoint(e.host)):
            for name in s3_bucket_hosts(model, [source], e.host, values):
                assert decide_exit(plan, model, provider, source, name, 443).allowed, (provider, source, name)


@pytest.mark.parametrize("provider", mp.PROVIDERS)
def test_an_unlisted_destination_is_dropped_where_the_provider_filters_egress(provider):
    model, plan = mp.model_for(STACK), mp.plan_for(STACK, provider)
    hop = decide_exit(plan, model, provider, "domain-marketing", "exfiltrate.example.net", 443)
    assert hop.allowed is (provider not in FILTERING), hop.line()
    # The database is the PgBouncer's exit, not a task's: Linkerd cannot tell (inside clusterNetworks).
    to_rds = decide_exit(plan, model, provider, "domain-marketing", "{database_address}", 5432)
    assert to_rds.allowed is (provider in ("istio", "linkerd")), to_rds.line()


def test_consul_lets_pgbouncer_reach_rds_only_through_its_pod_exclusion():
    model, plan = mp.model_for(STACK), mp.plan_for(STACK, "consul")
    hop = decide_exit(plan, model, "consul", "airflow-pgbouncer", "{database_address}", 5432)
    assert hop.allowed and "exclude-outbound-ports" in hop.decided_by
    api = decide_exit(plan, model, "consul", "airflow-scheduler", "172.20.0.1", 443)
    assert api.allowed and "exclude-outbound-cidrs" in api.decided_by


def test_linkerd_tls_exits_need_the_channel_that_serves_the_version_linkerd_reads():
    """On the standard channel Linkerd edge-26.8.3 never sees a TLSRoute (it reads v1alpha2 only), so
    the same recorded exit is denied, and explain says why (components/edge/gateway_api.py)."""
    model, plan = mp.model_for(STACK), mp.plan_for(STACK, "linkerd")
    (partner,) = [e for e in egress_by_source(model)["domain-marketing"] if e.port == 443 and "partner" in e.host]
    assert decide_exit(plan, model, "linkerd", "domain-marketing", partner.host, partner.port).allowed
    standard = [
        {**r, "inputs": {**r["inputs"], "file": r["inputs"]["file"].replace("experimental-", "standard-")}}
        if r["type"] == "kubernetes:yaml/v2:ConfigFile"
        else r
        for r in plan.resources
    ]
    hop = decide_exit(harness.Plan(plan.stack, standard), model, "linkerd", "domain-marketing", partner.host, 443)
    assert not hop.allowed
    assert hop.decided_by.endswith(
        "unseen: Linkerd reads TLSRoute v1alpha2; the Gateway API standard channel serves ['v1']"
    )


def test_linkerd_says_when_an_exit_is_allowed_only_because_a_neighbour_has_it():
    """Linkerd's EgressNetwork is per namespace (docs/mesh.md): a workload reaches its neighbours'
    exits too, and explain says so rather than showing it like one of its own."""
    model, plan = mp.model_for(STACK), mp.plan_for(STACK, "linkerd")
    exits = egress_by_source(model)
    mine = {(e.host, e.port) for e in exits["airflow-scheduler"]}
    (host, port) = next(
        (e.host, e.port)
        for source, listed in exits.items()
        if model.workload(source).namespace == "airflow"
        for e in listed
        if e.port == 443 and not is_s3_endpoint(e.host) and (e.host, e.port) not in mine
    )
    borrowed = decide_exit(plan, model, "linkerd", "airflow-scheduler", host, port)
    assert borrowed.allowed and "namespace-wide: not an exit of airflow-scheduler" in borrowed.decided_by
    for source, listed in exits.items():
        for e in listed:
            assert "namespace-wide" not in decide_exit(plan, model, "linkerd", source, e.host, e.port).decided_by
