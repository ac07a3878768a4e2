"""Consul's untaint agent (components/mesh/consul/untaint.py): its objects in the recorded plan, its RBAC,
its Pod Security, and its script run offline against a fake kubectl and a fake CNI directory."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import celpy
import pytest

from components import versions
from components.mesh.consul import untaint
from components.platform import TASK_TAINT
from proof.objects import KubeObject
from proof.pod_security import baseline, restricted
from proof.pods import PodView
from tests import schemas
from tests.components.mesh import mesh_plans as mp

KINDS = (
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "DaemonSet",
)


def _objects(plan) -> dict[str, dict]:
    """Kind -> the agent's object as the API server receives it."""
    found = {}
    for record in mp.mesh_resources(plan):
        body = {k: v for k, v in record["inputs"].items() if k not in ("__meta",)}
        if body.get("metadata", {}).get("name") == untaint.NAME and body.get("kind") in KINDS:
            assert body["kind"] not in found, body["kind"]
            found[body["kind"]] = {**body, "_record": record}
    return found


@pytest.fixture(scope="module")
def plan():
    return mp.plan_for("dev", "consul")


def test_the_agent_is_planned_validates_and_the_mesh_waits_for_it(plan):
    found = _objects(plan)
    assert set(found) == set(KINDS)
    for kind, obj in found.items():
        body = {k: v for k, v in obj.items() if k != "_record"}
        assert schemas.kubernetes_errors(body) == [], kind
    # Meshed workloads wait for the mesh's ``ready``, the agent included: Airflow's release requires it.
    (airflow,) = [r for r in plan.of_type(mp.RELEASE) if r["inputs"]["chart"] == "airflow"]
    assert found["DaemonSet"]["_record"]["name"] in plan.requires(airflow["name"])
    # Other providers have no such agent.
    assert _objects(mp.plan_for("dev", "kuma")) == {}


def test_rbac_is_get_and_patch_on_nodes_for_its_own_account_only(plan):
    found = _objects(plan)
    assert found["ClusterRole"]["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]}]
    binding = found["ClusterRoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": untaint.NAME}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": untaint.NAME, "namespace": "consul"}]
    spec = found["DaemonSet"]["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == untaint.NAME == found["ServiceAccount"]["metadata"]["name"]
    # Nothing else in the plan is bound to the agent's account.
    others = [
        r["name"]
        for r in plan.resources
        if r["type"].startswith("kubernetes:rbac.authorization.k8s.io/")
        and any(s.get("name") == untaint.NAME for s in r["inputs"].get("subjects") or [])
        and r["name"] != binding["_record"]["name"]
    ]
    assert others == []


NODE = "ip-10-0-1-2.ec2.internal"
AGENT = f"system:serviceaccount:consul:{untaint.NAME}"


def _node(taints: list[str], name: str = NODE, **spec: object) -> dict:
    taint_list = [{"key": k, "effect": "NoSchedule"} for k in taints]
    return {
        "metadata": {"name": name, "labels": {"airflow-mesh/node-role": "tasks"}, "annotations": {"a": "1"}},
        "spec": {**({"taints": taint_list} if taint_list else {}), **spec},
    }


def _admitted(policy: dict, old: dict, new: dict, user: str = AGENT, node: str | None = NODE) -> bool | None:
    """None when the policy does not apply to the request, else whether every validation holds."""
    env = celpy.Environment()
    extra = {untaint.NODE_NAME_EXTRA: [node]} if node else {}
    activation = {
        "object": celpy.json_to_cel(new),
        "oldObject": celpy.json_to_cel(old),
        "request": celpy.json_to_cel({"userInfo": {"username": user, "extra": extra}}),
    }

    def holds(expression: str) -> bool:
        return bool(env.program(env.compile(expression)).evaluate(activation))

    if not all(holds(c["expression"]) for c in policy["matchConditions"]):
        return None
    return all(holds(v["expression"]) for v in policy["validations"])


def test_the_admission_policy_lets_the_agent_remove_only_its_taint_from_its_own_node(plan):
    found = _objects(plan)
    policy = found["ValidatingAdmissionPolicy"]["spec"]
    assert policy == untaint.admission_validations("consul")
    assert found["ValidatingAdmissionPolicyBinding"]["spec"] == {
        "policyName": untaint.NAME,
        "validationActions": ["Deny"],
    }
    ours, task = untaint.TAINT_KEY, TASK_TAINT["key"]
    before = _node([ours, task])
    assert _admitted(policy, before, _node([task]))
    assert _admitted(policy, _node([ours]), _node([]))
    # another node, or a token without the node it was issued for
    assert not _admitted(policy, _node([ours], name="other"), _node([], name="other"))
    assert not _admitted(policy, before, _node([task]), node=None)
    # anything but removing its own taint
    assert not _admitted(policy, before, _node([ours]))
    assert not _admitted(policy, before, _node([]))
    assert not _admitted(policy, _node([task]), _node([task, ours]))
    cordoned = _node([task], unschedulable=True)
    assert not _admitted(policy, before, cordoned)
    relabelled = _node([task])
    relabelled["metadata"]["labels"] = {"airflow-mesh/node-role": "system"}
    assert not _admitted(policy, before, relabelled)
    # other callers are not this policy's business
    assert _admitted(policy, before, _node([]), user="system:node:" + NODE) is None


def test_pod_security_only_the_read_only_cni_hostpath_leaves_restricted(plan):
    """Every restricted check holds but the hostPath (baseline forbids it too); the consul namespace
    enforces privileged for consul-cni, so admission accepts the pod there."""
    ds = _objects(plan)["DaemonSet"]
    spec = ds["spec"]["template"]["spec"]
    owner = KubeObject(body={k: v for k, v in ds.items() if k != "_record"}, origin="plan", source="emitted")
    pod = PodView(owner, "consul", {}, {}, spec)
    assert {check for check, _ in restricted(pod)} == {"host-path-volumes", "restricted-volumes"}
    assert [check for check, _ in baseline(pod)] == ["host-path-volumes"]
    (namespace,) = [r for r in mp.mesh_of_type(plan, mp.NAMESPACE) if r["inputs"]["metadata"]["name"] == "consul"]
    assert namespace["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    (container,) = spec["containers"]
    assert container["image"] == versions.KUBECTL_IMAGE and "@sha256:" in container["image"]
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert {e["name"]: e.get("valueFrom") for e in container["env"]}["NODE_NAME"] == {
        "fieldRef": {"fieldPath": "spec.nodeName"}
    }
    keys = {t["key"] for t in spec["tolerations"]}
    assert keys == {untaint.TAINT_KEY, TASK_TAINT["key"]}


# --------------------------------------------------------------------------------------------------
# The script, offline
# --------------------------------------------------------------------------------------------------

FAKE_KUBECTL = r"""#!/bin/bash
# get node N -o jsonpath=...   -> the keys in $STATE/taints (fails while $STATE/api-down holds a count > 0)
# taint node N KEY:NoSchedule- -> removes KEY from $STATE/taints, or fails like kubectl when it is absent
echo "$*" >>"$STATE/calls"
if [ -s "$STATE/api-down" ]; then
  n=$(cat "$STATE/api-down"); echo $((n - 1)) >"$STATE/api-down"
  [ "$n" -gt 0 ] && { echo "connection refused" >&2; exit 1; }
fi
[ "$3" = "$NODE_NAME" ] || { echo "wrong node $3" >&2; exit 1; }
case "$1" in
  get) cat "$STATE/taints" ;;
  taint)
    key=${4%:NoSchedule-}
    grep -qxF "$key" "$STATE/taints" || { echo "taint \"$key:NoSchedule\" not found" >&2; exit 1; }
    grep -vxF "$key" "$STATE/taints" >"$STATE/taints.new"; mv "$STATE/taints.new" "$STATE/taints" ;;
  *) exit 2 ;;
esac
"""
AWS = {"cniVersion": "0.4.0", "name": "aws-cni", "plugins": [{"type": "aws-cni"}, {"type": "portmap"}]}
CONSUL_PLUGIN = {"name": "consul-cni", "type": "consul-cni", "kubeconfig": "ZZZ-consul-cni-kubeconfig"}


class Node:
    """A fake node: CNI directory, taints, and the agent's script running against a fake kubectl."""

    def __init__(self, root: Path, taints: list[str]):
        self.cni, self.state, self.bin = root / "net.d", root / "state", root / "bin"
        for d in (self.cni, self.state, self.bin):
            d.mkdir(parents=True)
        (self.state / "taints").write_text("".join(f"{t}\n" for t in taints))
        (self.state / "calls").write_text("")
        kubectl = self.bin / "kubectl"
        kubectl.write_text(FAKE_KUBECTL)
        kubectl.chmod(kubectl.stat().st_mode | stat.S_IEXEC)
        self.marker = root / "untainted"
        self.proc: subprocess.Popen[str] | None = None

    def write(self, name: str, config: dict | str) -> None:
        text = config if isinstance(config, str) else json.dumps(config, indent=2)
        (self.cni / name).write_text(text)

    def chain(self, name: str = "10-aws.conflist", kubeconfig: bool = True) -> None:
        self.write(name, {**AWS, "plugins": [*AWS["plugins"], CONSUL_PLUGIN]})
        if kubeconfig:
            (self.cni / "ZZZ-consul-cni-kubeconfig").write_text("apiVersion: v1\nkind: Config\n")

    def start(self) -> None:
        env = {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "NODE_NAME": "ip-10-0-1-2.ec2.internal",
            "TAINT_KEY": untaint.TAINT_KEY,
            "CNI_NET_DIR": str(self.cni),
            "MARKER": str(self.marker),
            "INTERVAL": "0.05",
            "STATE": str(self.state),
        }
        self.proc = subprocess.Popen(
            ["bash", "-c", untaint.SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def settled(self, seconds: float = 5.0) -> bool:
        """True once the agent marked itself ready, False if it has not after ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, "the agent exited"
            if self.marker.exists():
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> tuple[int, str]:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=5)
        return self.proc.returncode, out

    @property
    def taints(self) -> list[str]:
        return (self.state / "taints").read_text().split()

    @property
    def taint_calls(self) -> list[str]:
        return [c for c in (self.state / "calls").read_text().splitlines() if c.startswith("taint ")]


@pytest.fixture
def node(tmp_path):
    made: list[Node] = []

    def make(taints: list[str]) -> Node:
        made.append(Node(tmp_path / str(len(made)), taints))
        return made[-1]

    yield make
    for n in made:
        if n.proc is not None and n.proc.poll() is None:
            n.proc.kill()
            n.proc.wait()


def test_the_taint_goes_only_after_consul_cni_is_chained(node):
    n = node([untaint.TAINT_KEY, TASK_TAINT["key"]])
    n.write("10-aws.conflist", AWS)  # the vpc-cni's config, consul-cni not yet chained
    n.start()
    assert not n.settled(0.6)
    assert n.taints == [untaint.TAINT_KEY, TASK_TAINT["key"]] and n.taint_calls == []
    n.chain()
    assert n.settled()
    assert n.taints == [TASK_TAINT["key"]]  # only its own taint
    assert n.taint_calls == [f"taint node ip-10-0-1-2.ec2.internal {untaint.TAINT_KEY}:NoSchedule-"]
    time.sleep(0.3)
    code, out = n.stop()  # keeps running (sleeping) after its work, and stops cleanly on SIGTERM
    assert code == 0 and "removed" in out
    assert len(n.taint_calls) == 1


@pytest.mark.parametrize(
    "layout",
    ["no-kubeconfig", "not-last", "conf-sorted-first", "only-in-a-later-file", "empty-dir"],
)
def test_the_taint_stays_while_consul_cni_is_not_what_the_runtime_runs(node, layout):
    n = node([untaint.TAINT_KEY])
    if layout == "no-kubeconfig":
        n.chain(kubeconfig=False)
    elif layout == "not-last":
        n.chain()
        n.write("10-aws.conflist", {**AWS, "plugins": [AWS["plugins"][0], CONSUL_PLUGIN, AWS["plugins"][1]]})
    elif layout == "conf-sorted-first":
        # a single-plugin .conf sorts before the .conflist consul-cni made of it: the runtime uses the .conf
        n.write("05-other.conf", {"cniVersion": "0.4.0", "name": "other", "type": "bridge"})
        n.chain("05-other.conflist")
    elif layout == "only-in-a-later-file":
        n.write("10-aws.conflist", AWS)
        n.chain("20-spare.conflist")
    n.start()
    assert not n.settled(0.5)
    assert n.taints == [untaint.TAINT_KEY] and n.taint_calls == []


def test_invalid_files_are_skipped_like_libcni_does(node):
    n = node([untaint.TAINT_KEY])
    n.write("00-broken.conflist", "{not json")
    n.write("01-empty.conflist", {"cniVersion": "0.4.0", "name": "x", "plugins": []})
    n.chain()
    n.start()
    assert n.settled()
    assert n.taints == []


def test_idempotent_when_the_node_never_had_the_taint(node):
    n = node([TASK_TAINT["key"]])
    n.chain()
    n.start()
    assert n.settled()
    assert n.taints == [TASK_TAINT["key"]] and n.taint_calls == []
    code, out = n.stop()
    assert code == 0 and "carries no" in out


def test_api_errors_are_retried(node):
    n = node([untaint.TAINT_KEY])
    (n.state / "api-down").write_text("3")
    n.chain()
    n.start()
    assert n.settled()
    assert n.taints == []
    calls = (n.state / "calls").read_text().splitlines()
    assert sum(c.startswith("get node") for c in calls) == 4  # three refused, then the one that worked
