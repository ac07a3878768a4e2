"""Fixture stacks: the stack files the tests own, planned through the same harness as `make plan`.

The program's invariants are asserted on these files (tests/stacks/Pulumi.<name>.yaml), never on
the committed examples in stacks/: a team replaces those with its own account ids, zones, IdP and
domains, adds stacks (qa, prod-eu) and removes some, and the suite must keep passing. What the
examples owe is checked in tests/test_examples.py, for whatever stacks exist: they plan, they pass
the policy pack, their objects validate.

Use ``run``/``settings_for``/``stack_config`` here instead of the ``harness`` functions of the same
name, and the ``plans``/``plan`` fixtures (tests/conftest.py), which plan these stacks once per
session. To assert on a variant, pass ``overrides`` (stack keys without the project prefix) or add
a fixture file here; a new fixture adds its plan time (~1 s) to every run of the suite.

Plans are kept on disk (``build/test-plans/``) under a digest of everything that can change them:
the program (``__main__.py``, ``components/``, ``plan/``, ``Pulumi.yaml``), these stack files, the
pinned requirements, the interpreter, and the call's stack, overrides and ``first_preview``. A run of
the suite with an unchanged program reads them instead of planning again, and pytest-xdist workers
share them. ``fresh=True`` (or ``AIRFLOW_MESH_PLAN_CACHE=off``) always plans: the determinism test
needs two real runs. A run that raises (bad settings) is never kept.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from plan import harness
from proof.disk_cache import write_atomically

#: tests/stacks/, holding Pulumi.<name>.yaml files laid out like stacks/.
DIR = Path(__file__).resolve().parent
#: The fixture stacks: dev (cheap, public endpoint, 2 domains), staging (prod-shaped, 2 domains)
#: and prod (HA, private endpoint, protected data, 3 domains with a cross-domain read).
NAMES: list[str] = harness.stack_names(stacks_dir=DIR)


#: Where plans are kept between runs (``make clean`` removes build/).
CACHE = harness.ROOT / "build" / "test-plans"
#: ``off``: plan every time.
CACHE_ENV = "AIRFLOW_MESH_PLAN_CACHE"


def run(
    stack: str, overrides: dict[str, Any] | None = None, first_preview: bool = False, fresh: bool = False
) -> harness.Plan:
    """``harness.run`` on the fixture stack ``stack``, or its kept result for identical inputs."""
    if fresh or os.environ.get(CACHE_ENV, "on") == "off":
        return harness.run(stack, overrides, first_preview=first_preview, stacks_dir=DIR)
    call = json.dumps([stack, overrides or {}, first_preview], sort_keys=True, default=str)
    kept = CACHE / f"{hashlib.sha256((program_digest() + call).encode()).hexdigest()}.json"
    if kept.is_file():
        data = json.loads(kept.read_text())
        return harness.Plan(**data)
    plan = harness.run(stack, overrides, first_preview=first_preview, stacks_dir=DIR)
    data = {
        "stack": plan.stack,
        "resources": plan.resources,
        "seconds": plan.seconds,
        "placeholders": plan.placeholders,
    }
    write_atomically(kept, json.dumps(data))
    return plan


def program_files(root: Path = harness.ROOT, stacks_dir: Path = DIR) -> list[Path]:
    """The files a plan depends on: the program, its project file and pins, the fixture stack files."""
    files = [root / "__main__.py", root / "Pulumi.yaml", *sorted(root.glob("requirements*.txt"))]
    for folder in (root / "components", root / "plan", stacks_dir):
        files += sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return files


def digest_of(files: list[Path], root: Path) -> str:
    """sha256 of the interpreter version and each file's path (relative to ``root``) and content."""
    digest = hashlib.sha256(sys.version.encode())
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.cache
def program_digest() -> str:
    """:func:`digest_of` the :func:`program_files`, computed once per process."""
    return digest_of(program_files(), harness.ROOT)


def settings_for(stack: str, overrides: dict[str, Any] | None = None):
    """``harness.settings_for`` on the fixture stack ``stack``: the program's validated Settings."""
    return harness.settings_for(stack, overrides, stacks_dir=DIR)


def stack_config(stack: str, overrides: dict[str, Any] | None = None) -> tuple[dict[str, str], list[str], list[str]]:
    """``harness.stack_config`` on the fixture stack ``stack``: (config strings, secret keys, placeholders)."""
    return harness.stack_config(stack, overrides, stacks_dir=DIR)
