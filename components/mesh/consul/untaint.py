"""The Consul CNI untaint agent: a DaemonSet that takes :data:`TAINT_KEY` off its own node once consul-cni
has chained itself into the node's CNI configuration (journey 9, kumahq/kuma#18741 for the general race).

consul-k8s 1.9.11 has no untaint controller and nothing reads its CNI's result back (ConsulMesh.node_startup),
so the nodes that run meshed pods are born with ``consul.hashicorp.com/cni-not-ready:NoSchedule``
(``mesh.startup_taints``) and this agent is what removes it, the way istiod's untaint controller removes
``cni.istio.io/not-ready``.

When is consul-cni "chained"? Its installer (hashicorp/consul-k8s at a507b1d,
``control-plane/subcommand/install-cni``) copies the ``consul-cni`` binary to ``/opt/cni/bin`` first
(command.go ``binWatcher``), then takes the first valid ``*.conf``/``*.conflist`` of ``/etc/cni/net.d`` in
sorted order (cniconfig.go ``defaultCNIConfigFile``, the file the container runtime uses too; a ``.conf`` is
rewritten as ``.conflist``), appends ``{"name": "consul-cni", "type": "consul-cni", ...}`` as the *last*
plugin (``appendCNIConfig``; ``validConfig`` insists on last) and writes ``ZZZ-consul-cni-kubeconfig``, which
the plugin needs to reach the API server (``directoryWatcher``, config.go ``DefaultKubeconfig``). The agent
requires all of that of the first valid file; anything else (no config yet, consul-cni not last, a ``.conf``
still sorted first) keeps the taint, which fails closed: pods wait instead of starting unredirected.

The script runs as a bash loop with kubectl (:data:`components.versions.KUBECTL_IMAGE`, which ships bash and
jq); tests run :data:`SCRIPT` offline against a fake kubectl.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import sizing, versions
from components.mesh.policy import PART_OF
from components.platform import TASK_TAINT

#: The startup taint Consul nodes register with (ConsulMesh.node_startup) and this agent removes.
TAINT_KEY = "consul.hashicorp.com/cni-not-ready"
TAINT = {"key": TAINT_KEY, "effect": "NoSchedule"}
#: DaemonSet, ServiceAccount, ClusterRole and binding name (one per cluster: the ClusterRole is cluster-wide).
NAME = "consul-cni-untaint"
#: consul-k8s chart default ``connectInject.cni.cniNetDir``; EKS's vpc-cni writes ``10-aws.conflist`` there.
CNI_NET_DIR = "/etc/cni/net.d"
#: The file the agent's readiness probe looks for: it exists once the node carries no taint of ours.
MARKER = "/tmp/untainted"
#: Seconds between checks of the CNI directory (and between retries of a failed API call).
INTERVAL_SECONDS = 5
#: What the agent may do: read and patch nodes (``kubectl taint`` GETs the node, then PATCHes it).
RULES = [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]}]
#: The node a pod-bound ServiceAccount token was issued for, in the request's user extra
#: (k8s.io/apiserver ``pkg/authentication/serviceaccount`` ``NodeNameKey``; ServiceAccountTokenPodNodeInfo,
#: GA in Kubernetes 1.32).
NODE_NAME_EXTRA = "authentication.kubernetes.io/node-name"

SCRIPT = r"""
set -u
: "${NODE_NAME:?}" "${TAINT_KEY:?}" "${CNI_NET_DIR:?}" "${MARKER:?}" "${INTERVAL:?}"
# Stop at once on SIGTERM (bash as PID 1 would otherwise ignore it), taking the running sleep along.
sleeper=
trap '[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; exit 0' TERM INT
pause() { sleep "$1" & sleeper=$!; wait "$sleeper"; sleeper=; }

# The first valid *.conf/*.conflist in C-locale order (consul-cni's defaultCNIConfigFile, libcni.ConfFiles).
cni_config() {
  local f
  while IFS= read -r f; do
    if jq -e 'if has("plugins") then (.plugins | type == "array" and length > 0) else (.type | type == "string") end' \
        "$f" >/dev/null 2>&1; then
      printf '%s\n' "$f"
      return 0
    fi
  done < <(find "$CNI_NET_DIR" -mindepth 1 -maxdepth 1 ! -type d \( -name '*.conf' -o -name '*.conflist' \) \
             2>/dev/null | LC_ALL=C sort)
  return 1
}

# consul-cni is the last plugin of that file and its kubeconfig is there.
chained() {
  local f
  f=$(cni_config) || return 1
  jq -e '.plugins[-1].type == "consul-cni"' "$f" >/dev/null 2>&1 || return 1
  [ -s "$CNI_NET_DIR/ZZZ-consul-cni-kubeconfig" ] || return 1
  echo "consul-cni is chained in $f"
}

until chained; do pause "$INTERVAL"; done

while :; do
  if keys=$(kubectl get node "$NODE_NAME" -o jsonpath='{range .spec.taints[*]}{.key}{"\n"}{end}'); then
    if ! grep -qxF "$TAINT_KEY" <<<"$keys"; then
      echo "node $NODE_NAME carries no $TAINT_KEY taint"
      break
    fi
    if kubectl taint node "$NODE_NAME" "$TAINT_KEY:NoSchedule-"; then
      echo "removed $TAINT_KEY from node $NODE_NAME"
      break
    fi
  fi
  pause "$INTERVAL"
done

: >"$MARKER"
while :; do pause 3600; done
"""


def pod_spec() -> dict[str, Any]:
    """The agent's pod: non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp;
    its one exception to Pod Security ``restricted`` is the read-only hostPath of the CNI directory
    (baseline forbids every hostPath: the ``consul`` namespace enforces ``privileged`` for consul-cni).
    Tolerates exactly the startup taint and the task nodes' taint, so it runs wherever consul-cni does
    among the nodes that are born tainted, and no meshed pod is involved (``consul`` is not injected)."""
    return {
        "serviceAccountName": NAME,
        "automountServiceAccountToken": True,
        # Like consul-cni: not preempted on a full node. Counts against the chart's quota of such pods in
        # this namespace (``connectInject.cni.resourceQuota.pods``, 5000: two per node with consul-cni).
        "priorityClassName": "system-node-critical",
        "terminationGracePeriodSeconds": 5,
        "tolerations": [
            {"key": TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"},
            {"key": TASK_TAINT["key"], "operator": "Exists", "effect": TASK_TAINT["effect"]},
        ],
        "securityContext": {
            "runAsNonRoot": True,
            # The image has no USER (debian-base runs as root): pick an unprivileged one.
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "untaint",
                "image": versions.KUBECTL_IMAGE,
                "command": ["/bin/bash", "-c", SCRIPT],
                "env": [
                    {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                    {"name": "TAINT_KEY", "value": TAINT_KEY},
                    {"name": "CNI_NET_DIR", "value": CNI_NET_DIR},
                    {"name": "MARKER", "value": MARKER},
                    {"name": "INTERVAL", "value": str(INTERVAL_SECONDS)},
                    # kubectl's discovery cache goes below $HOME: the writable emptyDir.
                    {"name": "HOME", "value": "/tmp"},
                ],
                "readinessProbe": {"exec": {"command": ["test", "-e", MARKER]}, "periodSeconds": 10},
                "resources": sizing.MESH_DAEMONSETS["consul"][NAME].helm(),
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volumeMounts": [
                    {"name": "cni-net-dir", "mountPath": CNI_NET_DIR, "readOnly": True},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
            }
        ],
        "volumes": [
            {"name": "cni-net-dir", "hostPath": {"path": CNI_NET_DIR, "type": "Directory"}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
        ],
    }


def admission_validations(namespace: str) -> dict[str, Any]:
    """The ValidatingAdmissionPolicy spec that narrows RBAC's "patch any node" (RBAC cannot name the
    caller's node) to what the agent does: on the node its token was issued for, remove :data:`TAINT_KEY`
    and change no other taint, label, annotation or ``unschedulable``. CEL, evaluated by the API server;
    tests evaluate it with cel-python."""
    user = f"system:serviceaccount:{namespace}:{NAME}"

    def same(path: str, empty: str) -> str:
        return f"(has(object.{path}) ? object.{path} : {empty}) == (has(oldObject.{path}) ? oldObject.{path} : {empty})"

    return {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["nodes"]}
            ]
        },
        "matchConditions": [{"name": "untaint-agent", "expression": f"request.userInfo.username == '{user}'"}],
        "validations": [
            {
                "expression": f"'{NODE_NAME_EXTRA}' in request.userInfo.extra && "
                f"object.metadata.name in request.userInfo.extra['{NODE_NAME_EXTRA}']",
                "message": f"{NAME} may change only the node it runs on",
            },
            {
                "expression": "(has(object.spec.taints) ? object.spec.taints : []) == "
                "(has(oldObject.spec.taints) ? "
                f"oldObject.spec.taints.filter(t, t.key != '{TAINT_KEY}') : [])",
                "message": f"{NAME} may only remove the {TAINT_KEY} taint",
            },
            {
                "expression": " && ".join(
                    [
                        same("metadata.labels", "{}"),
                        same("metadata.annotations", "{}"),
                        same("spec.unschedulable", "false"),
                    ]
                ),
                "message": f"{NAME} may not change a node's labels, annotations or unschedulable",
            },
        ],
    }


def untaint_agent(
    name: str, namespace: str, opts: pulumi.ResourceOptions, after: Sequence[pulumi.Resource]
) -> list[pulumi.Resource]:
    """ServiceAccount, ClusterRole (get/patch nodes), its binding, the admission policy that confines
    those patches (:func:`admission_validations`) and the DaemonSet in ``namespace``,
    as children named ``<name>-untaint-*`` that wait for ``after`` (consul-cni's toleration patch)."""
    labels = {**PART_OF, "app.kubernetes.io/name": NAME}

    def child(*deps: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[*after, *deps]))

    account = k8s.core.v1.ServiceAccount(
        f"{name}-untaint-sa", metadata={"name": NAME, "namespace": namespace, "labels": labels}, opts=child()
    )
    role = k8s.rbac.v1.ClusterRole(
        f"{name}-untaint-clusterrole", metadata={"name": NAME, "labels": labels}, rules=RULES, opts=child()
    )
    binding = k8s.rbac.v1.ClusterRoleBinding(
        f"{name}-untaint-binding",
        metadata={"name": NAME, "labels": labels},
        role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
        subjects=[{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}],
        opts=child(role, account),
    )
    policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
        f"{name}-untaint-policy",
        metadata={"name": NAME, "labels": labels},
        spec=admission_validations(namespace),
        opts=child(),
    )
    policy_binding = k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
        f"{name}-untaint-policy-binding",
        metadata={"name": NAME, "labels": labels},
        spec={"policyName": NAME, "validationActions": ["Deny"]},
        opts=child(policy),
    )
    daemonset = k8s.apps.v1.DaemonSet(
        f"{name}-untaint",
        metadata={"name": NAME, "namespace": namespace, "labels": labels},
        spec={
            "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec()},
        },
        # Ready on a node once its taint is gone; so Pulumi's wait for the rollout is also a check that
        # consul-cni chained itself on every node that exists.
        # (and the agent never patches a node before the policy that narrows its RBAC is bound).
        opts=child(binding, policy_binding),
    )
    return [account, role, binding, policy, policy_binding, daemonset]
