"""checkov's Kubernetes checks on every object of every stack, with the reviewed suppressions.

checkov 3.x pins dependencies that clash with the project's (boto3 1.35, packaging 23), so it lives
in its own virtualenv (``.venv-checkov``, built by ``make``) and runs as one subprocess over a folder
per stack (the brief of issue 12: once per stack, on all its objects) plus one run for what only
the variants add. One stack (~190 objects) takes ~7 s; checkov slows down more than linearly with
more files in one run, so runs go two at a time, and each report is cached on disk.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proof.disk_cache import write_atomically
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


def manifests(objects: ObjectSet) -> list[str]:
    """JSON text of every object checkov should see."""
    out = []
    for o in objects.objects:
        if o.kind == "CustomResourceDefinition" or o.source == "runtime":
            continue
        body = o.body
        if o.is_pod_template:  # a pod template: name it after its ConfigMap key
            key = o.source.rsplit("[", 1)[-1].rstrip("]").removesuffix(".yaml").replace("_", "-")
            body = {**body, "metadata": {**body.get("metadata", {}), "name": f"pod-template-{key}"}}
        out.append(json.dumps(body, sort_keys=True, indent=1))  # checkov reads JSON manifests; PyYAML here is slow
    return out


def scan(sets: dict[str, ObjectSet], full: list[str], cache: Path | None = CACHE) -> dict[str, Result]:
    """checkov on the sets: each ``full`` set (the stacks) in a run of its own with all of its
    objects, so graph checks such as ``CKV2_K8S_5`` see exactly that set; then one more run over
    the objects of the other sets (variants) that no full set has, whose results count for every
    variant holding them (a variant's result = its full stack's for shared objects + these).
    Runs go two at a time and each report is cached on disk by the hash of its objects."""
    texts = {key: manifests(objects) for key, objects in sets.items()}
    known = {t for key in full for t in texts[key]}
    extras = sorted({t for key, ts in texts.items() if key not in full for t in ts} - known)
    runs = {key: texts[key] for key in full} | ({"variants": extras} if extras else {})
    reports = _cached_runs(runs, cache)
    by_text = {key: dict(zip(runs[key], _per_file(reports[key], len(runs[key])), strict=True)) for key in runs}
    merged = {t: r for key in runs for t, r in by_text[key].items()}
    out = {}
    for key, ts in texts.items():
        result = Result()
        for t in ts:
            passed, failed, error = merged[t]
            result.passed += passed
            result.failed.extend(failed)
            result.parsing_errors.extend([t[:200]] if error else [])
        out[key] = result
    return out


def _per_file(report: dict[str, Any], count: int) -> list[tuple[int, list[tuple[str, str, str]], bool]]:
    """(passed, failures, parse error) per written file, in writing order."""
    rows: list[tuple[int, list[tuple[str, str, str]], bool]] = [(0, [], False) for _ in range(count)]
    for file, _check in report["passed"]:
        passed, failed, error = rows[int(file)]
        rows[int(file)] = (passed + 1, failed, error)
    for file, check, resource, name in report["failed"]:
        rows[int(file)][1].append((check, resource, name))
    for file in report["parsing_errors"]:
        rows[int(file)] = (rows[int(file)][0], rows[int(file)][1], True)
    return rows


def _cached_runs(runs: dict[str, list[str]], cache: Path | None) -> dict[str, dict[str, Any]]:
    reports: dict[str, dict[str, Any]] = {}
    todo: dict[str, Path | None] = {}
    for key, texts in runs.items():
        digest = hashlib.sha256(json.dumps([str(executable()), *texts]).encode()).hexdigest()[:32]
        cached = cache / f"{digest}.json" if cache else None
        if cached and cached.exists():
            reports[key] = json.loads(cached.read_text())
        else:
            todo[key] = cached
    with ThreadPoolExecutor(max_workers=2) as pool:
        for key, report in zip(todo, pool.map(lambda k: _run(runs[k]), todo), strict=True):
            reports[key] = report
            cached = todo[key]
            if cached:
                write_atomically(cached, json.dumps(report))
    return reports


def _run(texts: list[str]) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="airflow-mesh-checkov-"))
    try:
        for i, text in enumerate(texts):
            (folder / f"{i:04d}.json").write_text(text)
        proc = subprocess.run(
            [
                str(executable()),
                "-d",
                str(folder),
                "--framework",
                "kubernetes",
                "-o",
                "json",
                "--compact",
                "--skip-download",
            ],
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

    def file(path: str) -> str:
        return Path(path).stem

    return {
        "passed": [[file(r["file_path"]), r["check_id"]] for r in results["passed_checks"]],
        "failed": [
            [file(r["file_path"]), r["check_id"], r["resource"], r["check_name"]] for r in results["failed_checks"]
        ],
        "parsing_errors": [file(p) for p in results.get("parsing_errors", [])],
    }


def _suppresses(entry: dict[str, Any], failure: tuple[str, str, str]) -> bool:
    check, resource, _ = failure
    return entry["check"] == check and any(matches(g, resource) for g in entry["objects"])


def suppressions() -> tuple[dict[str, Any], ...]:
    return load("checkov")
