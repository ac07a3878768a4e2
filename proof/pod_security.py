"""Pod Security Standards, as the PodSecurity admission plugin checks them (Kubernetes 1.34,
k8s.io/pod-security-admission/policy/check_*.go; docs "Pod Security Standards").

Pods are checked as admission sees them, with the mesh's injected containers (proof/injection.py).
Two findings per pod:
- ``admission``: the pod breaks the level its namespace *enforces*
  (``pod-security.kubernetes.io/enforce``): the API server rejects the pod, so its controller
  never runs it. Nothing can excuse that.
- ``restricted``: every pod the stack runs meets ``restricted``, or carries a written reason in
  ``proof/reviewed/pod_security.yaml`` (glob on the owner, the checks excused, the reason).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from proof.injection import Injector
from proof.objects import ObjectSet
from proof.pods import PodView, pods
from proof.reviewed import load, matches
from proof.wiring import Finding

BASELINE_CAPABILITIES = {
    *("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE"),
    *("SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"),
}
SAFE_SYSCTLS = {
    *("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start"),
    *("net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports"),
    *("net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl"),
    "net.ipv4.tcp_keepalive_probes",
}
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def baseline(pod: PodView) -> Iterator[tuple[str, str]]:
    """(check id, detail) for every baseline violation."""
    spec = pod.spec
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            yield "host-namespaces", f"{field}=true"
    for v in spec.get("volumes") or []:
        if "hostPath" in v:
            yield "host-path-volumes", f"volume {v['name']}"
    if any(s.get("name") not in SAFE_SYSCTLS for s in (spec.get("securityContext") or {}).get("sysctls") or []):
        yield "sysctls", "unsafe sysctl"
    pod_sc = spec.get("securityContext") or {}
    for where, sc in [("pod", pod_sc), *((c["name"], c.get("securityContext") or {}) for c in pod.containers())]:
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            yield "seccomp", f"{where}: Unconfined"
        if (sc.get("appArmorProfile") or {}).get("type") == "Unconfined":
            yield "apparmor", f"{where}: Unconfined"
        se = sc.get("seLinuxOptions") or {}
        if se.get("type", "") not in SELINUX_TYPES or se.get("user") or se.get("role"):
            yield "selinux", f"{where}: {se}"
    for c in pod.containers():
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            yield "privileged", c["name"]
        added = set((sc.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if added:
            yield "capabilities-baseline", f"{c['name']} adds {sorted(added)}"
        if sc.get("procMount", "Default") != "Default":
            yield "proc-mount", c["name"]
        if any(p.get("hostPort") for p in c.get("ports") or []):
            yield "host-ports", c["name"]


def restricted(pod: PodView) -> Iterator[tuple[str, str]]:
    """(check id, detail) for every restricted violation (baseline's included)."""
    yield from baseline(pod)
    spec = pod.spec
    pod_sc = spec.get("securityContext") or {}
    for v in spec.get("volumes") or []:
        kinds = set(v) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            yield "restricted-volumes", f"volume {v['name']}: {sorted(kinds - RESTRICTED_VOLUMES)}"
    if pod_sc.get("runAsUser") == 0:
        yield "run-as-user", "pod runAsUser=0"
    for c in pod.containers():
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            yield "allow-privilege-escalation", c["name"]
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
            yield "run-as-non-root", c["name"]
        if sc.get("runAsUser") == 0:
            yield "run-as-user", f"{c['name']} runAsUser=0"
        profile = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if profile not in ("RuntimeDefault", "Localhost"):
            yield "seccomp", f"{c['name']}: {profile or 'unset'}"
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            yield "capabilities-restricted", f"{c['name']} does not drop ALL"
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            yield "capabilities-restricted", f"{c['name']} adds {sorted(set(caps['add']) - {'NET_BIND_SERVICE'})}"


def enforced_levels(objects: ObjectSet) -> dict[str, str]:
    """namespace -> enforced level (``privileged`` when unlabelled, the cluster default on EKS)."""
    return {
        ns.name: ((ns.body.get("metadata") or {}).get("labels") or {}).get(
            "pod-security.kubernetes.io/enforce", "privileged"
        )
        for ns in objects.of_kind("Namespace")
    }


def _our_pods(objects: ObjectSet) -> Iterator[PodView]:
    """Every pod we configure (not the controllers' run-time ones), after mesh injection."""
    inject = Injector(objects)
    return (inject(p) for p in pods(objects) if p.owner.source != "runtime")


def admission(objects: ObjectSet) -> list[Finding]:
    """Pods the namespace's enforced level rejects."""
    levels = enforced_levels(objects)
    out = []
    for pod in _our_pods(objects):
        level = levels.get(pod.namespace, "privileged")
        problems = list(restricted(pod) if level == "restricted" else baseline(pod) if level == "baseline" else [])
        for check, detail in problems:
            out.append(
                Finding("admission", pod.ref(), f"namespace {pod.namespace} enforces {level}: {check} ({detail})")
            )
    return out


def restricted_findings(objects: ObjectSet, exceptions: tuple[dict[str, Any], ...] | None = None) -> list[Finding]:
    """Restricted violations without a reviewed exception for that pod and check."""
    exceptions = load("pod_security") if exceptions is None else exceptions
    out = []
    for pod in _our_pods(objects):
        for check, detail in restricted(pod):
            excused = any(matches(e["pod"], pod.owner.ref()) and check in e["checks"] for e in exceptions)
            if not excused:
                out.append(Finding("restricted", pod.ref(), f"{check}: {detail}"))
    return out
