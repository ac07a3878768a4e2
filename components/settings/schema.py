"""The ``config:`` block of ``Pulumi.yaml``, generated from the settings model.

``make project-file`` writes it; a test keeps the file and the model equal.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import SecretStr
from pydantic.alias_generators import to_camel

from components.settings.model import StackConfig, config_key


@cache
def config_fields() -> dict[str, dict[str, Any]]:
    """camelCase key -> {type, description, default?, secret} for every project config key.

    Computed once (pydantic's JSON schema is slow to build); callers must not modify it.
    """
    schema = StackConfig.model_json_schema(by_alias=True)
    out: dict[str, dict[str, Any]] = {}
    for attr, field in StackConfig.model_fields.items():
        name = to_camel(attr)
        prop = schema["properties"][name]
        extra = field.json_schema_extra or {}
        entry: dict[str, Any] = {
            "type": _pulumi_type(prop),
            "description": field.description,
            "secret": bool(extra.get("secret")),
            "declare": extra.get("declare", True),
        }
        if entry["type"] == "array":
            entry["items"] = {"type": "string"}
        if not field.is_required():
            default = field.get_default(call_default_factory=True)
            entry["default"] = default.get_secret_value() if isinstance(default, SecretStr) else default
        out[name] = entry
    return out


def project_config_schema() -> dict[str, dict[str, Any]]:
    """The ``config:`` block of Pulumi.yaml: each optional key with its description and default.

    Deliberately without ``type``, ``secret`` or required keys: with those, the CLI checks the stack
    before the program runs and stops at the first problem with a message that names neither the
    stack file nor the value given (``validateStackConfigValue`` in pulumi/pulumi
    ``pkg/workspace/config.go``). The program checks the same forms the CLI accepts
    (:func:`components.settings.loader.parse_value`) and reports every problem in one run.
    """
    out = {}
    for name, entry in config_fields().items():
        if not entry["declare"] or "default" not in entry:
            continue
        out[config_key(name)] = {"description": entry["description"], "default": entry["default"]}
    return out


def _pulumi_type(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if kind is None and "enum" in prop:
        kind = "string"
    if kind is None and "$ref" in prop:
        kind = "string"
    if kind not in {"string", "integer", "boolean", "array", "object"}:
        raise TypeError(f"config key type {prop!r} cannot be declared in Pulumi.yaml")
    return kind
