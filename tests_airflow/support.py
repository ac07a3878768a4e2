"""What the Airflow-side tests share: the bundle, its variants and readers of the probes' facts."""

from __future__ import annotations

import json
import os
import subprocess
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


def facts(probes: dict[str, dict[str, Any]], variant: str, check: str) -> Any:
    """One check's facts; a check that raised inside Airflow fails the test with its traceback."""
    found = probes[variant][check]
    if isinstance(found, dict) and "error" in found:
        pytest.fail(f"{check} raised in Airflow for {variant}:\n{found['error']}")
    return found


def bundle_file(variant: str, name: str) -> Path:
    return BUNDLE / variant / name


def meta(variant: str) -> dict[str, Any]:
    return json.loads(bundle_file(variant, "meta.json").read_text())


def values(variant: str) -> dict[str, Any]:
    return json.loads(bundle_file(variant, "values.json").read_text())
