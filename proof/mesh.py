"""Mesh wiring: which pods the mesh enrolls, and whether every mesh policy selects something.

Enrollment is learned from the recorded objects, as the mesh's injector/CNI decides it:

- Kuma 2.14 (docs "Data plane on Kubernetes"): a namespace labelled
  ``kuma.io/sidecar-injection: enabled`` gets a sidecar in every pod, unless the pod is labelled
  ``kuma.io/sidecar-injection: disabled`` or uses the host network (the injector skips those).
- Istio 1.30 ambient (docs "ambient/usage/add-workloads"): namespace label
  ``istio.io/dataplane-mode: ambient``; a pod opts out with ``istio.io/dataplane-mode: none``;
  host-network pods are never captured. Sidecar mode: ``istio-injection: enabled`` and pod label
  ``sidecar.istio.io/inject: "false"`` to opt out.

A policy whose selector matches no enrolled pod (or whose port no selected container has, or
whose source identity no enrolled pod holds) does nothing: the traffic it was written for is denied.
"""

from __future__ import annotations

import re
from typing import Any

from proof.objects import ObjectSet
from proof.pods import PodView, pods, selects
from proof.reviewed import load, matches
from proof.wiring import Finding

_KUMA_SYSTEM = "kuma-system"
_ISTIO_ROOT = "istio-system"
_IDENTITY = re.compile(r"(?:^|/)ns/([^/]+)/sa/([^/]+)$")


def provider(objects: ObjectSet) -> str | None:
    """``kuma``, ``istio`` or None, from the policies and control planes in the set."""
    groups = {
        o.api_version.split("/")[0]
        for o in objects.objects
        if o.source != "crds/" and o.kind != "CustomResourceDefinition"
    }
    if "kuma.io" in groups:
        return "kuma"
    if "security.istio.io" in groups or objects.find("Deployment", "istio-system", "istiod"):
        return "istio"
    return None


def meshed_namespaces(objects: ObjectSet) -> set[str]:
    """Namespaces whose pods the mesh captures by default."""
    out = set()
    for ns in objects.of_kind("Namespace"):
        labels = (ns.body.get("metadata") or {}).get("labels") or {}
        if labels.get("kuma.io/sidecar-injection") == "enabled" or labels.get("istio.io/dataplane-mode") == "ambient":
            out.add(ns.name)
        if labels.get("istio-injection") == "enabled":
            out.add(ns.name)
    return out


def opted_out(pod: PodView) -> str | None:
    """Why the mesh leaves this pod out, or None if it is enrolled (in a meshed namespace)."""
    if pod.spec.get("hostNetwork"):
        return "hostNetwork"
    for key, value in (
        ("kuma.io/sidecar-injection", "disabled"),
        ("istio.io/dataplane-mode", "none"),
        ("sidecar.istio.io/inject", "false"),
    ):
        if pod.labels.get(key) == value or pod.annotations.get(key) == value:
            return f"{key}={value}"
    return None


def enrolled(objects: ObjectSet) -> list[PodView]:
    meshed = meshed_namespaces(objects)
    return [p for p in pods(objects) if p.namespace in meshed and not opted_out(p)]


def enrollment(objects: ObjectSet, exclusions: tuple[dict[str, Any], ...] | None = None) -> list[Finding]:
    """Pods in a meshed namespace that the mesh leaves out without a reviewed reason."""
    exclusions = load("mesh_exclusions") if exclusions is None else exclusions
    meshed = meshed_namespaces(objects)
    out = []
    for pod in pods(objects):
        why = opted_out(pod) if pod.namespace in meshed else None
        if why and not any(matches(e["pod"], pod.owner.ref()) for e in exclusions):
            out.append(
                Finding("mesh", pod.ref(), f"in meshed namespace {pod.namespace} but left out ({why}), unreviewed")
            )
    return out


def policy_targets(objects: ObjectSet) -> list[Finding]:
    """Every Kuma/Istio policy selects at least one enrolled pod (and port), and every source
    identity it admits is held by an enrolled pod."""
    members = enrolled(objects)
    out: list[Finding] = []
    for policy in objects.objects:
        group = policy.api_version.split("/")[0]
        if policy.source == "crds/" or group not in ("kuma.io", "security.istio.io"):
            continue
        spec = policy.body.get("spec") or {}
        ns = policy.namespace
        if group == "kuma.io" and isinstance(spec.get("targetRef"), dict):
            scope = [p for p in members if ns in (None, _KUMA_SYSTEM) or p.namespace == ns]
            out.extend(_kuma_target(policy.ref(), spec["targetRef"], scope, objects))
            for rule in spec.get("rules") or []:
                for verdict in ("allow", "deny", "allowWithShadowDeny"):
                    for match in (rule.get("default") or {}).get(verdict) or []:
                        spiffe = (match.get("spiffeID") or {}).get("value")
                        if spiffe and not _identity_held(spiffe, members):
                            out.append(Finding("mesh-policy", policy.ref(), f"no enrolled pod holds {spiffe}"))
        elif group == "security.istio.io" and policy.kind in ("AuthorizationPolicy", "PeerAuthentication"):
            out.extend(_istio(policy.ref(), ns, spec, members))
    return out


def _kuma_target(ref: str, target: dict[str, Any], scope: list[PodView], objects: ObjectSet) -> list[Finding]:
    kind = target.get("kind")
    if kind == "Mesh":
        return [] if scope else [Finding("mesh-policy", ref, "targets the Mesh but no pod is enrolled")]
    if kind in ("Dataplane", "MeshSubset"):
        labels = target.get("labels") or target.get("tags") or {}
        chosen = [p for p in scope if selects(labels, {**p.labels, "k8s.kuma.io/namespace": p.namespace})]
        if not chosen:
            return [Finding("mesh-policy", ref, f"targetRef {kind} {labels} matches no enrolled pod")]
        section = target.get("sectionName")
        if section and not any(section in _port_names(p) for p in chosen):
            return [Finding("mesh-policy", ref, f"sectionName {section} is no port of the selected pods")]
        return []
    if kind == "MeshService":
        ns = target.get("namespace") or (scope[0].namespace if scope else None)
        if not any(
            s.name == target.get("name") and (ns is None or s.namespace == ns) for s in objects.of_kind("Service")
        ):
            return [Finding("mesh-policy", ref, f"targetRef MeshService {target.get('name')} does not exist")]
    return []


def _istio(ref: str, ns: str | None, spec: dict[str, Any], members: list[PodView]) -> list[Finding]:
    out = []
    selector = spec.get("selector")
    if selector is None and ns == _ISTIO_ROOT:
        return out  # a root-namespace policy without selector applies mesh-wide
    chosen = [p for p in members if p.namespace == ns and selects(selector, p.labels)]
    if not chosen:
        return [Finding("mesh-policy", ref, f"selector {selector} matches no enrolled pod in {ns}")]
    ports = {str(port) for p in chosen for c in p.containers() for port in _container_ports(c)}
    for rule in spec.get("rules") or []:
        for to in rule.get("to") or []:
            for port in (to.get("operation") or {}).get("ports") or []:
                if str(port) not in ports:
                    out.append(Finding("mesh-policy", ref, f"port {port} is no container port of {_names(chosen)}"))
        for source in rule.get("from") or []:
            for principal in (source.get("source") or {}).get("principals") or []:
                if not _identity_held(principal, members):
                    out.append(Finding("mesh-policy", ref, f"no enrolled pod holds principal {principal}"))
    for port in spec.get("portLevelMtls") or {}:
        if str(port) not in ports:
            out.append(Finding("mesh-policy", ref, f"portLevelMtls {port} is no container port of {_names(chosen)}"))
    return out


def _identity_held(identity: str, members: list[PodView]) -> bool:
    match = _IDENTITY.search(identity)
    if not match:
        return True  # not a namespace/service-account identity (a trust-domain wildcard): nothing to check
    ns, sa = match.groups()
    return any(p.namespace == ns and p.service_account == sa for p in members)


def _container_ports(container: dict[str, Any]) -> list[int]:
    return [p["containerPort"] for p in container.get("ports") or [] if "containerPort" in p]


def _port_names(pod: PodView) -> set[str]:
    return {str(p.get("name")) for c in pod.containers() for p in c.get("ports") or []}


def _names(chosen: list[PodView]) -> str:
    return ", ".join(sorted({p.owner.ref() for p in chosen}))
