"""Fixtures of the Airflow-side tests (run by ``.venv-airflow``; ``make test-airflow``).

The bundle (``tests_airflow/export.py``, run by the main ``.venv``) is read from
``$AIRFLOW_MESH_BUNDLE``; without it, the bundle is exported here first through ``.venv/bin/python``.
Every probe (one Airflow process each, ``support.run_probe``) that the selected tests need starts
when the first of them is needed, two at a time (the machine has two cores), longest first; each
fixture then waits for its own. Variants whose Airflow values equal an earlier one's
(``index.json`` ``same_as``) are not probed twice, and a probe whose inputs did not change since the
last run is read from its cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple

import pytest

from tests_airflow import broken
from tests_airflow.support import (
    BUNDLE,
    ISOLATION_VARIANTS,
    MACHINE_VARIANTS,
    PROBE_TIMEOUT_S,
    VARIANTS,
    Checks,
    run_probe,
)


class Run(NamedTuple):
    """One probe process: ``python -m tests_airflow.<module>`` on ``variant``, facts kept as
    ``<bundle>-probes/<variant><suffix>.json``; ``cost_s`` is its cold wall time on the 2-core machine
    (measured 2026-11-30), used only to start the long ones first so that no core idles at the end."""

    module: str
    variant: str
    suffix: str
    cost_s: int
    timeout: int = PROBE_TIMEOUT_S


def _runs(fixture: str) -> list[Run]:
    """The probe runs a fixture reads."""
    if fixture == "probes":  # the deliberately broken copy (tests_airflow/broken.py) is probed alongside
        return [Run("probe", v, "", 10) for v in [broken.NAME, *VARIANTS]]
    if fixture == "isolation":
        return [Run("probe_isolation", v, ".isolation", 4) for v in ISOLATION_VARIANTS]
    if fixture == "api_probe":  # the API scope does not vary between variants
        return [Run("probe_api", ISOLATION_VARIANTS[0], ".api", 19, PROBE_TIMEOUT_S * 2)]
    if fixture == "edge":
        return [Run("probe_edge_session", v, ".edge_session", 12) for v in MACHINE_VARIANTS[:1]]
    if fixture == "machine":
        return [Run("probe_machine", v, ".machine", 11) for v in MACHINE_VARIANTS[:1]]
    return []


class ProbeRuns:
    """Probe processes started on a pool of two; :meth:`facts` waits for one (starting it if no
    selected test announced it)."""

    def __init__(self, pool: ThreadPoolExecutor, runs: list[Run]) -> None:
        self._pool = pool
        self._futures: dict[Run, Future[dict[str, Any]]] = {}
        for run in sorted(runs, key=lambda r: -r.cost_s):
            self._submit(run)

    def _submit(self, run: Run) -> Future[dict[str, Any]]:
        if run not in self._futures:
            self._futures[run] = self._pool.submit(run_probe, run.module, run.variant, run.suffix, run.timeout)
        return self._futures[run]

    def facts(self, run: Run) -> dict[str, Any]:
        """The run's facts; RuntimeError with its stderr when the process failed."""
        return self._submit(run).result()


@pytest.fixture(scope="session")
def probe_runs(request: pytest.FixtureRequest) -> Iterator[ProbeRuns]:
    """Every probe run of the probe fixtures the selected tests use, started at once."""
    wanted = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    broken.make(BUNDLE)  # before any probe starts: it replaces the folder its probe reads
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        yield ProbeRuns(pool, [run for name in sorted(wanted) for run in _runs(name)])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # a stopped session (-x) does not wait for unread probes


def _checks(facts: dict[str, Any], what: str, variant: str) -> Checks:
    """A run's facts by check; a run whose setup raised (the whole run is ``{"error": traceback}``)
    fails every test that reads it, a check that raised fails only the tests that read that check."""
    if set(facts) == {"error"}:
        pytest.fail(f"{what} probe raised in Airflow for {variant}:\n{facts['error']}")
    return Checks(facts, variant)


def _one(probe_runs: ProbeRuns, fixture: str, what: str) -> Checks:
    (run,) = _runs(fixture)
    return _checks(probe_runs.facts(run), what, run.variant)


@pytest.fixture(scope="session")
def probes(probe_runs: ProbeRuns) -> dict[str, dict[str, Any]]:
    """Facts per variant: ``{variant: {check: facts}}`` (see tests_airflow/probe.py), also kept as
    ``<bundle>-probes/<variant>.json`` beside the bundle for reading after the run."""
    return {run.variant: probe_runs.facts(run) for run in _runs("probes")}


@pytest.fixture(scope="session")
def isolation(probe_runs: ProbeRuns) -> dict[str, dict[str, Any]]:
    """Facts of the attacker probe (tests_airflow/probe_isolation.py) per variant with domains and a
    KubernetesExecutor; kept as ``<bundle>-probes/<variant>.isolation.json``. A variant whose probe
    raised in its setup is kept as ``{"error": traceback}`` (test_isolation.py fails its tests)."""
    return {run.variant: probe_runs.facts(run) for run in _runs("isolation")}


@pytest.fixture(scope="session")
def api_probe(probe_runs: ProbeRuns) -> Checks:
    """Facts of the execution API and REST API attacks (tests_airflow/probe_api.py) on the first
    variant with domains and a KubernetesExecutor; kept as ``<bundle>-probes/<variant>.api.json``."""
    return _one(probe_runs, "api_probe", "API")


@pytest.fixture(scope="session")
def edge(probe_runs: ProbeRuns) -> Checks:
    """Facts of tests_airflow/probe_edge_session.py on the first variant that maps machine clients."""
    assert MACHINE_VARIANTS, "no bundle variant maps a machine client (tests/stacks/Pulumi.dev.yaml should)"
    return _one(probe_runs, "edge", "edge session")


@pytest.fixture(scope="session")
def machine(probe_runs: ProbeRuns) -> Checks:
    """Facts of tests_airflow/probe_machine.py on the first variant that maps machine clients."""
    assert MACHINE_VARIANTS, "no bundle variant maps a machine client (tests/stacks/Pulumi.dev.yaml should)"
    return _one(probe_runs, "machine", "machine")
