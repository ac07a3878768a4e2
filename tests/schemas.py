"""Checks of what leaves the program as YAML, against upstream definitions.

- Helm values: the chart's ``values.schema.json`` where upstream ships one, and (always) the key
  paths of the chart's ``values.yaml``, because schemas let unknown keys through and a typo would be
  silently ignored by the chart.
- Custom resources: the upstream CRD's ``openAPIV3Schema``, made strict (unknown fields rejected
  unless the CRD preserves them), because the API server would silently prune a misspelt field.
- Built-in Kubernetes objects: Kubernetes' own schemas (kubernetes-validate, strict).

Upstream files come from ``$AIRFLOW_MESH_UPSTREAM_DIR`` (see tests/conftest.py ``upstream``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from plan.harness import Plan
from proof import apiserver, objects

KUBERNETES_VERSION = "1.34.0"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


# --------------------------------------------------------------------------------------------------
# Reading the plan
# --------------------------------------------------------------------------------------------------


def releases(plan: Plan) -> dict[str, dict[str, Any]]:
    """Helm releases by chart name: the recorded inputs, ``values`` decoded."""
    out = {}
    for r in plan.of_type(HELM_RELEASE):
        inputs = dict(r["inputs"])
        values = inputs.get("values", {})
        inputs["values"] = json.loads(values) if isinstance(values, str) else values
        out[inputs["chart"]] = {**r, "inputs": inputs}
    return out


def kubernetes_objects(plan: Plan) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(record, object) for every Kubernetes object the program registers directly
    (proof.objects.emitted, which the rendered-set checks use too)."""
    records = {r["name"]: r for r in plan.resources}
    for obj in objects.emitted(plan.resources):
        yield records[obj.origin], obj.body


# --------------------------------------------------------------------------------------------------
# Helm values
# --------------------------------------------------------------------------------------------------


def values_schema_errors(values: dict[str, Any], schema_file: Path) -> list[str]:
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(values)]


def unknown_value_keys(values: dict[str, Any], values_file: Path, free_form: Iterable[str] = ()) -> list[str]:
    """Key paths set in ``values`` that the chart's values.yaml does not have.

    ``free_form`` lists dotted paths (``*`` matches one level) below which the chart accepts any key
    (``config``, ``labels``, ``annotations``, ``env``...). Lists are compared by their first element.
    """
    defaults = yaml.safe_load(values_file.read_text())
    patterns = [p.split(".") for p in free_form]
    problems: list[str] = []

    def free(path: list[str]) -> bool:
        return any(len(path) >= len(p) and all(a in ("*", b) for a, b in zip(p, path, strict=False)) for p in patterns)

    def walk(value: Any, default: Any, path: list[str]) -> None:
        if free(path):
            return
        if isinstance(value, dict):
            if not isinstance(default, dict):
                if default is None:
                    return  # the chart documents this key as unset: anything shaped is accepted
                problems.append(".".join(path) + f": chart expects {type(default).__name__}, got a map")
                return
            for k, v in value.items():
                if k not in default:
                    problems.append(".".join([*path, k]))
                else:
                    walk(v, default[k], [*path, k])
        elif isinstance(value, list) and isinstance(default, list) and default and isinstance(default[0], dict):
            for item in value:
                walk(item, default[0], [*path, "[]"])

    walk(values, defaults, [])
    return problems


# --------------------------------------------------------------------------------------------------
# Custom resources
# --------------------------------------------------------------------------------------------------


@functools.cache
def _crd_index(folder: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict openAPIV3Schema for every CRD file below ``folder``."""
    index = {}
    for path in sorted(Path(folder).rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            for version in doc["spec"]["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if schema:
                    index[(f"{group}/{version['name']}", kind)] = _with_object_root(_strict(schema))
    return index


def custom_resource_errors(obj: dict[str, Any], *crd_folders: Path) -> list[str]:
    """Errors of ``obj`` against the first CRD folder that defines its apiVersion and kind."""
    key = (obj["apiVersion"], obj["kind"])
    for folder in crd_folders:
        schema = _crd_index(str(folder)).get(key)
        if schema is not None:
            validator = jsonschema.Draft7Validator(schema)
            return [
                f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                for e in validator.iter_errors(_without_secrets(obj))
            ]
    return [f"no CRD for {key} in {[str(f) for f in crd_folders]}"]


# The strict-schema rules are proof.apiserver's, shared with the validation of rendered objects.
_strict = apiserver.strict
_with_object_root = apiserver.with_object_root
_without_secrets = apiserver.without_hidden


# --------------------------------------------------------------------------------------------------
# Built-in Kubernetes objects
# --------------------------------------------------------------------------------------------------


def kubernetes_errors(obj: dict[str, Any]) -> list[str]:
    """Errors of a built-in object against Kubernetes' own (strict) schema; [] when valid.
    Same schemas as kubernetes_validate.validate, read once (proof.apiserver.builtin_validator)."""
    validator = apiserver.builtin_validator(KUBERNETES_VERSION, obj["apiVersion"], obj["kind"])
    if validator is None:
        return [f"Kubernetes {KUBERNETES_VERSION} does not serve {obj['apiVersion']} {obj['kind']}"]
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(_without_secrets(obj))]
