"""Journey 9: a pod scheduled on a new node starts meshed (kumahq/kuma#18741).

Each provider says through the mesh interface (``node_startup``) which taint its CNI's controller
removes once the CNI is ready on a node, or what else keeps a pod from running unmeshed. Checked on
the recorded node groups and NodePools and on the rendered charts: the nodes that run task pods are
born with the taint, the CNI DaemonSet tolerates it (or it would never become ready), and the remover
is switched on (Consul: the provider's own untaint agent, components/mesh/consul/untaint.py). The
system group is not born tainted: the controller that removes the taint runs there, after
cert-manager has issued the mesh CA, and cert-manager (Kuma: the controller too) does not tolerate
the taint, so a born taint would deadlock the first install (checked on the renders too).
"""

from __future__ import annotations

from typing import Any

import pytest

from components import mesh
from components.mesh.component import PROVIDERS
from components.platform import NODE_ROLE_LABEL, SYSTEM_NODE_ROLE, TASK_TAINT
from proof import objects, reviewed
from proof.objects import ObjectSet
from proof.pods import pod_template, pods
from tests.components.mesh import mesh_plans as mp

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
#: How each remover is switched on in its rendered Deployment (upstream chart templates): kuma
#: ``_helpers.tpl`` (cni.taintController.enabled), istio-discovery ``deployment.yaml`` (taint.enabled).
REMOVER_ENV = {
    "kuma": {"KUMA_RUNTIME_KUBERNETES_NODE_TAINT_CONTROLLER_ENABLED": "true"},
    "istio": {"PILOT_ENABLE_NODE_UNTAINT_CONTROLLERS": "true"},
}
#: Proof set ids that already render a provider's dev stack (proof/variants.py).
RENDERED = {"kuma": "dev", "istio": "dev-istio"}
#: The mesh's per-node agents (CNI, and ztunnel for Istio ambient) in the rendered charts.
NODE_AGENTS = {"kuma": {"kuma-cni-node"}, "istio": {"istio-cni-node", "ztunnel"}, "linkerd": {"linkerd-cni"}}
NODE_AGENTS["consul"] = {"consul-cni", "consul-cni-untaint"}
DAEMONSET_PATCH = "kubernetes:apps/v1:DaemonSetPatch"


def task_node_taints(plan) -> dict[str, list[dict]]:
    """Node group or NodePool that runs task pods -> the taints its nodes register with."""
    out = {}
    for r in plan.of_type(NODE_GROUP):
        if r["inputs"].get("labels", {}).get(NODE_ROLE_LABEL) != SYSTEM_NODE_ROLE:
            out[r["name"]] = list(r["inputs"].get("taints") or [])
    for r in plan.resources:
        if r["type"].endswith(":NodePool") and "karpenter" in r["type"]:
            out[r["name"]] = list(r["inputs"]["spec"]["template"]["spec"].get("startupTaints") or [])
    return out


def system_taints(plan) -> list[dict]:
    groups = [r for r in plan.of_type(NODE_GROUP) if r["inputs"]["labels"].get(NODE_ROLE_LABEL) == SYSTEM_NODE_ROLE]
    assert len(groups) == 1
    return list(groups[0]["inputs"].get("taints") or [])


@pytest.fixture(scope="module")
def rendered(proof, upstream):
    def build(provider: str) -> ObjectSet:
        if provider in RENDERED:
            return proof.objects(RENDERED[provider])
        built = objects.build(f"dev-{provider}", mp.plan_for("dev", provider).resources, proof.library, upstream)
        return reviewed.with_runtime_objects(built)

    return build


def _tolerates(spec: dict[str, Any], taint: dict[str, str]) -> bool:
    for t in spec.get("tolerations") or []:
        if t.get("effect") not in (None, "", taint["effect"]):
            continue
        if t.get("operator") == "Exists" and t.get("key") in (None, "", taint["key"]):
            return True
        if t.get("key") == taint["key"]:
            return True
    return False


def _env(obj) -> dict[str, str]:
    spec = (pod_template(obj) or {}).get("spec") or {}
    return {e["name"]: str(e.get("value")) for c in spec.get("containers") or [] for e in c.get("env") or []}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_task_nodes_register_with_the_taint_the_mesh_cni_removes(provider):
    startup = mesh.node_startup(provider)
    found = task_node_taints(mp.plan_for("dev", provider))
    assert len(found) >= 2, "the Karpenter NodePools (and any workload node group) were recorded"
    if startup.taint is None:
        # A born taint nothing removes would keep every task off the node: none may be set.
        assert all(t["key"] != "NodeReadiness" and "cni" not in t["key"] for ts in found.values() for t in ts)
        return
    missing = [name for name, taints in found.items() if dict(startup.taint) not in taints]
    assert missing == [], f"{provider}: task nodes that start without {startup.taint}: {missing}"


@pytest.mark.parametrize("provider", sorted(RENDERED))
def test_the_cni_tolerates_the_taint_its_remover_is_on_and_the_system_group_is_not_born_tainted(provider, rendered):
    taint = dict(mesh.node_startup(provider).taint or {})
    assert taint, provider
    objects_ = rendered(provider)
    cni = [d for d in objects_.of_kind("DaemonSet") if "cni" in d.name]
    assert cni and all(_tolerates(pod_template(d)["spec"], taint) for d in cni), [d.ref() for d in cni]
    removers = [d for d in objects_.of_kind("Deployment") if REMOVER_ENV[provider].items() <= _env(d).items()]
    assert len(removers) == 1, f"{provider}: the untaint controller is not switched on"
    if provider == "istio":
        assert _env(removers[0])["PILOT_NODE_UNTAINT_CONTROLLERS_TAINT_NAME"] == taint["key"]
    # The remover runs on the system nodes, after what the mesh waits for (cert-manager issues its CA):
    # if any of those cannot schedule on a node born tainted, the system group must not be born so.
    waited_for = [removers[0], *(d for d in objects_.of_kind("Deployment") if d.namespace == "cert-manager")]
    blockers = [d.ref() for d in waited_for if not _tolerates(pod_template(d)["spec"], taint)]
    assert blockers, f"{provider}: nothing would block; the system group could be born tainted too"
    assert taint not in system_taints(mp.plan_for("dev", provider))


def test_linkerd_pods_fail_closed_and_are_repaired_without_a_taint(rendered):
    """Linkerd removes no taint; its guard must be on: the network validator in injected pods (the
    injector adds it whenever the CNI is on, ``cniEnabled``) and the CNI's repair controller."""
    assert "network-validator" in mesh.node_startup("linkerd").guard
    objects_ = rendered("linkerd")
    (cni,) = [d for d in objects_.of_kind("DaemonSet") if d.name == "linkerd-cni"]
    containers = {c["name"] for c in pod_template(cni)["spec"]["containers"]}
    assert "repair-controller" in containers
    injector = objects_.find("Deployment", "linkerd", "linkerd-proxy-injector")
    assert injector is not None
    inits = [c["name"] for c in pod_template(injector)["spec"].get("initContainers") or []]
    assert inits[:1] == ["linkerd-network-validator"], inits  # rendered with cniEnabled, as injected pods are


def test_consul_removes_its_taint_with_its_own_agent_where_consul_cni_writes(rendered):
    """consul-k8s has no untaint controller (ConsulMesh.node_startup): the provider's agent removes the
    taint. It runs wherever the born taint and the task taint are, reads the directory consul-cni writes
    (the rendered consul-cni DaemonSet's ``cni-net-dir`` hostPath), and the system group is not born
    tainted: the agent starts after the release, whose servers and injector do not tolerate the taint."""
    taint = dict(mesh.node_startup("consul").taint or {})
    assert taint == {"key": "consul.hashicorp.com/cni-not-ready", "effect": "NoSchedule"}
    objects_ = rendered("consul")
    (agent,) = [d for d in objects_.of_kind("DaemonSet") if d.namespace == "consul" and _env(d).get("TAINT_KEY")]
    spec = pod_template(agent)["spec"]
    assert _env(agent)["TAINT_KEY"] == taint["key"]
    assert _tolerates(spec, taint) and _tolerates(spec, TASK_TAINT)
    cni = objects_.find("DaemonSet", "consul", "consul-cni")
    assert cni is not None
    written = {v["hostPath"]["path"] for v in pod_template(cni)["spec"]["volumes"] if v["name"] == "cni-net-dir"}
    read = {v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
    assert read == written == {_env(agent)["CNI_NET_DIR"]}
    mounts = [m for c in spec["containers"] for m in c.get("volumeMounts") or [] if m["name"] == "cni-net-dir"]
    assert mounts and all(m.get("readOnly") for m in mounts)
    control_plane = [
        d
        for kind in ("Deployment", "StatefulSet")
        for d in objects_.of_kind(kind)
        if d.namespace in ("consul", "cert-manager")
    ]
    blockers = [d.ref() for d in control_plane if not _tolerates(pod_template(d)["spec"], taint)]
    assert any("consul-server" in b for b in blockers), blockers
    assert taint not in system_taints(mp.plan_for("dev", "consul"))


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_the_mesh_node_agents_run_on_task_nodes(provider, rendered):
    """A CNI that does not tolerate the task nodes' taint never runs there, and every task pod starts
    without redirection. consul-k8s hard-codes its CNI's tolerations (no NoSchedule), so the provider
    patches them (a recorded DaemonSetPatch, applied here over the render as the API server would)."""
    objects_ = rendered(provider)
    patches = {
        (r["inputs"]["metadata"]["namespace"], r["inputs"]["metadata"]["name"]): r["inputs"]["spec"]
        for r in mp.mesh_of_type(mp.plan_for("dev", provider), DAEMONSET_PATCH)
    }
    agents = [d for d in objects_.of_kind("DaemonSet") if d.name in NODE_AGENTS[provider]]
    assert {d.name for d in agents} == NODE_AGENTS[provider]
    startup = dict(mesh.node_startup(provider).taint or TASK_TAINT)
    for d in agents:
        spec = dict(pod_template(d)["spec"])
        patched = patches.get((d.namespace, d.name), {}).get("template", {}).get("spec", {})
        spec.update(patched)
        for taint in (TASK_TAINT, startup):
            assert _tolerates(spec, taint), f"{d.ref()} does not tolerate {taint}"


@pytest.mark.parametrize("provider", sorted({*RENDERED, "consul"}))
def test_no_meshed_pod_tolerates_the_startup_taint(provider, rendered):
    """A meshed pod that tolerates the startup taint lands on a new node before the CNI and starts
    unredirected, which is what the taint exists to prevent (a DaemonSet tolerating every taint did)."""
    taint = dict(mesh.node_startup(provider).taint or {})
    meshed = set(mp.model_for("dev").namespaces)
    offenders = [
        p.ref()
        for p in pods(rendered(provider))
        if p.namespace in meshed and p.owner.source != "runtime" and _tolerates(p.spec, taint)
    ]
    assert offenders == []
