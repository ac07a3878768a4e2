"""Fixtures of the Airflow-side tests (run by ``.venv-airflow``; ``make test-airflow``).

The bundle (``tests_airflow/export.py``, run by the main ``.venv``) is read from
``$AIRFLOW_MESH_BUNDLE``; without it, the bundle is exported here first through ``.venv/bin/python``.
Each distinct variant is probed once per session (``tests_airflow/probe.py``, one process each, two
at a time: the machine has two cores); variants whose Airflow values equal an earlier one's
(``index.json`` ``same_as``) are not probed twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests_airflow import broken
from tests_airflow.support import BUNDLE, ISOLATION_VARIANTS, ROOT, VARIANTS

#: Longest one probe may take (it takes ~15 s on the 2-core machine).
PROBE_TIMEOUT_S = 300


def _probe(variant: str, out_dir: Path) -> dict[str, Any]:
    out = out_dir / f"{variant}.json"
    done = subprocess.run(
        [sys.executable, "-m", "tests_airflow.probe", str(BUNDLE / variant), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
    )
    if done.returncode != 0:
        raise RuntimeError(f"probe of {variant} exited {done.returncode}:\n{done.stderr[-4000:]}")
    return json.loads(out.read_text())


@pytest.fixture(scope="session")
def probes() -> dict[str, dict[str, Any]]:
    """Facts per variant: ``{variant: {check: facts}}`` (see tests_airflow/probe.py), also kept as
    ``<bundle>-probes/<variant>.json`` beside the bundle for reading after the run."""
    out_dir = BUNDLE.parent / f"{BUNDLE.name}-probes"
    out_dir.mkdir(parents=True, exist_ok=True)
    # The deliberately broken copy (tests_airflow/broken.py) is probed alongside, for test_broken_input.py.
    todo = [broken.make(BUNDLE), *VARIANTS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {v: pool.submit(_probe, v, out_dir) for v in todo}
        return {v: f.result() for v, f in futures.items()}


@pytest.fixture(scope="session")
def isolation() -> dict[str, dict[str, Any]]:
    """Facts of the attacker probe (tests_airflow/probe_isolation.py) per variant with domains and a
    KubernetesExecutor, two at a time; kept as ``<bundle>-probes/<variant>.isolation.json``."""
    out_dir = BUNDLE.parent / f"{BUNDLE.name}-probes"
    out_dir.mkdir(parents=True, exist_ok=True)

    def run(variant: str) -> dict[str, Any]:
        out = out_dir / f"{variant}.isolation.json"
        done = subprocess.run(
            [sys.executable, "-m", "tests_airflow.probe_isolation", str(BUNDLE / variant), str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
        )
        if done.returncode != 0:
            raise RuntimeError(f"isolation probe of {variant} exited {done.returncode}:\n{done.stderr[-4000:]}")
        return json.loads(out.read_text())

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {v: pool.submit(run, v) for v in ISOLATION_VARIANTS}
        return {v: f.result() for v, f in futures.items()}


@pytest.fixture(scope="session")
def api_probe() -> dict[str, Any]:
    """Facts of the execution API and REST API attacks (tests_airflow/probe_api.py) on the first
    variant with domains and a KubernetesExecutor (the API scope does not vary between variants);
    kept as ``<bundle>-probes/<variant>.api.json``."""
    variant = ISOLATION_VARIANTS[0]
    out = BUNDLE.parent / f"{BUNDLE.name}-probes" / f"{variant}.api.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "tests_airflow.probe_api", str(BUNDLE / variant), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S * 2,
    )
    if done.returncode != 0:
        raise RuntimeError(f"API probe of {variant} exited {done.returncode}:\n{done.stderr[-4000:]}")
    facts = json.loads(out.read_text())
    if "error" in facts:
        pytest.fail(f"API probe raised in Airflow for {variant}:\n{facts['error']}")
    return facts
