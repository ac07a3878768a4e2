"""The ``config:`` block of ``Pulumi.yaml``, generated from the settings model.

``make project-file`` writes it; a test keeps the file and the model equal.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from pydantic.alias_generators import to_camel

from components.settings.model import StackConfig, config_key


def config_fields() -> dict[str, dict[str, Any]]:
    """camelCase key -> {type, description, default?, secret} for every project config key."""
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
    """The ``config:`` block of Pulumi.yaml, as the Pulumi CLI understands it."""
    out = {}
    for name, entry in config_fields().items():
        if not entry["declare"]:
            continue  # arrays of objects: the CLI's schema cannot type them, the settings model does
        decl: dict[str, Any] = {"type": entry["type"], "description": entry["description"]}
        if "items" in entry:
            decl["items"] = entry["items"]
        if entry["secret"]:
            decl["secret"] = True
        if "default" in entry:
            decl["default"] = entry["default"]
        out[config_key(name)] = decl
    return out


def _pulumi_type(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if kind is None and "enum" in prop:
        kind = "string"
    if kind is None and "$ref" in prop:
        kind = "string"
    if kind not in {"string", "integer", "boolean", "array"}:
        raise TypeError(f"config key type {prop!r} cannot be declared in Pulumi.yaml")
    return kind
