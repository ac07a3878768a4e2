"""How a probe writes its facts: ``python -m tests_airflow.<probe> VARIANT_DIR OUT_JSON`` runs
``run(variant, tmp)`` in a fresh temporary folder and writes what it returns (or the traceback, as
``{"error": ...}``, so the test that reads it fails with Airflow's own message) to OUT_JSON."""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cli(module: str, run: Callable[[Path, Path], dict[str, Any]]) -> None:
    """The probe's command line: checks the arguments, runs, writes the facts."""
    if len(sys.argv) != 3:
        sys.exit(f"usage: python -m tests_airflow.{module} VARIANT_DIR OUT_JSON")
    variant, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix=f"airflow-{module}-") as tmp:
        try:
            facts = run(variant, Path(tmp))
        except Exception:
            facts = {"error": traceback.format_exc()}
    out.write_text(json.dumps(facts, indent=1, sort_keys=True, default=str))
