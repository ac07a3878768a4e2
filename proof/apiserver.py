"""Validate objects as the API server would on create.

- Built-in kinds: Kubernetes' own OpenAPI schemas for the stack's version (kubernetes-validate,
  strict: unknown fields are errors, as ``kubectl apply --validate=strict`` and server-side field
  validation make them). An apiVersion the version does not serve is an error.
- Custom resources: the CRD **installed by the same stack** (emitted, rendered, from a chart's
  ``crds/`` or a ConfigFile). No CRD is an error (``no matches for kind``). The CRD's schema is
  applied after structural defaulting (``default``), made strict (unknown fields rejected unless
  ``x-kubernetes-preserve-unknown-fields``; the API server would prune them silently, which hides a
  typo), then every ``x-kubernetes-validations`` rule on the path is evaluated with cel-python plus
  :mod:`proof.cel_k8s`. Transition rules (those using ``oldSelf``) do not run on create.
- A rule cel-python cannot run (a parse error of newer CEL syntax, a library function not in
  :mod:`proof.cel_k8s`) is *unevaluable*: reported separately, and a test requires a written
  reason for each (``proof/reviewed/cel_unevaluable.yaml``).

Property names are escaped as Kubernetes does for CEL (``namespace`` -> ``__namespace__``,
``-`` -> ``__dash__``; k8s.io/apiserver/pkg/cel/escaping.go); map keys are not.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import celpy
import jsonschema
from celpy import celparser

from proof.cel_k8s import FUNCTIONS
from proof.objects import KubeObject, ObjectSet

_CEL_RESERVED = {
    *("true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if"),
    *("import", "let", "loop", "package", "namespace", "return", "var", "void", "while"),
}
_MISSING_FUNCTION = re.compile(r"undeclared reference to '([^']+)'")


@dataclass(frozen=True)
class Unevaluable:
    """A CEL rule cel-python could not run: which CRD (``group/Kind``), the rule and why."""

    crd: str
    rule: str
    reason: str


@dataclass
class Report:
    """What validating a set found: ``errors`` (``<object>: <path>: <message>``), CEL rules
    evaluated (one count per rule per value it applies to), transition rules skipped on create,
    and the unevaluable rules."""

    errors: list[str] = field(default_factory=list)
    cel_evaluated: int = 0
    cel_transition_skipped: int = 0
    unevaluable: set[Unevaluable] = field(default_factory=set)
    checked: int = 0


def unexplained(report: Report, reviewed_entries: tuple[dict[str, Any], ...]) -> list[Unevaluable]:
    """Unevaluable rules of ``report`` with no reviewed entry (``crd`` + exact ``rule``)."""
    known = {(e["crd"], e["rule"]) for e in reviewed_entries}
    return sorted((u for u in report.unevaluable if (u.crd, u.rule) not in known), key=lambda u: (u.crd, u.rule))


def validate(objects: ObjectSet) -> Report:
    """Validate every object of the set (pod templates, which are not API objects, excepted)."""
    report = Report()
    crds = crd_schemas(objects.crds())
    for obj in objects.objects:
        if obj.is_pod_template:
            continue
        validate_one(obj, crds, objects.kube_version, report)
    return report


def validate_one(obj: KubeObject, crds: dict[tuple[str, str], dict[str, Any]], version: str, report: Report) -> None:
    """Validate one object into ``report`` (results are memoised: stacks share most objects)."""
    report.checked += 1
    schema = crds.get((obj.api_version, obj.kind))
    body = without_hidden(obj.body)
    key = json.dumps([version, schema and schema["digest"], body], sort_keys=True, default=str)
    if key not in _memo:
        _memo[key] = _check(obj, body, schema, crds, version)
    errors, evaluated, skipped, unevaluable = _memo[key]
    report.errors.extend(f"{obj.ref()} ({obj.origin}): {e}" for e in errors)
    report.cel_evaluated += evaluated
    report.cel_transition_skipped += skipped
    report.unevaluable.update(unevaluable)


_memo: dict[str, tuple[list[str], int, int, set[Unevaluable]]] = {}


def _check(
    obj: KubeObject, body: dict[str, Any], schema: dict[str, Any] | None, crds: dict[tuple[str, str], Any], version: str
) -> tuple[list[str], int, int, set[Unevaluable]]:
    """(errors, CEL rules evaluated, transition rules skipped, unevaluable rules) for one object."""
    group = obj.api_version.rsplit("/", 1)[0] if "/" in obj.api_version else ""
    if schema is None and any(av.rsplit("/", 1)[0] == group and k == obj.kind for (av, k) in crds):
        return [f"the installed CRD does not serve {obj.api_version}"], 0, 0, set()
    if schema is None:
        validator = builtin_validator(version, obj.api_version, obj.kind)
        if validator is None and "." in group:
            return [f"no CRD for {obj.api_version} {obj.kind} in the stack (nor a built-in API)"], 0, 0, set()
        if validator is None:
            return [f"Kubernetes {version} does not serve {obj.api_version} {obj.kind}"], 0, 0, set()
        return [f"{_where(e)}: {e.message}" for e in validator.iter_errors(body)], 0, 0, set()
    body = defaulted(body, schema["raw"])
    errors = [f"{_where(e)}: {e.message}" for e in jsonschema.Draft7Validator(schema["strict"]).iter_errors(body)]
    evaluated = skipped = 0
    unevaluable: set[Unevaluable] = set()
    for path, rule, value, value_schema in cel_targets(body, schema["raw"], ""):
        outcome = evaluate(rule, value, value_schema)
        if outcome == "transition":
            skipped += 1
        elif isinstance(outcome, Unevaluable):
            unevaluable.add(Unevaluable(f"{group}/{obj.kind}", rule["rule"], outcome.reason))
        else:
            evaluated += 1
            if outcome is not True:
                message = rule.get("message") or f"failed rule: {rule['rule']}"
                errors.append(f"{path or '<root>'}: {message} ({outcome})")
    return errors, evaluated, skipped, unevaluable


def _where(err: jsonschema.ValidationError) -> str:
    return ".".join(map(str, err.absolute_path)) or "<root>"


@functools.cache
def builtin_validator(version: str, api_version: str, kind: str) -> Any:
    """A validator for a built-in kind from kubernetes-validate's strict schemas for ``version``
    (its ``validate`` re-reads a 3 MB definitions file per call; this reads it once), or None when
    that Kubernetes version does not serve ``api_version``/``kind``. Same file choice as
    kubernetes_validate.utils.validate 1.37.0."""
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    wanted = tuple(int(x) for x in version.split(".")[:2])
    known = [v for v in utils.all_versions() if tuple(int(x) for x in v.split(".")[:2]) <= wanted]
    if not known:
        raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {version}")
    folder = f"kubernetes-json-schema/v{known[-1]}-local-strict"
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(f"{folder}/{kind.lower()}-{api}.json", version)
    except FileNotFoundError:
        return None
    definitions = _definitions(folder, version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


@functools.cache
def _definitions(folder: str, version: str) -> Any:
    from kubernetes_validate import utils

    return utils.schema_contents(f"{folder}/_definitions.json", version)


def crd_schemas(crds: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> {"raw": schema with the object root, "strict": the strict copy}."""
    out = {}
    for crd in crds:
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"].get("versions", []):
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if schema and version.get("served", True):
                raw = with_object_root(schema)
                digest = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
                if digest not in _strict_memo:
                    _strict_memo[digest] = strict(raw)
                out[(f"{group}/{version['name']}", kind)] = {
                    "raw": raw,
                    "strict": _strict_memo[digest],
                    "digest": digest,
                }
    return out


_strict_memo: dict[str, dict[str, Any]] = {}


def strict(schema: Any) -> Any:
    """Close every object schema that lists properties, as the API server's pruning effectively
    does; ``nullable`` becomes a JSON-schema null type; CEL rules are left out (run separately)."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-validations")}
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    preserve = schema.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    if "metadata" in out.get("properties", {}) and out["properties"]["metadata"].get("type") == "object":
        out["properties"]["metadata"] = {"type": "object"}
    return out


def with_object_root(schema: dict[str, Any]) -> dict[str, Any]:
    """Every object has apiVersion, kind and metadata, whether or not the CRD lists them (Istio's
    list only spec and status); the API server validates those itself."""
    properties = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
    return {**schema, "properties": {**properties, **schema.get("properties", {})}}


def without_hidden(value: Any) -> Any:
    """``[secret]`` and ``[unknown]`` stand for values no schema can see; leave them out."""
    if isinstance(value, dict):
        return {k: without_hidden(v) for k, v in value.items() if v not in ("[secret]", "[unknown]")}
    if isinstance(value, list):
        return [without_hidden(v) for v in value]
    return value


def defaulted(value: Any, schema: dict[str, Any]) -> Any:
    """``value`` with the schema's ``default``s filled in, as structural defaulting does before
    validation (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting)."""
    if isinstance(value, dict) and "properties" in schema:
        out = dict(value)
        for key, sub in schema["properties"].items():
            if key not in out and "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
            if key in out:
                out[key] = defaulted(out[key], sub)
        return out
    if isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        return {k: defaulted(v, schema["additionalProperties"]) for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [defaulted(v, schema["items"]) for v in value]
    return value


def cel_targets(value: Any, schema: dict[str, Any], path: str):
    """(path, rule, value, schema) for every rule that applies to a present value, outermost first."""
    for rule in schema.get("x-kubernetes-validations") or []:
        yield path, rule, value, schema
    if isinstance(value, dict) and "properties" in schema:
        for key, sub in schema["properties"].items():
            if key in value and value[key] is not None:
                yield from cel_targets(value[key], sub, f"{path}.{key}" if path else key)
    elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, item in value.items():
            yield from cel_targets(item, schema["additionalProperties"], f"{path}[{key}]")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from cel_targets(item, schema["items"], f"{path}[{i}]")


def to_cel(value: Any, schema: dict[str, Any]) -> Any:
    """A JSON value as the CEL value Kubernetes gives a rule: property names escaped."""
    return celpy.json_to_cel(to_cel_plain(value, schema))


def to_cel_plain(value: Any, schema: dict[str, Any]) -> Any:
    if isinstance(value, dict) and "properties" in schema:
        return {escape(k): to_cel_plain(v, schema["properties"].get(k, {})) for k, v in value.items()}
    if isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        return {k: to_cel_plain(v, schema["additionalProperties"]) for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [to_cel_plain(v, schema["items"]) for v in value]
    if isinstance(value, float) and schema.get("type") == "integer" and value.is_integer():
        return int(value)
    return value


def escape(name: str) -> str:
    """Kubernetes' CEL property-name escaping (k8s.io/apiserver/pkg/cel/escaping.go)."""
    if name in _CEL_RESERVED:
        return f"__{name}__"
    name = name.replace("__", "__underscores__")
    for char, word in ((".", "dot"), ("-", "dash"), ("/", "slash")):
        name = name.replace(char, f"__{word}__")
    return name


@functools.cache
def _environment() -> Any:
    return celpy.Environment()  # builds the lark parser: ~0.6 s, so once


@functools.cache
def _program(rule: str) -> Any:
    env = _environment()
    return env.program(env.compile(rule), functions=FUNCTIONS)


def evaluate(rule: dict[str, Any], value: Any, schema: dict[str, Any]) -> Any:
    """True (rule holds), ``"transition"`` (uses oldSelf: update only), an :class:`Unevaluable`,
    or the failure: False, or an evaluation error's text (the API server rejects those too)."""
    text = rule["rule"]
    if re.search(r"\boldSelf\b", text) and not rule.get("optionalOldSelf"):
        return "transition"
    try:
        program = _program(text)
    except celparser.CELParseError as err:
        return Unevaluable("", text, f"cel-python cannot parse it: {str(err).splitlines()[0][:120]}")
    try:
        result = program.evaluate({"self": to_cel(value, schema)})
    except celpy.CELEvalError as err:
        result = err
    if isinstance(result, celpy.CELEvalError):
        missing = _MISSING_FUNCTION.search(str(result.args[0]) if result.args else "")
        if missing:
            return Unevaluable("", text, f"function {missing.group(1)} is not implemented")
        return str(result.args[0])[:200] if result.args else repr(result)
    return bool(result) if isinstance(result, celpy.celtypes.BoolType) else f"not a bool: {result!r}"
