"""The wiring a cluster trips over and no schema sees, checked on one stack's whole object set.

Each check returns :class:`Finding` s; an empty list means a cluster would not trip over it.
A Secret the program emits with hidden content (``stringData: [secret]``) exists, but its keys are
not in the plan, so any key of it is accepted (stated in each message that relies on it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from proof.objects import ObjectSet
from proof.pods import PodView, pods, selects

#: Namespaces every cluster has.
BUILTIN_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease"}
#: Volume types kubelet writes atomically into a read-only tmpfs: nothing can be mounted inside them
#: (kubernetes/kubernetes#61545, #62417).
ATOMIC_WRITER_VOLUMES = ("configMap", "secret", "projected", "downwardAPI")
#: Keys of the Secret cert-manager writes for a Certificate (cert-manager docs: "Certificate resources").
CERTIFICATE_KEYS = {"tls.crt", "tls.key", "ca.crt"}
#: What Go's fmt prints for a nil or mistyped value (``%!s(<nil>)``): a template wrote a value
#: nobody set.
NIL_MARKERS = ("%!", "<nil>")


@dataclass(frozen=True)
class Finding:
    """``check`` (mounts, storage, references, ...), the object it is about, and why a cluster fails."""

    check: str
    ref: str
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.ref}: {self.message}"


# --------------------------------------------------------------------------------------------------
# mounts
# --------------------------------------------------------------------------------------------------


def mount_collisions(objects: ObjectSet) -> list[Finding]:
    """A mount at or inside another mount of the same container whose volume is read-only
    atomic-writer content (ConfigMap, Secret...), or a file (``subPath``) mount at/inside another
    volume's directory mount: kubelet cannot create the mount point, the container never starts."""
    out = []
    for pod in pods(objects):
        volumes = {v.get("name"): v for v in pod.spec.get("volumes") or []}
        for c in pod.containers():
            mounts = c.get("volumeMounts") or []
            for inner in mounts:
                for outer in mounts:
                    if inner is outer or outer.get("subPath") or outer.get("subPathExpr"):
                        continue
                    base = str(outer["mountPath"]).rstrip("/")
                    path = str(inner["mountPath"]).rstrip("/")
                    if path != base and not path.startswith(base + "/"):
                        continue
                    kind = next((k for k in ATOMIC_WRITER_VOLUMES if k in volumes.get(outer["name"], {})), None)
                    if path == base or inner.get("subPath") or kind:
                        why = f"{kind} volume, read-only" if kind else "another volume's directory"
                        out.append(
                            Finding(
                                "mounts",
                                pod.ref(),
                                f"container {c['name']}: {inner['name']} at {inner['mountPath']}"
                                f"{' (subPath ' + inner['subPath'] + ')' if inner.get('subPath') else ''} is inside "
                                f"{outer['name']} at {outer['mountPath']} ({why}); kubelet cannot create the "
                                "mount point (kubernetes/kubernetes#61545)",
                            )
                        )
    return out


# --------------------------------------------------------------------------------------------------
# storage
# --------------------------------------------------------------------------------------------------


def storage_classes(objects: ObjectSet) -> list[Finding]:
    """Every PVC (and StatefulSet claim template) names a StorageClass the stack creates. EKS
    clusters created at 1.30+ have no default class (EKS docs, "Storage classes"), and ``gp2`` is not
    the default either, so a claim without one stays Pending and its pod is never scheduled."""
    classes = {o.name for o in objects.of_kind("StorageClass")}
    claims: list[tuple[str, dict[str, Any]]] = [(o.ref(), o.body) for o in objects.of_kind("PersistentVolumeClaim")]
    for sts in objects.of_kind("StatefulSet"):
        for t in (sts.body.get("spec") or {}).get("volumeClaimTemplates") or []:
            claims.append((f"{sts.ref()} volumeClaimTemplate {t.get('metadata', {}).get('name')}", t))
    out = []
    for ref, claim in claims:
        name = (claim.get("spec") or {}).get("storageClassName")
        if not name:
            out.append(
                Finding("storage", ref, "no storageClassName and EKS has no default StorageClass: stays Pending")
            )
        elif name not in classes:
            out.append(
                Finding("storage", ref, f"StorageClass {name!r} is not created by the stack ({sorted(classes)})")
            )
    return out


# --------------------------------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------------------------------


def _keys(objects: ObjectSet, kind: str) -> dict[tuple[str, str], set[str] | None]:
    """(namespace, name) -> keys of every Secret/ConfigMap that will exist (None: keys hidden)."""
    out: dict[tuple[str, str], set[str] | None] = {}
    for o in objects.of_kind(kind):
        data = [o.body.get(f) for f in ("data", "stringData", "binaryData")]
        hidden = any(isinstance(d, str) for d in data)
        out[(o.namespace or "default", o.name)] = None if hidden else {k for d in data if d for k in d}
    if kind == "Secret":
        for cert in objects.of_kind("Certificate"):
            name = (cert.body.get("spec") or {}).get("secretName")
            if name:
                out[(cert.namespace or "default", name)] = set(CERTIFICATE_KEYS)
    return out


def _pod_refs(pod: PodView) -> Iterator[tuple[str, str, str | None, bool, str]]:
    """(kind, name, key or None, optional, where) for every Secret/ConfigMap a pod uses."""
    for v in pod.spec.get("volumes") or []:
        for kind, field, name_key in (("Secret", "secret", "secretName"), ("ConfigMap", "configMap", "name")):
            src = v.get(field)
            if src:
                for item in src.get("items") or [None]:
                    yield kind, src[name_key], item and item["key"], bool(src.get("optional")), f"volume {v['name']}"
        for source in (v.get("projected") or {}).get("sources") or []:
            for kind, field in (("Secret", "secret"), ("ConfigMap", "configMap")):
                src = source.get(field)
                if src:
                    for item in src.get("items") or [None]:
                        yield kind, src["name"], item and item["key"], bool(src.get("optional")), f"volume {v['name']}"
    for c in pod.containers():
        for env in c.get("env") or []:
            ref = env.get("valueFrom") or {}
            for kind, field in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                if field in ref:
                    r = ref[field]
                    yield kind, r["name"], r["key"], bool(r.get("optional")), f"{c['name']} env {env['name']}"
        for env_from in c.get("envFrom") or []:
            for kind, field in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                if field in env_from:
                    r = env_from[field]
                    yield kind, r["name"], None, bool(r.get("optional")), f"{c['name']} envFrom"


def references(objects: ObjectSet) -> list[Finding]:
    """Every namespace, ServiceAccount, Secret (and key), ConfigMap (and key), Service (and port),
    Gateway and listener that a pod, binding or route names exists in the set."""
    out: list[Finding] = []
    namespaces = BUILTIN_NAMESPACES | objects.helm_namespaces | {o.name for o in objects.of_kind("Namespace")}
    for o in objects.objects:
        if o.namespace and o.namespace not in namespaces:
            out.append(Finding("references", o.ref(), f"namespace {o.namespace} is never created"))
    accounts = {(o.namespace, o.name) for o in objects.of_kind("ServiceAccount")}
    stores = {"Secret": _keys(objects, "Secret"), "ConfigMap": _keys(objects, "ConfigMap")}
    all_pods = list(pods(objects))
    for pod in all_pods:
        if pod.service_account != "default" and (pod.namespace, pod.service_account) not in accounts:
            out.append(
                Finding("references", pod.ref(), f"ServiceAccount {pod.namespace}/{pod.service_account} missing")
            )
        for kind, name, key, optional, where in _pod_refs(pod):
            keys = stores[kind].get((pod.namespace, name), "missing")
            if optional:
                continue
            if keys == "missing":
                out.append(Finding("references", pod.ref(), f"{where}: {kind} {pod.namespace}/{name} does not exist"))
            elif key and keys is not None and key not in keys:
                out.append(Finding("references", pod.ref(), f"{where}: {kind} {pod.namespace}/{name} has no key {key}"))
        out.extend(_probe_ports(pod))
    for binding in objects.of_kind("RoleBinding", "ClusterRoleBinding"):
        for subject in binding.body.get("subjects") or []:
            if subject.get("kind") == "ServiceAccount":
                ns = subject.get("namespace") or binding.namespace
                if (ns, subject["name"]) not in accounts and subject["name"] != "default":
                    out.append(
                        Finding("references", binding.ref(), f"subject ServiceAccount {ns}/{subject['name']} missing")
                    )
    running = [p for p in all_pods if not p.owner.is_pod_template]
    # A Service may select pods only the executor creates from a pod template (Consul's headless
    # registration Services for task pods): they have endpoints while tasks run, which is the point.
    out.extend(_services(objects, all_pods))
    out.extend(_budgets_and_scalers(objects, running))
    out.extend(_routes(objects, stores["Secret"]))
    return out


def _probe_ports(pod: PodView) -> Iterator[Finding]:
    for c in pod.containers():
        names = {p.get("name") for p in c.get("ports") or []}
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            handler = c.get(probe) or {}
            for kind in ("httpGet", "tcpSocket", "grpc"):
                port = (handler.get(kind) or {}).get("port")
                if isinstance(port, str) and port not in names:
                    yield Finding("references", pod.ref(), f"container {c['name']} {probe} uses unknown port {port!r}")


def _services(objects: ObjectSet, all_pods: list[PodView]) -> Iterator[Finding]:
    for svc in objects.of_kind("Service"):
        spec = svc.body.get("spec") or {}
        selector = spec.get("selector")
        if not selector or spec.get("type") == "ExternalName":
            continue
        chosen = [p for p in all_pods if p.namespace == svc.namespace and selects(selector, p.labels)]
        if not chosen:
            yield Finding("references", svc.ref(), f"selector {selector} matches no pod: the Service has no endpoints")
            continue
        for port in spec.get("ports") or []:
            target = port.get("targetPort")
            if isinstance(target, str):
                named = {cp.get("name") for p in chosen for c in p.containers() for cp in c.get("ports") or []}
                if target not in named:
                    yield Finding("references", svc.ref(), f"targetPort {target!r} is no container port of its pods")


def _budgets_and_scalers(objects: ObjectSet, running: list[PodView]) -> Iterator[Finding]:
    """A PodDisruptionBudget that selects no pod protects nothing; an HPA whose target does not
    exist never scales."""
    for pdb in objects.of_kind("PodDisruptionBudget"):
        selector = (pdb.body.get("spec") or {}).get("selector")
        if not any(p.namespace == pdb.namespace and selects(selector, p.labels) for p in running):
            yield Finding("references", pdb.ref(), f"selector {selector} matches no pod")
    for hpa in objects.of_kind("HorizontalPodAutoscaler"):
        target = (hpa.body.get("spec") or {}).get("scaleTargetRef") or {}
        if objects.find(str(target.get("kind")), hpa.namespace, str(target.get("name"))) is None:
            yield Finding("references", hpa.ref(), f"scaleTargetRef {target.get('kind')} {target.get('name')} missing")


#: A parentRef names a Gateway of this group unless it says otherwise (Gateway API ParentReference defaults).
GATEWAY_GROUP = "gateway.networking.k8s.io"


def _routes(objects: ObjectSet, secrets: dict[tuple[str, str], set[str] | None]) -> Iterator[Finding]:
    services = {(o.namespace, o.name): o for o in objects.of_kind("Service")}
    gateways = {(o.namespace, o.name): o for o in objects.of_kind("Gateway")}
    grants = objects.of_kind("ReferenceGrant")
    for gw in gateways.values():
        for listener in (gw.body.get("spec") or {}).get("listeners") or []:
            for cert in (listener.get("tls") or {}).get("certificateRefs") or []:
                ns = cert.get("namespace") or gw.namespace
                if cert.get("kind", "Secret") == "Secret" and (ns, cert["name"]) not in secrets:
                    yield Finding(
                        "references", gw.ref(), f"listener {listener['name']}: Secret {ns}/{cert['name']} missing"
                    )
    for route in objects.of_kind("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute"):
        spec = route.body.get("spec") or {}
        for parent in spec.get("parentRefs") or []:
            ns = parent.get("namespace") or route.namespace
            kind = parent.get("kind", "Gateway")
            if kind != "Gateway" or parent.get("group", GATEWAY_GROUP) != GATEWAY_GROUP:
                # A mesh parent (Linkerd's EgressNetwork, a Service in GAMMA): that object must exist.
                if objects.find(kind, ns, parent["name"]) is None:
                    yield Finding("references", route.ref(), f"parent {kind} {ns}/{parent['name']} missing")
                continue
            gw = gateways.get((ns, parent["name"]))
            if gw is None:
                yield Finding("references", route.ref(), f"parent Gateway {ns}/{parent['name']} missing")
            elif parent.get("sectionName") and parent["sectionName"] not in {
                listener["name"] for listener in (gw.body.get("spec") or {}).get("listeners") or []
            }:
                yield Finding(
                    "references", route.ref(), f"Gateway {ns}/{parent['name']} has no {parent['sectionName']}"
                )
        for rule in spec.get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                if ref.get("kind", "Service") != "Service" or ref.get("group", "") != "":
                    continue
                ns = ref.get("namespace") or route.namespace
                svc = services.get((ns, ref["name"]))
                if svc is None:
                    yield Finding("references", route.ref(), f"backend Service {ns}/{ref['name']} missing")
                    continue
                ports = {p.get("port") for p in (svc.body.get("spec") or {}).get("ports") or []}
                if ref.get("port") not in ports:
                    yield Finding(
                        "references", route.ref(), f"Service {ns}/{ref['name']} has no port {ref.get('port')}"
                    )
                if ns != route.namespace and not _granted(grants, route.kind, route.namespace, ns, ref["name"]):
                    yield Finding("references", route.ref(), f"no ReferenceGrant in {ns} lets it use {ref['name']}")


def _granted(grants: list[Any], kind: str, from_ns: str | None, to_ns: str, name: str) -> bool:
    for g in grants:
        spec = g.body.get("spec") or {}
        if g.namespace != to_ns:
            continue
        ok_from = any(f.get("kind") == kind and f.get("namespace") == from_ns for f in spec.get("from") or [])
        ok_to = any(t.get("kind") == "Service" and t.get("name", name) == name for t in spec.get("to") or [])
        if ok_from and ok_to:
            return True
    return False


# --------------------------------------------------------------------------------------------------
# values nobody set
# --------------------------------------------------------------------------------------------------


def unset_values(objects: ObjectSet) -> list[Finding]:
    """Rendered Secrets/ConfigMaps holding what Go prints for a value nobody set (``%!s(<nil>)``):
    the object exists only because a chart default turned it on."""
    import base64

    out = []
    for o in objects.of_kind("Secret", "ConfigMap"):
        for field in ("data", "stringData"):
            data = o.body.get(field)
            if not isinstance(data, dict):
                continue
            for key, value in data.items():
                text = str(value)
                if field == "data" and o.kind == "Secret":
                    try:
                        text = base64.b64decode(text).decode(errors="replace")
                    except ValueError:
                        continue
                if any(m in text for m in NIL_MARKERS):
                    out.append(
                        Finding("unset", o.ref(), f"{field}.{key} = {text[:40]!r}: a value nobody set ({o.origin})")
                    )
    return out
