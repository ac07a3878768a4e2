"""Journey 9: a pod scheduled on a new node starts meshed. Nodes must register already tainted with the
key the mesh's CNI removes once it is ready on that node (kumahq/kuma#18741): Kuma's taint controller
removes ``NodeReadiness`` (kumahq/kuma, ``pkg/plugins/runtime/k8s/controllers`` ``nodeReadinessTaintKey``),
Istio's untaint controller ``cni.istio.io/not-ready`` (istio-discovery values ``taint.name``)."""

from __future__ import annotations

import pytest

from components.mesh.component import PROVIDERS
from tests.components.mesh.mesh_plans import plan_for

#: Taint key each provider's CNI removes from a node when it is ready there.
UNTAINT_KEY = {"kuma": "NodeReadiness", "istio": "cni.istio.io/not-ready"}
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def startup_taints(plan) -> dict[str, list[dict]]:
    """Node-group or NodePool name -> the taints its nodes register with."""
    out = {r["name"]: list(r["inputs"].get("taints") or []) for r in plan.of_type(NODE_GROUP)}
    for r in plan.resources:
        if r["type"].endswith(":NodePool") and "karpenter" in r["type"]:
            out[r["name"]] = list(r["inputs"]["spec"]["template"]["spec"].get("startupTaints") or [])
    return out


@pytest.mark.xfail(strict=True, reason="issue 14 journey 9: node startup taint not landed yet (Karpenter helper)")
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_every_node_registers_with_the_taint_the_mesh_cni_removes(provider):
    found = startup_taints(plan_for("dev", provider))
    assert found, "no node groups recorded"
    key = UNTAINT_KEY.get(provider)
    assert key, f"{provider}: no known CNI untaint key; add it to UNTAINT_KEY with its upstream source"
    missing = [name for name, taints in found.items() if key not in {t.get("key") for t in taints}]
    assert missing == [], f"{provider}: nodes that start without the {key} taint: {missing}"
