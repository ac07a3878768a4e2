"""checkov's Kubernetes checks on every object of every stack, with the reviewed suppressions.

checkov 3.x pins dependencies that clash with the project's (boto3 1.35, packaging 23), so it lives
in its own virtualenv (``.venv-checkov``, built by ``make``) and runs as one subprocess over a folder
holding each set in its own sub-folder. It takes ~7 s to start and ~5 s per stack, so the result
is cached on disk keyed by the written files' hash.

Objects: everything the stack installs except CRDs (checkov has no checks for them) and the
run-time stand-ins; pod templates held in ConfigMaps are written as the Pods they become.
Suppressions (``proof/reviewed/checkov.yaml``): ``check`` (id), ``objects`` (globs on checkov's
``Kind.namespace.name`` resource id) and ``reason``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from proof.objects import ObjectSet
from proof.reviewed import load, matches

_ROOT = Path(__file__).resolve().parent.parent
CACHE = _ROOT / "build" / "proof" / "checkov"


class CheckovError(Exception):
    """checkov is missing or did not produce a report."""


@dataclass
class Result:
    """One set's outcome: failures as (check id, resource id, check name), passed count, and
    which suppression entries matched (by index)."""

    passed: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    parsing_errors: list[str] = field(default_factory=list)

    def unexplained(self, suppressions: tuple[dict[str, Any], ...]) -> list[tuple[str, str, str]]:
        return [f for f in self.failed if not any(_suppresses(s, f) for s in suppressions)]

    def suppressed(self, suppressions: tuple[dict[str, Any], ...]) -> int:
        return len(self.failed) - len(self.unexplained(suppressions))


def executable() -> Path:
    """checkov from ``$AIRFLOW_MESH_CHECKOV`` or ``.venv-checkov`` (the Makefile builds it)."""
    candidates = [os.environ.get("AIRFLOW_MESH_CHECKOV"), str(_ROOT / ".venv-checkov" / "bin" / "checkov")]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    raise CheckovError("checkov not found: run `make .venv-checkov/.installed` or set AIRFLOW_MESH_CHECKOV")


def manifests(objects: ObjectSet) -> dict[str, str]:
    """file name -> YAML for every object checkov should see."""
    out = {}
    for i, o in enumerate(objects.objects):
        if o.kind == "CustomResourceDefinition" or o.source == "runtime":
            continue
        body = o.body
        if o.source.startswith("configmap"):
            body = {**body, "metadata": {**body.get("metadata", {}), "name": f"template-{i}"}}
        out[f"{i:04d}-{o.kind}-{o.namespace or '_'}-{o.name}.yaml"] = yaml.safe_dump(body, sort_keys=True)
    return out


def scan(sets: dict[str, ObjectSet], cache: Path | None = CACHE) -> dict[str, Result]:
    """checkov once over every set (key: a folder-safe set id) -> Result per set."""
    files = {key: manifests(s) for key, s in sets.items()}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode() + str(executable()).encode()).hexdigest()[:32]
    cached = cache / f"{digest}.json" if cache else None
    if cached and cached.exists():
        report = json.loads(cached.read_text())
    else:
        report = _run(files)
        if cached:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps(report))
    out = {key: Result() for key in sets}
    for entry in report["passed"]:
        out[entry[0]].passed += 1
    for key, check, resource, name in report["failed"]:
        out[key].failed.append((check, resource, name))
    for key, path in report["parsing_errors"]:
        out[key].parsing_errors.append(path)
    return out


def _run(files: dict[str, dict[str, str]]) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="airflow-mesh-checkov-"))
    try:
        for key, manifests_ in files.items():
            (folder / key).mkdir()
            for name, text in manifests_.items():
                (folder / key / name).write_text(text)
        proc = subprocess.run(
            [str(executable()), "-d", str(folder), "--framework", "kubernetes", "-o", "json", "--skip-download"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"},
        )
        try:
            data = json.loads(proc.stdout)
        except json.JSONDecodeError as err:
            raise CheckovError(f"checkov exit {proc.returncode}: {proc.stderr[-2000:]}") from err
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results = (data[0] if isinstance(data, list) else data)["results"]

    def key(path: str) -> str:
        return path.lstrip("/").split("/", 1)[0]

    return {
        "passed": [[key(r["file_path"]), r["check_id"]] for r in results["passed_checks"]],
        "failed": [
            [key(r["file_path"]), r["check_id"], r["resource"], r["check_name"]] for r in results["failed_checks"]
        ],
        "parsing_errors": [[key(p), p] for p in results.get("parsing_errors", [])],
    }


def _suppresses(entry: dict[str, Any], failure: tuple[str, str, str]) -> bool:
    check, resource, _ = failure
    return entry["check"] == check and any(matches(g, resource) for g in entry["objects"])


def suppressions() -> tuple[dict[str, Any], ...]:
    return load("checkov")
