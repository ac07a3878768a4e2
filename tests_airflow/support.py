"""What the Airflow-side tests share: the bundle, its variants and readers of the probes' facts."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bundle() -> Path:
    given = os.environ.get("AIRFLOW_MESH_BUNDLE")
    if given:
        return Path(given)
    out = ROOT / "build" / "airflow-bundle"
    main_python = os.environ.get("AIRFLOW_MESH_MAIN_PYTHON", str(ROOT / ".venv" / "bin" / "python"))
    subprocess.run([main_python, "-m", "tests_airflow.export", str(out)], cwd=ROOT, check=True)
    return out


BUNDLE = _bundle()
INDEX: dict[str, Any] = json.loads((BUNDLE / "index.json").read_text())["variants"]
#: Variants with their own Airflow values, in index order.
VARIANTS = [name for name, info in INDEX.items() if not info["same_as"]]
#: Variants the attacker probe runs on (tests_airflow/probe_isolation.py): domains and a KubernetesExecutor.
ISOLATION_VARIANTS = [
    v
    for v in VARIANTS
    if json.loads((BUNDLE / v / "meta.json").read_text())["domains"]
    and (BUNDLE / v / "pod_template_file.yaml").is_file()
]

#: Variants whose stack maps machine clients (the dev fixture does); the edge-session and machine
#: probes run on the first.
MACHINE_VARIANTS = [v for v in VARIANTS if json.loads((BUNDLE / v / "meta.json").read_text()).get("machine_mappings")]


class Checks(Mapping[str, Any]):
    """One probe run's facts by check name (``{check: facts}``, tests_airflow/probe_io.py). Reading a
    check that raised inside Airflow (its facts are ``{"error": traceback}``) fails the test that reads
    it with that traceback; the tests that read other checks are unaffected."""

    def __init__(self, found: dict[str, Any], where: str) -> None:
        self._found = found
        self._where = where

    def __getitem__(self, check: str) -> Any:
        found = self._found[check]
        if isinstance(found, dict) and "error" in found:
            pytest.fail(f"{check} raised in Airflow for {self._where}:\n{found['error']}")
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._found)

    def __len__(self) -> int:
        return len(self._found)


def facts(probes: dict[str, dict[str, Any]], variant: str, check: str) -> Any:
    """One check's facts; a check that raised inside Airflow fails the test with its traceback."""
    return Checks(probes[variant], variant)[check]


def bundle_file(variant: str, name: str) -> Path:
    return BUNDLE / variant / name


def meta(variant: str) -> dict[str, Any]:
    return json.loads(bundle_file(variant, "meta.json").read_text())


def values(variant: str) -> dict[str, Any]:
    return json.loads(bundle_file(variant, "values.json").read_text())


#: Longest one probe may take (it takes ~15 s on the 2-core machine); the API probe gets twice this.
PROBE_TIMEOUT_S = 300
#: ``off`` runs every probe even when its inputs are unchanged (CI on a fresh clone has no cache anyway).
CACHE_ENV = "AIRFLOW_MESH_PROBE_CACHE"


def probe_inputs_digest(module: str, variant: str) -> str:
    """sha256 of everything a probe's facts depend on: the probe's name, the variant's bundle files and
    the bundle's shared files, the code of tests_airflow/ (probes and what they import), the pinned
    Airflow environment (requirements-airflow.lock) and the interpreter. Equal digest, equal facts:
    Airflow runs no clock- or network-dependent code in the probes whose result is kept (moto and
    test keys are created inside each run)."""
    digest = hashlib.sha256(f"{module}\0{variant}\0{sys.version}\0".encode())
    files = [p for p in sorted((BUNDLE / variant).rglob("*")) if p.is_file()]
    files += [p for p in sorted(BUNDLE.iterdir()) if p.is_file()]
    files += sorted(Path(__file__).parent.glob("*.py"))
    files.append(ROOT / "requirements-airflow.lock")
    for path in files:
        digest.update(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def run_probe(module: str, variant: str, suffix: str = "", timeout: int = PROBE_TIMEOUT_S) -> dict[str, Any]:
    """Facts of ``python -m tests_airflow.<module> <variant dir> <out json>`` run in this (Airflow)
    interpreter, kept as ``<bundle>-probes/<variant><suffix>.json`` for reading after the run.

    A probe whose inputs (:func:`probe_inputs_digest`) have not changed since an earlier run is not run
    again: its facts are read from ``<bundle>-probes/cache/<digest>.json`` (unless
    ``$AIRFLOW_MESH_PROBE_CACHE`` is ``off``). Raises RuntimeError with the probe's stderr when it fails."""
    out_dir = BUNDLE.parent / f"{BUNDLE.name}-probes"
    out = out_dir / f"{variant}{suffix}.json"
    cached = out_dir / "cache" / f"{probe_inputs_digest(module, variant)}.json"
    if os.environ.get(CACHE_ENV, "on") != "off" and cached.is_file():
        text = cached.read_text()
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", f"tests_airflow.{module}", str(BUNDLE / variant), str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{module} of {variant} exited {done.returncode}:\n{done.stderr[-4000:]}")
        text = out.read_text()
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, cached)
    out.write_text(text)
    return json.loads(text)
