"""Every object has exactly one installer.

Two installers of one object (two Helm releases, a release and the program, a chart and a release
manifest) fail on a real cluster, whichever runs second: Helm refuses to adopt an object another
release or tool created ("invalid ownership metadata", helm/helm pkg/action/validate.go), and
server-side apply by another field manager conflicts. If neither fails, the two fight over the object
on every run. The class was found on the Consul stacks: the consul-k8s chart installs its own Gateway
API v0.6.2 CRDs by default, the same CRDs the stack installs from the Gateway API release.

Objects the program patches (Pulumi ``<Kind>Patch``) are merged into their target before this runs
(:func:`proof.objects.apply_patches`); pods read from ConfigMap values are not installed objects.
"""

from __future__ import annotations

from collections import defaultdict

from proof.objects import KubeObject, ObjectSet
from proof.wiring import Finding


def identity(obj: KubeObject) -> tuple[str, str, str, str]:
    """(API group, kind, namespace or "", name): what the API server keys an object by (the version is
    not part of it: one object is served at every version of its kind)."""
    group = obj.api_version.rsplit("/", 1)[0] if "/" in obj.api_version else ""
    return group, obj.kind, obj.namespace or "", obj.name


def installed(objects: ObjectSet) -> list[KubeObject]:
    """The objects some installer creates (not pods read from ConfigMap values)."""
    return [o for o in objects.objects if not o.is_pod_template]


def owned_once(objects: ObjectSet) -> list[Finding]:
    """One finding per object that more than one installer (or one installer twice) creates."""
    owners: dict[tuple[str, str, str, str], list[KubeObject]] = defaultdict(list)
    for obj in installed(objects):
        owners[identity(obj)].append(obj)
    out = []
    for found in owners.values():
        if len(found) > 1:
            by = ", ".join(sorted(f"{o.origin} ({o.source})" for o in found))
            out.append(Finding("owners", found[0].ref(), f"installed {len(found)} times: by {by}"))
    return out
