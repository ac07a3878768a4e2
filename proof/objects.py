"""The Kubernetes objects one recorded plan puts into its cluster: rendered and emitted.

- Emitted: every recorded ``kubernetes:<group>/<version>:<Kind>`` resource that is not a Helm
  release (``core/v1`` means ``v1``), its inputs being the object.
- Rendered: every object of every Helm release (:mod:`proof.charts`), hooks included, with the
  release namespace filled in where the template leaves it out (Helm installs namespaced objects
  there), and the CRDs of charts' ``crds/`` folders.
- ``kubernetes:yaml/v2:ConfigFile`` of the Gateway API release URL: the matching upstream
  ``gateway-api/<version>/standard`` CRDs. Any other ConfigFile is an error: its content is not
  in the plan.
- Patches (``kubernetes:<group>/<version>:<Kind>Patch``, Pulumi's server-side apply patches): merged
  into the object they name, which must be in the set; they are not objects of their own.
- Pod templates: a ConfigMap value that is a Pod manifest (Airflow's ``pod_template_file``) is a
  pod the cluster will run, so it is checked like one (origin ``<configmap>[<key>]``).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from proof.charts import HELM_RELEASE, ChartLibrary, Rendered

CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"
#: ``source`` of a pod read from a ConfigMap value: ``configmap ConfigMap <ns>/<name>[<key>]``.
POD_TEMPLATE_SOURCE = "configmap "
EKS_CLUSTER = "aws:eks/cluster:Cluster"
_GATEWAY_API_URL = re.compile(
    r"kubernetes-sigs/gateway-api/releases/download/(v[0-9.]+)/(standard|experimental)-install"
)
#: Built-in kinds that live outside namespaces (the API server's discovery says so; these are the
#: ones charts and this program create).
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "PersistentVolume",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "IngressClass",
    "APIService",
    "RuntimeClass",
    "CSIDriver",
    "Node",
}


class PlanError(Exception):
    """The plan holds something the proof cannot see into (message names the resource)."""


@dataclass
class KubeObject:
    """One object: ``body`` as the API server receives it; ``origin`` the recorded resource
    (release or emitted resource name); ``source`` the template path, ``emitted`` or
    ``configmap:<key>``."""

    body: dict[str, Any]
    origin: str
    source: str

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name", ""))

    @property
    def namespace(self) -> str | None:
        return (self.body.get("metadata") or {}).get("namespace")

    @property
    def is_pod_template(self) -> bool:
        """A pod read from a ConfigMap value (:func:`pod_templates`), not an object anyone installs."""
        return self.source.startswith(POD_TEMPLATE_SOURCE)

    @property
    def is_hook(self) -> bool:
        return "helm.sh/hook" in ((self.body.get("metadata") or {}).get("annotations") or {})

    def ref(self) -> str:
        """``Kind namespace/name`` (``Kind name`` when cluster-scoped), as messages name objects."""
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass
class ObjectSet:
    """Everything one plan installs: ``objects`` (emitted + rendered, CRDs among them) and the
    stack's Kubernetes version (``1.34``)."""

    stack: str
    kube_version: str
    objects: list[KubeObject] = field(default_factory=list)
    renders: list[Rendered] = field(default_factory=list)
    #: namespaces Helm creates (``createNamespace: true`` releases) besides Namespace objects
    helm_namespaces: set[str] = field(default_factory=set)
    #: the Gateway API release manifest installed, as (version, channel): ``("v1.5.1", "standard")``
    gateway_api: tuple[str, str] | None = None

    def of_kind(self, *kinds: str) -> list[KubeObject]:
        return [o for o in self.objects if o.kind in kinds]

    def crds(self) -> list[dict[str, Any]]:
        return [o.body for o in self.of_kind("CustomResourceDefinition")]

    def find(self, kind: str, namespace: str | None, name: str) -> KubeObject | None:
        for o in self.objects:
            if o.kind == kind and o.name == name and o.namespace == namespace:
                return o
        return None


def kube_version(resources: list[dict[str, Any]]) -> str:
    """The EKS cluster's Kubernetes version (``1.34``) from the one recorded cluster."""
    found = [r["inputs"].get("version") for r in resources if r["type"] == EKS_CLUSTER]
    if len(found) != 1 or not isinstance(found[0], str):
        raise PlanError(f"expected one {EKS_CLUSTER} with a known version, found {found}")
    return found[0]


def emitted(resources: list[dict[str, Any]]) -> Iterator[KubeObject]:
    """The objects the program registers directly (not through Helm)."""
    for r in resources:
        if r["custom"] and r["type"].startswith("kubernetes:") and r["type"] != HELM_RELEASE:
            api_version, kind = r["type"].removeprefix("kubernetes:").rsplit(":", 1)
            if api_version.startswith("yaml/") or api_version.startswith("helm.sh/"):
                continue
            body = {**r["inputs"], "apiVersion": api_version.removeprefix("core/"), "kind": kind}
            yield KubeObject(body=body, origin=r["name"], source="emitted")


def config_file_crds(resources: list[dict[str, Any]], upstream: Path) -> Iterator[KubeObject]:
    """CRDs installed from a recorded ``yaml/v2:ConfigFile`` (Gateway API release manifests only)."""
    for r in resources:
        if r["type"] != CONFIG_FILE:
            continue
        match = _GATEWAY_API_URL.search(str(r["inputs"].get("file", "")))
        if not match:
            raise PlanError(f"{r['name']}: cannot see the objects of ConfigFile {r['inputs'].get('file')}")
        folder = upstream / "gateway-api" / match.group(1) / match.group(2)
        if not folder.is_dir():
            raise PlanError(f"{r['name']}: no upstream copy of {match.group(0)} at {folder}")
        for name, doc in _upstream_manifests(str(folder)):
            yield KubeObject(body=copy.deepcopy(doc), origin=r["name"], source=name)


def gateway_api_release(resources: list[dict[str, Any]]) -> tuple[str, str] | None:
    """(version, channel) of the Gateway API release manifest the plan installs, if any."""
    for r in resources:
        match = _GATEWAY_API_URL.search(str(r["inputs"].get("file", ""))) if r["type"] == CONFIG_FILE else None
        if match:
            return match.group(1), match.group(2)
    return None


@functools.cache
def _upstream_manifests(folder: str) -> list[tuple[str, dict[str, Any]]]:
    """(file name, object) of every YAML file in an upstream folder, parsed once per process."""
    out = []
    for path in sorted(Path(folder).glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(doc, dict) and doc.get("kind"):
                out.append((path.name, doc))
    return out


def pod_templates(objects: list[KubeObject]) -> Iterator[KubeObject]:
    """Pods described by ConfigMap values (``kind: Pod`` as YAML or JSON), in the namespace the
    template names, else the ConfigMap's."""
    for cm in objects:
        if cm.kind != "ConfigMap":
            continue
        for key, text in sorted((cm.body.get("data") or {}).items()):
            if not isinstance(text, str) or not re.search(r'(?m)^\s*"?kind"?\s*:\s*"?Pod"?,?\s*$', text):
                continue  # not a Pod manifest (airflow.cfg mentions pods too; parsing it is slow)
            try:
                doc = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
            except (ValueError, yaml.YAMLError):
                continue
            if isinstance(doc, dict) and doc.get("kind") == "Pod" and doc.get("apiVersion") == "v1":
                doc = json.loads(json.dumps(doc))
                doc.setdefault("metadata", {}).setdefault("namespace", cm.namespace)
                yield KubeObject(body=doc, origin=cm.origin, source=f"{POD_TEMPLATE_SOURCE}{cm.ref()}[{key}]")


def build(
    stack: str, resources: list[dict[str, Any]], library: ChartLibrary, upstream: Path, templates: bool = True
) -> ObjectSet:
    """The whole set for one recorded plan; raises ChartError on a render error."""
    version = kube_version(resources)
    out = ObjectSet(stack=stack, kube_version=version)
    out.objects.extend(emitted(resources))
    out.objects.extend(config_file_crds(resources, upstream))
    out.gateway_api = gateway_api_release(resources)
    release_objects: list[tuple[KubeObject, str]] = []
    for r in resources:
        if r["type"] == HELM_RELEASE:
            rendered = library.render(r, version)
            out.renders.append(rendered)
            out.objects.extend(KubeObject(body=crd, origin=r["name"], source="crds/") for crd in rendered.crds)
            namespace = r["inputs"].get("namespace") or "default"
            if r["inputs"].get("createNamespace"):
                out.helm_namespaces.add(namespace)
            release_objects.extend(
                (KubeObject(body=body, origin=r["name"], source=path), namespace) for path, body in rendered.objects
            )
    out.objects.extend(o for o, _ in release_objects)
    scopes = {(c["spec"]["group"], c["spec"]["names"]["kind"]): c["spec"].get("scope") for c in out.crds()}
    for obj, namespace in release_objects:
        group = obj.api_version.rsplit("/", 1)[0] if "/" in obj.api_version else ""
        scope = scopes.get((group, obj.kind))
        namespaced = scope == "Namespaced" if scope else obj.kind not in CLUSTER_SCOPED
        if namespaced and not obj.namespace:
            obj.body.setdefault("metadata", {})["namespace"] = namespace
    apply_patches(out)
    if templates:
        out.objects.extend(list(pod_templates(out.objects)))
    return out


def is_pulumi_patch(obj: KubeObject) -> bool:
    """A Pulumi ``<Kind>Patch`` of a built-in API (``apps/v1 DaemonSetPatch``), not a custom kind that
    happens to end in Patch (Kuma's ``ContainerPatch``)."""
    group = obj.api_version.rsplit("/", 1)[0] if "/" in obj.api_version else ""
    return obj.kind.endswith("Patch") and ("." not in group or group.endswith(".k8s.io"))


def apply_patches(objects: ObjectSet) -> None:
    """Merge every emitted ``<Kind>Patch`` into its target and drop it from the set; raises PlanError
    when the target is not in the set (the apply would fail: Pulumi's patch resources only patch)."""
    patches = [o for o in objects.objects if o.source == "emitted" and is_pulumi_patch(o)]
    for patch in patches:
        kind = patch.kind.removesuffix("Patch")
        target = objects.find(kind, patch.namespace, patch.name)
        if target is None:
            raise PlanError(f"{patch.origin}: {kind} {patch.namespace}/{patch.name} to patch is not in the set")
        body = {k: v for k, v in patch.body.items() if k not in ("apiVersion", "kind", "metadata")}
        _merge(target.body, body, patch.origin)
        objects.objects.remove(patch)


def _merge(into: dict[str, Any], patch: dict[str, Any], origin: str) -> None:
    """Server-side apply with force, as far as the program uses it: maps merge, atomic lists are
    replaced. A list of named items (``listType: map``, e.g. containers) would merge by key, which is
    not modelled, so it raises."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, origin)
        elif isinstance(value, list) and any(isinstance(v, dict) and "name" in v for v in value):
            raise PlanError(f"{origin}: patching the keyed list {key!r} is not modelled by the proof")
        else:
            into[key] = copy.deepcopy(value)
