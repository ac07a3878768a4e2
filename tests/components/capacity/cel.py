"""The CRD's CEL rules (``x-kubernetes-validations``) run on an object, as the API server would on create.

A small evaluator for the Karpenter CRDs only, on cel-python (pinned in requirements-dev.txt): the
rules of ``karpenter.sh_nodepools.yaml`` and ``karpenter.k8s.aws_ec2nodeclasses.yaml`` use the CEL
standard library plus two Kubernetes extensions, ``find`` (regex.go) and ``split`` (cel-go
ext/strings.go), added here. Transition rules (``oldSelf``) do not run on create and are skipped.
The proof-render work (issue 12) brings a general evaluator; this one can give way to it.
"""

from __future__ import annotations

import re
from typing import Any

import celpy
from celpy import celtypes

_ENV = celpy.Environment()


def _find(s: Any, pattern: Any) -> Any:
    found = re.search(str(pattern), str(s))
    return celtypes.StringType(found.group(0) if found else "")


def _split(s: Any, sep: Any) -> Any:
    return celtypes.ListType([celtypes.StringType(p) for p in str(s).split(str(sep))])


_FUNCTIONS = {"find": _find, "split": _split}
_PROGRAMS: dict[str, Any] = {}


def _program(rule: str) -> Any:
    if rule not in _PROGRAMS:
        _PROGRAMS[rule] = _ENV.program(_ENV.compile(rule), functions=_FUNCTIONS)
    return _PROGRAMS[rule]


def cel_failures(value: Any, schema: dict[str, Any], path: str = "") -> tuple[list[str], int]:
    """(failed rules as ``path: message``, rules evaluated) for ``value`` under ``schema``."""
    failures: list[str] = []
    evaluated = 0
    for rule in schema.get("x-kubernetes-validations", []):
        if "oldSelf" in rule["rule"]:
            continue
        evaluated += 1
        result = _program(rule["rule"]).evaluate({"self": celpy.json_to_cel(value)})
        if result is not True and not (isinstance(result, celtypes.BoolType) and bool(result)):
            failures.append(f"{path or '<root>'}: {rule.get('message', rule['rule'])}")
    if isinstance(value, dict):
        for key, child in value.items():
            sub = (schema.get("properties") or {}).get(key) or schema.get("additionalProperties")
            if isinstance(sub, dict):
                f, n = cel_failures(child, sub, f"{path}.{key}".lstrip("."))
                failures += f
                evaluated += n
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            f, n = cel_failures(item, schema["items"], f"{path}[{i}]")
            failures += f
            evaluated += n
    return failures, evaluated
