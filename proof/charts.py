"""Render recorded Helm releases with the real upstream charts, offline, as ``helm install`` would.

Input: a recorded ``kubernetes:helm.sh/v3:Release`` (``inputs``: ``chart``, ``version``, ``name``,
``namespace``, ``values``). Output: :class:`Rendered` (every object the install creates, hooks
included, plus the CRDs of the chart's ``crds/`` folder, which Helm installs unrendered).

The charts come from ``$AIRFLOW_MESH_UPSTREAM_DIR/charts`` (byte copies of upstream git). Upstream's
release pipelines edit a few files before publishing (placeholder versions and image tags); those
edits are applied to a temporary copy, exactly as ``$AIRFLOW_MESH_UPSTREAM_DIR/README.md``
("Release-pipeline edits") lists them, and each edit must match the number of lines it expects, so
a changed upstream file is an error rather than a silently different chart.

The engine is helm-python-sdk 0.2.2 (Helm v4 in-process). Its public ``Chart.render`` fixes the
Kubernetes version at v1.36.0 and knows no resource-level API versions, so Consul-style
``.Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget"`` checks would be false; the
engine is therefore called with the stack's Kubernetes version and an explicit API list (the
private ``helm_render`` entry point, as the upstream README describes).

Renders are cached on disk under ``build/proof/renders`` keyed by a hash of the chart folder's
recorded sha256 list, the edits, the values and the engine options.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components import versions
from proof.disk_cache import write_atomically

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
#: Resource-level API versions the render may rely on (``.Capabilities.APIVersions.Has``) besides
#: the group/versions Helm knows offline; the same list the upstream README renders with.
API_VERSIONS = ("policy/v1/PodDisruptionBudget", "batch/v1/CronJob", "autoscaling/v2/HorizontalPodAutoscaler")
#: What stands in for a value the plan hides (``[secret]``) or does not know yet (``[unknown]``).
PLACEHOLDERS = {"[secret]": "offline-placeholder-secret", "[unknown]": "offline-placeholder-unknown"}
_ROOT = Path(__file__).resolve().parent.parent
_CACHE_VERSION = "2"
_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")


class ChartError(Exception):
    """The recorded chart cannot be found, prepared, validated or rendered (message names the release)."""


@dataclass(frozen=True)
class Edit:
    """Replace ``pattern`` by ``replacement`` in ``file`` (relative to the top folder under charts/); the
    pattern must match exactly ``count`` times."""

    file: str
    pattern: str
    replacement: str
    count: int


_ISTIO_HUB = "registry.istio.io/release"


def _versions(file: str, old: str, new: str, keys: tuple[str, ...] = ("version", "appVersion")) -> list[Edit]:
    return [Edit(file, rf"(?m)^{k}: {re.escape(old)}(?: *#.*)?$", f"{k}: {new}", 1) for k in keys]


#: The release-pipeline edits of $AIRFLOW_MESH_UPSTREAM_DIR/README.md, per folder under charts/.
EDITS: dict[str, list[Edit]] = {
    # kumahq/kuma tools/releases/helm.sh at v2.14.3
    "kuma-2.14.3": _versions("Chart.yaml", "0.0.0-preview.vlocal-build", "2.14.3"),
    # cert-manager make/manifests.mk
    "cert-manager-v1.21.1": _versions("Chart.yaml", "v0.0.0", "v1.21.1"),
    # istio/release-builder pkg/build/helm.go at the 1.30.3 build
    **{
        f"istio-1.30.3/{sub}": [
            *_versions(f"{sub}/Chart.yaml", "1.0.0", "1.30.3"),
            *(
                [
                    Edit(f"{sub}/values.yaml", r"hub: registry\.istio\.io/testing", f"hub: {_ISTIO_HUB}", 1),
                    Edit(f"{sub}/values.yaml", r"(?m)^(\s*)tag: latest$", r"\1tag: 1.30.3", 1),
                ]
                if sub != "base"
                else []
            ),
        ]
        for sub in ("base", "istio-discovery", "istio-cni", "ztunnel")
    },
    # linkerd bin/compute-edge-version update-charts at edge-26.8.3
    "linkerd-edge-26.8.3/linkerd-crds": _versions(
        "linkerd-crds/Chart.yaml", "0.0.0-undefined", "2026.8.3", ("version",)
    ),
    "linkerd-edge-26.8.3/linkerd-control-plane": [
        *_versions("linkerd-control-plane/Chart.yaml", "0.0.0-undefined", "2026.8.3", ("version",)),
        *_versions("linkerd-control-plane/Chart.yaml", "edge-XX.X.X", "edge-26.8.3", ("appVersion",)),
        Edit("linkerd-control-plane/values.yaml", r"linkerdVersionValue", "edge-26.8.3", 1),
    ],
    "linkerd-edge-26.8.3/linkerd2-cni": [
        *_versions("linkerd2-cni/Chart.yaml", "0.0.0-undefined", "2026.8.3", ("version",)),
        *_versions("linkerd2-cni/Chart.yaml", "edge-XX.X.X", "edge-26.8.3", ("appVersion",)),
    ],
    # aws/karpenter-provider-aws hack/release/common.sh at v1.14.1 (PROVENANCE-3 note K)
    "karpenter-1.14.1/karpenter": [
        *_versions("karpenter/Chart.yaml", "1.13.0", "1.14.1"),
        Edit("karpenter/values.yaml", r"(?m)^    tag: 1\.13\.0$", "    tag: 1.14.1", 1),
        Edit(
            "karpenter/values.yaml",
            r"digest: sha256:ea731b0cd813add8b2947a76bfe861c38069d85922b01d0c1647d1466279b7fe",
            "digest: sha256:723130949e4cab989461ff07d1be4cd781d63515432494641b33c235f300ae23",
            1,
        ),
    ],
    "karpenter-1.14.1/karpenter-crd": _versions("karpenter-crd/Chart.yaml", "1.13.0", "1.14.1"),
}
#: Files the release pipeline leaves out of the published chart.
DELETIONS: dict[str, list[str]] = {"kuma-2.14.3": ["crds/kuma.io_meshgatewayconfigs.yaml"]}
#: Linkerd's charts depend on ``file://../partials``; ``helm dep up`` packs it before publishing.
PARTIALS = {"linkerd-edge-26.8.3": ("partials", ("linkerd-crds", "linkerd-control-plane", "linkerd2-cni"))}


@dataclass
class Rendered:
    """What installing one release creates: ``objects`` (hooks included except ``helm test`` ones,
    ``kind: List`` expanded)
    with the template each came from, and the chart's ``crds/`` CRDs."""

    release: str
    chart_folder: str
    objects: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    crds: list[dict[str, Any]] = field(default_factory=list)


def upstream_dir() -> Path:
    """``$AIRFLOW_MESH_UPSTREAM_DIR`` or ``../shared/upstream`` beside the repository."""
    for candidate in (os.environ.get("AIRFLOW_MESH_UPSTREAM_DIR"), str(_ROOT.parent / "shared" / "upstream")):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise ChartError("upstream data not found: set AIRFLOW_MESH_UPSTREAM_DIR")


#: Hook events only ``helm test`` runs (Helm pkg/releaseutil/manifest_sorter.go ``events``: "test" and
#: the Helm 2 spelling "test-success" both map to HookTest); ``helm install`` never creates them.
TEST_HOOKS = {"test", "test-success", "test-failure"}


def is_test_hook(obj: dict[str, Any]) -> bool:
    """True for an object whose ``helm.sh/hook`` events are all test events (Consul's ``consul-test`` pod)."""
    hooks = ((obj.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook")
    events = {e.strip() for e in str(hooks).split(",")} if hooks else set()
    return bool(events) and events <= TEST_HOOKS


def with_placeholders(value: Any) -> Any:
    """``value`` with every hidden string (``[secret]``, ``[unknown]``) replaced by a placeholder."""
    if isinstance(value, dict):
        return {k: with_placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_placeholders(v) for v in value]
    if isinstance(value, str):
        return PLACEHOLDERS.get(value, value)
    return value


#: (chart, pinned version) -> offline folder rendered in its place. NGF 2.7.0 is released but only its
#: pre-release main branch (the 2.7 line with ``useClusterIP``) is in the upstream data
#: (components/versions.py ``NGINX_GATEWAY_FABRIC_OFFLINE_DATA``).
STAND_INS: dict[tuple[str, str], str] = {
    ("nginx-gateway-fabric", versions.NGINX_GATEWAY_FABRIC_CHART_VERSION): (
        f"nginx-gateway-fabric-{versions.NGINX_GATEWAY_FABRIC_OFFLINE_DATA}"
    ),
}


class ChartLibrary:
    """The upstream charts with the release-pipeline edits, copied lazily to ``work_dir``."""

    def __init__(self, upstream: Path, work_dir: Path | None = None, cache_dir: Path | None = None):
        self.charts = upstream / "charts"
        if work_dir is None:  # ours: removed with the library (each session copied whole charts into /tmp)
            work_dir = Path(tempfile.mkdtemp(prefix="airflow-mesh-charts-"))
            weakref.finalize(self, shutil.rmtree, work_dir, True)
        self.work_dir = work_dir
        self.cache_dir = cache_dir if cache_dir is not None else _ROOT / "build" / "proof" / "renders"
        self._prepared: set[str] = set()

    @functools.cached_property
    def index(self) -> dict[tuple[str, str], str]:
        """(chart name, published version) -> folder relative to charts/ (``istio-1.30.3/base``).

        Two folders can publish the same name and version (NGF's unreleased main branch still says
        2.6.7); then the folder named ``<name>-<version>`` is the release and wins."""
        out: dict[tuple[str, str], str] = {}
        for top in sorted(p for p in self.charts.iterdir() if p.is_dir()):
            for chart_yaml in [top / "Chart.yaml", *sorted(top.glob("*/Chart.yaml"))]:
                if not chart_yaml.exists():
                    continue
                folder = str(chart_yaml.parent.relative_to(self.charts))
                edit = _edited(folder, str(chart_yaml.relative_to(top)))
                meta = yaml.safe_load(edit(chart_yaml.read_text()))
                key = (str(meta["name"]), str(meta["version"]))
                if key not in out or folder == f"{key[0]}-{key[1]}":
                    out[key] = folder
        return out

    def folder_for(self, chart: str, version: str) -> str:
        """Folder for a recorded ``chart`` (a name, ``repo/name`` or ``oci://.../name``) and version.

        A release pinned in components/versions.py whose own chart is not in the offline data renders
        with the stand-in named there (:data:`STAND_INS`); any other unknown version is an error."""
        name = chart.rstrip("/").rsplit("/", 1)[-1]
        if (name, version) in STAND_INS:
            return STAND_INS[(name, version)]
        try:
            return self.index[(name, version)]
        except KeyError:
            have = sorted(f"{n} {v}" for n, v in self.index)
            raise ChartError(f"no upstream chart {name} {version} in {self.charts} (have: {', '.join(have)})") from None

    def prepared(self, folder: str) -> Path:
        """Path of the edited copy of ``folder``; the whole top-level folder is copied once."""
        top = folder.split("/", 1)[0]
        if top not in self._prepared:
            dst = self.work_dir / top
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(self.charts / top, dst)
            for key, edits in EDITS.items():
                if key.split("/", 1)[0] == top:
                    for edit in edits:
                        path = dst / edit.file
                        path.write_text(_apply(edit, path.read_text(), key))
            for rel in DELETIONS.get(top, []):
                (dst / rel).unlink()
            if top in PARTIALS:
                partials, users = PARTIALS[top]
                for user in users:
                    shutil.copytree(dst / partials, dst / user / "charts" / partials)
            self._prepared.add(top)
        return self.work_dir / folder

    def render(self, release: dict[str, Any], kube_version: str) -> Rendered:
        """Render one recorded release for Kubernetes ``kube_version`` (``1.34``); raises ChartError."""
        inputs = release["inputs"]
        unsupported = sorted(set(inputs) & {"valueYamlFiles", "postrender", "path"})
        if unsupported:
            raise ChartError(f"{release['name']}: the renderer does not read {unsupported}")
        folder = self.folder_for(inputs["chart"], str(inputs.get("version", "")))
        raw = inputs.get("values") or {}
        values = with_placeholders(json.loads(raw) if isinstance(raw, str) else raw)
        options = {
            "name": inputs.get("name") or release["name"],
            "namespace": inputs.get("namespace") or "default",
            "is_install": True,
            "kube_version": f"v{kube_version}.0" if kube_version.count(".") == 1 else f"v{kube_version}",
            "api_versions": list(API_VERSIONS),
        }
        missing_dependencies(self.prepared(folder), values, release["name"])
        key = self._key(folder, values, options)
        cached = self.cache_dir / f"{key}.json" if self.cache_dir else None
        if cached and cached.exists():  # parsed objects as JSON: PyYAML here has no libyaml, ~10x slower
            parsed = json.loads(cached.read_text())
        else:
            manifests, crds = self._engine(release["name"], folder, values, options)
            parsed = {
                "objects": [
                    [path, obj]
                    for path, text in sorted(manifests.items())
                    if not path.endswith("NOTES.txt")
                    for obj in split_manifests(text)
                ],
                "crds": [obj for crd in crds for obj in split_manifests(crd["data"])],
            }
            if cached:
                write_atomically(cached, json.dumps(parsed))
        out = Rendered(release=release["name"], chart_folder=folder)
        out.objects = [(path, obj) for path, obj in parsed["objects"] if not is_test_hook(obj)]
        out.crds = parsed["crds"]
        return out

    def _key(self, folder: str, values: Any, options: dict[str, Any]) -> str:
        top = folder.split("/", 1)[0]
        digest = hashlib.sha256()
        digest.update((self.charts / f"{top}.sha256").read_bytes())
        spec = [_CACHE_VERSION, folder, repr(EDITS.get(folder)), DELETIONS.get(top), values, options]
        digest.update(json.dumps(spec, sort_keys=True, default=str).encode())
        return digest.hexdigest()[:32]

    def _engine(self, release: str, folder: str, values: Any, options: dict[str, Any]) -> tuple[dict, list]:
        import helm_python
        from helm_python import _native

        try:
            with helm_python.Chart.load(str(self.prepared(folder))) as chart:
                # `helm install` validates values.schema.json (merged over values.yaml) before rendering
                chart.validate_schema(values)
                rendered = _native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(options))
                return json.loads(rendered), chart.crds
        except Exception as err:  # the engine raises its own HelmError family
            raise ChartError(f"{release} ({folder}): {type(err).__name__}: {err}") from err


def missing_dependencies(chart_dir: Path, values: dict[str, Any], release: str) -> None:
    """Raise ChartError for an enabled dependency that is not in ``charts/``: ``helm install``
    refuses those (helm pkg/action/install.go CheckDependencies: "found in Chart.yaml, but missing
    in charts/ directory"), while the bare engine would render the chart without it."""
    dependencies, defaults = _chart_defaults(str(chart_dir))
    for dep in dependencies:
        condition = dep.get("condition")
        enabled = _lookup(values, condition) if condition else None
        enabled = _lookup(defaults, condition) if condition and enabled is None else enabled
        if enabled is not None and not enabled:
            continue
        present = (chart_dir / "charts" / dep["name"]).is_dir() or any(
            (chart_dir / "charts").glob(f"{dep['name']}-*.tgz")
        )
        if not present:
            raise ChartError(
                f"{release}: dependency {dep['name']} {dep.get('version')} ({condition or 'always'}) is not in "
                f"{chart_dir.name}/charts: helm install fails (missing in charts/ directory)"
            )


@functools.cache
def _chart_defaults(chart_dir: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(dependencies, values.yaml) of a chart, read once per process (pure-Python YAML is slow)."""
    meta = yaml.safe_load((Path(chart_dir) / "Chart.yaml").read_text())
    dependencies = meta.get("dependencies") or []
    if not dependencies:
        return [], {}
    return dependencies, yaml.safe_load((Path(chart_dir) / "values.yaml").read_text()) or {}


def _lookup(values: Any, dotted: str) -> Any:
    for key in dotted.split(","):
        node = values
        for part in key.strip().split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return node
    return None


def split_manifests(text: str) -> list[dict[str, Any]]:
    """Objects in a rendered template, split with Helm's separator (cert-manager's ``---# x``
    lines break PyYAML's own); ``kind: List`` expanded into its items."""
    out: list[dict[str, Any]] = []
    for doc in _SEPARATOR.split(text):
        if not doc.strip():
            continue
        obj = yaml.load(doc, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if isinstance(obj, dict) and obj.get("kind") == "List" and "items" in obj:
            out.extend(i for i in obj["items"] if isinstance(i, dict))
        elif isinstance(obj, dict):
            out.append(obj)
    return out


def _edited(folder: str, file: str):
    """The text transform the edits make to ``file`` (relative to the top folder) of ``folder``."""
    edits = [e for e in EDITS.get(folder, []) if e.file == file]

    def apply(text: str) -> str:
        for edit in edits:
            text = _apply(edit, text, folder)
        return text

    return apply


def _apply(edit: Edit, text: str, folder: str) -> str:
    new, count = re.subn(edit.pattern, edit.replacement, text)
    if count != edit.count:
        raise ChartError(f"{folder}/{edit.file}: release edit {edit.pattern!r} matched {count}x, expected {edit.count}")
    return new
