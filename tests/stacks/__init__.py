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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plan import harness

#: tests/stacks/, holding Pulumi.<name>.yaml files laid out like stacks/.
DIR = Path(__file__).resolve().parent
#: The fixture stacks: dev (cheap, public endpoint, 2 domains), staging (prod-shaped, 2 domains)
#: and prod (HA, private endpoint, protected data, 3 domains with a cross-domain read).
NAMES: list[str] = harness.stack_names(stacks_dir=DIR)


def run(stack: str, overrides: dict[str, Any] | None = None, first_preview: bool = False) -> harness.Plan:
    """``harness.run`` on the fixture stack ``stack``."""
    return harness.run(stack, overrides, first_preview=first_preview, stacks_dir=DIR)


def settings_for(stack: str, overrides: dict[str, Any] | None = None):
    """``harness.settings_for`` on the fixture stack ``stack``: the program's validated Settings."""
    return harness.settings_for(stack, overrides, stacks_dir=DIR)


def stack_config(stack: str, overrides: dict[str, Any] | None = None) -> tuple[dict[str, str], list[str], list[str]]:
    """``harness.stack_config`` on the fixture stack ``stack``: (config strings, secret keys, placeholders)."""
    return harness.stack_config(stack, overrides, stacks_dir=DIR)
