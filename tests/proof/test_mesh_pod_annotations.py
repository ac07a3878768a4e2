"""The mesh's per-workload pod annotations reach the rendered pods (issue 16, Consul exits).

Consul cannot name RDS or the Kubernetes API as a terminating-gateway destination, so the workloads
that call them need outbound exclusions on their own pods (``mesh.workload_pod_annotations``). Each
layer that owns pods puts them there; this renders every chart of a Consul stack with the real charts
and looks at the pods themselves, as the injector will see them. A pod is matched to its access-model
workload by namespace and ServiceAccount, the identity the mesh gives it.
"""

from __future__ import annotations

import pytest

from components import access_model, mesh
from proof import objects, reviewed
from proof.pods import PodView, pods
from tests.components.mesh import mesh_plans as mp

#: Run-time pods (reviewed/runtime_objects.yaml) carry no spec of ours: their annotations come from
#: the creator (the Gateway's ``infrastructure``), checked with the edge.
RUNTIME = "runtime"


@pytest.fixture(scope="module")
def consul_set(proof, upstream) -> objects.ObjectSet:
    plan = mp.plan_for("dev", "consul")
    return reviewed.with_runtime_objects(objects.build("dev-consul", plan.resources, proof.library, upstream))


@pytest.fixture(scope="module")
def consul_pods(consul_set) -> list[PodView]:
    return [p for p in pods(consul_set) if p.owner.source != RUNTIME]


def test_consul_servers_claim_the_clusters_encrypted_class(consul_set):
    """The servers' volume claims name the cluster's gp3 class (no class of the mesh's own) and, as
    rendered for the stack's Kubernetes version, carry the retention policy."""
    from components import platform

    (servers,) = [s for s in consul_set.of_kind("StatefulSet") if s.name == "consul-server"]
    (claim,) = servers.body["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == platform.STORAGE_CLASS
    assert servers.body["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Delete",
        "whenScaled": "Retain",
    }
    assert [c.name for c in consul_set.of_kind("StorageClass")] == [platform.STORAGE_CLASS]


def _workload(pod: PodView, model: access_model.AccessModel) -> str | None:
    for w in model.workloads.values():
        if w.namespace == pod.namespace and w.service_account == pod.service_account:
            return w.name
    return None


def test_every_pod_of_a_workload_with_unnameable_exits_carries_its_consul_annotations(consul_pods):
    settings, model = mp.settings_for("dev"), mp.model_for("dev")
    wanted = mesh.workload_pod_annotations("consul", model, settings.vpc_cidr)
    assert {"airflow-pgbouncer", "airflow-scheduler", "edge-controller", "otel-collector"} <= set(wanted)
    seen: dict[str, list[str]] = {}
    missing = []
    for pod in consul_pods:
        workload = _workload(pod, model)
        if workload not in wanted:
            continue
        seen.setdefault(workload, []).append(pod.ref())
        lacking = {k: v for k, v in wanted[workload].items() if pod.annotations.get(k) != v}
        if lacking:
            missing.append(f"{pod.ref()} ({workload}) lacks {lacking}")
    assert missing == []
    # Every such workload has rendered pods: none was left to a layer that does not apply them.
    assert sorted(seen) == sorted(wanted)


def test_task_pod_templates_carry_the_annotations_of_their_identity():
    """Task pods come from templates (the chart's and one per domain), not from a chart's workload."""
    from components.airflow import component as airflow
    from components.airflow.pods import pod_template

    settings, model = mp.settings_for("staging"), mp.model_for("staging")
    fake = {w: {"example.com/exit": w} for w in ("airflow-worker", *(f"domain-{d.name}" for d in settings.domains))}
    inputs = airflow.chart_inputs(settings, model, fake)
    assert pod_template(inputs, None)["metadata"]["annotations"]["example.com/exit"] == "airflow-worker"
    for domain in inputs.domains:
        annotations = pod_template(inputs, domain)["metadata"]["annotations"]
        assert annotations["example.com/exit"] == f"domain-{domain.name}"
        assert annotations["karpenter.sh/do-not-disrupt"] == "true"


@pytest.mark.parametrize("set_id", ["dev", "dev-consul"])
def test_every_meshed_workload_selector_selects_its_own_rendered_pods(set_id, proof, upstream, consul_pods):
    """The model's selector of a workload is what policies target (Kuma, Istio, Linkerd) and what
    Consul's registration Services select (a pod no Service selects is never registered and its
    dataplane waits forever, hashicorp/consul-k8s#1899): it must select the pods that run as the
    workload's ServiceAccount (pod templates included: task pods exist only at run time)."""
    model = mp.model_for("dev")
    found = consul_pods if set_id == "dev-consul" else list(pods(proof.objects(set_id)))
    wrong = []
    for w in model.workloads.values():
        if not w.meshed:
            continue
        own = [p for p in found if p.namespace == w.namespace and p.service_account == w.service_account]
        if not own:
            continue  # not deployed in this stack (e.g. Redis without Celery)
        if not any(all(p.labels.get(k) == v for k, v in w.selector.items()) for p in own):
            wrong.append(f"{w.name}: {dict(w.selector)} selects none of {[p.ref() for p in own]} ({own[0].labels})")
    assert wrong == []
