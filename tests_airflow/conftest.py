"""Fixtures of the Airflow-side tests (run by ``.venv-airflow``; ``make test-airflow``).

The bundle (``tests_airflow/export.py``, run by the main ``.venv``) is read from
``$AIRFLOW_MESH_BUNDLE``; without it, the bundle is exported here first through ``.venv/bin/python``.
Each distinct variant is probed once per session (``tests_airflow/probe.py``, one process each, two
at a time: the machine has two cores); variants whose Airflow values equal an earlier one's
(``index.json`` ``same_as``) are not probed twice, and a probe whose inputs did not change since the
last run is read from its cache (``support.run_probe``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests_airflow import broken
from tests_airflow.support import BUNDLE, ISOLATION_VARIANTS, PROBE_TIMEOUT_S, VARIANTS, run_probe


@pytest.fixture(scope="session")
def probes() -> dict[str, dict[str, Any]]:
    """Facts per variant: ``{variant: {check: facts}}`` (see tests_airflow/probe.py), also kept as
    ``<bundle>-probes/<variant>.json`` beside the bundle for reading after the run."""
    # The deliberately broken copy (tests_airflow/broken.py) is probed alongside, for test_broken_input.py.
    todo = [broken.make(BUNDLE), *VARIANTS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {v: pool.submit(run_probe, "probe", v) for v in todo}
        return {v: f.result() for v, f in futures.items()}


@pytest.fixture(scope="session")
def isolation() -> dict[str, dict[str, Any]]:
    """Facts of the attacker probe (tests_airflow/probe_isolation.py) per variant with domains and a
    KubernetesExecutor, two at a time; kept as ``<bundle>-probes/<variant>.isolation.json``."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {v: pool.submit(run_probe, "probe_isolation", v, ".isolation") for v in ISOLATION_VARIANTS}
        return {v: f.result() for v, f in futures.items()}


@pytest.fixture(scope="session")
def api_probe() -> dict[str, Any]:
    """Facts of the execution API and REST API attacks (tests_airflow/probe_api.py) on the first
    variant with domains and a KubernetesExecutor (the API scope does not vary between variants);
    kept as ``<bundle>-probes/<variant>.api.json``."""
    variant = ISOLATION_VARIANTS[0]
    facts = run_probe("probe_api", variant, ".api", timeout=PROBE_TIMEOUT_S * 2)
    if "error" in facts:
        pytest.fail(f"API probe raised in Airflow for {variant}:\n{facts['error']}")
    return facts
