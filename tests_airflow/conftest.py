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

from tests_airflow.support import BUNDLE, ROOT, VARIANTS

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
def probes(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """Facts per variant: ``{variant: {check: facts}}`` (see tests_airflow/probe.py)."""
    out_dir = tmp_path_factory.mktemp("probes")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {v: pool.submit(_probe, v, out_dir) for v in VARIANTS}
        return {v: f.result() for v, f in futures.items()}
