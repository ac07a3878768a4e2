"""How a probe writes its facts: ``python -m tests_airflow.<probe> VARIANT_DIR OUT_JSON`` runs
``run(variant, tmp)`` in a fresh temporary folder and writes what it returns to OUT_JSON.

A probe's facts are ``{check: facts}``. Each check runs through :func:`guarded`, so a check that raises
records ``{"error": traceback}`` as its facts and the checks after it still run: the tests that read it
fail with Airflow's own message (tests_airflow/support.py ``Checks``), the others still pass. Only a
failure of what every check needs (the probe's setup: config, database, apps) is the whole run's
``{"error": traceback}``, and fails every test of the probe.

The run is inside moto's ``mock_aws``: the program configures Airflow's AWS Secrets Manager backend,
and Airflow asks it before the metastore on every variable and connection read and on every
``Variable.set`` (models/variable.py ``check_for_write_conflict``). Without moto each of those calls
goes to the real endpoint: here DNS has no answer and botocore's retries cost ~8 s a call (the API
probe spent 4 of its 4.2 minutes in them); with a network it would reach AWS with fake keys. Under
moto the backend finds no such secret and Airflow reads the metastore, as it does in a cluster for a
variable that is not in Secrets Manager."""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from moto import mock_aws


def guarded(check: Callable[[], Any]) -> Any:
    """What ``check()`` returns, or ``{"error": traceback}`` when it raises (any Exception)."""
    try:
        return check()
    except Exception:
        return {"error": traceback.format_exc()}


def cli(module: str, run: Callable[[Path, Path], dict[str, Any]]) -> None:
    """The probe's command line: checks the arguments, runs, writes the facts."""
    if len(sys.argv) != 3:
        sys.exit(f"usage: python -m tests_airflow.{module} VARIANT_DIR OUT_JSON")
    variant, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix=f"airflow-{module}-") as tmp:
        try:
            with mock_aws():
                facts = run(variant, Path(tmp))
        except Exception:
            facts = {"error": traceback.format_exc()}
    out.write_text(json.dumps(facts, indent=1, sort_keys=True, default=str))
