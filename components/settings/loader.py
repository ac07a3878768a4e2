"""Stack settings: the only place that reads ``pulumi.Config`` or the stack name.

:func:`load` reads the ``airflow-mesh:*`` keys the engine hands the program and :func:`validate`
turns them into :class:`~components.settings.model.Settings`. Invalid input raises
:class:`SettingsError` before any resource is registered. Each problem names the stack file and the
key, says what was given and what is allowed.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any

import pulumi
from pydantic import TypeAdapter, ValidationError

from components.settings import regions, rules
from components.settings.model import PROJECT, STACK_CONFIG_DIR, config_key
from components.settings.namespaces import foreign_key_problem
from components.settings.schema import config_fields
from components.settings.stack import Settings

_USERINFO = re.compile(r"([a-z][a-z0-9+.-]*://)[^/@\s']+@")


def _shown(value: Any) -> str:
    """``repr(value)`` for a message, a URL's ``user:password@`` masked (messages land in CI logs)."""
    return _USERINFO.sub(r"\1***@", repr(value))


class SettingsError(pulumi.RunError):
    """Raised for invalid stack configuration; Pulumi prints it without a stack trace."""

    def __init__(self, stack: str, problems: list[tuple[str, str]], where: str | None = None):
        """``where``: the stack file as the reader knows it (default: where the Pulumi CLI reads it;
        the offline plan passes the file it read, e.g. from ``--stacks-dir``)."""
        self.stack = stack
        self.problems = problems
        where = where or stack_file(stack)
        lines = [f"{where}: {key}: {message}" for key, message in problems]
        super().__init__("invalid stack configuration:\n  " + "\n  ".join(lines))


def stack_file(stack: str) -> str:
    return f"{STACK_CONFIG_DIR}/Pulumi.{stack}.yaml"


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def load() -> Settings:
    """Read the stack's configuration from the Pulumi runtime and validate it."""
    stack = pulumi.get_stack()
    everything = _configured_values()
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix) :]: v for k, v in everything.items() if k.startswith(prefix)}
    others = {k: "[secret]" if pulumi.runtime.is_config_secret(k) else v for k, v in everything.items()}
    others = {k: v for k, v in others.items() if not k.startswith(prefix)}
    secrets = {k for k in raw if pulumi.runtime.is_config_secret(config_key(k))}
    return validate(stack, everything.get("aws:region"), raw, secret_keys=secrets, others=others)


def _configured_values() -> dict[str, str]:
    """Every config key the engine handed us (``namespace:name``), as the raw strings Pulumi passes."""
    from pulumi.runtime import config as runtime_config  # the SDK exposes no public key listing

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    values: dict[str, str] = {}
    for key in sorted(keys):
        value = runtime_config.get_config(key)
        if value is not None:
            values[key] = value
    return values


def validate(
    stack: str,
    region: str | None,
    raw: dict[str, str],
    secret_keys: set[str],
    others: Mapping[str, str] | None = None,
) -> Settings:
    """Validate raw config strings for ``stack``; raise :class:`SettingsError` listing every problem.

    ``raw``: this project's keys (without the ``airflow-mesh:`` prefix) -> the string the CLI passes;
    ``others``: every other ``namespace:name`` key of the stack -> its value (``[secret]`` for secrets),
    checked for keys nothing reads.
    Nothing is registered before this returns.
    """
    problems: list[tuple[str, str]] = []
    fields = config_fields()

    for name in sorted(set(raw) - set(fields)):
        hint = difflib.get_close_matches(name, list(fields), n=1)
        problems.append((config_key(name), "unknown key" + (f" (did you mean {config_key(hint[0])}?)" if hint else "")))
    for key, text in sorted((others or {}).items()):
        problem = foreign_key_problem(key, list(fields))
        if problem:
            problems.append((key, f"{_shown(text)}: {problem}"))

    values: dict[str, Any] = {}
    for name, text in raw.items():
        if name not in fields:
            continue
        if fields[name]["secret"] and text and name not in secret_keys:
            problems.append(
                (config_key(name), f"must be a secret: set it with `pulumi config set --secret {config_key(name)} ...`")
            )
            continue
        try:
            values[name] = parse_value(text, fields[name]["type"])
        except ValueError as err:
            shown = "[secret]" if fields[name]["secret"] else repr(text)
            problems.append((config_key(name), f"{shown}: {err}"))

    broken = {name for name, _ in problems if name.startswith(f"{PROJECT}:")}
    if not region:
        problems.append(("aws:region", "is required (e.g. `pulumi config set aws:region us-east-1`)"))
    else:
        region_problem = regions.region_problem(region)
        if region_problem:
            problems.append(("aws:region", f"{region!r}: {region_problem}"))

    settings, field_problems = _build(stack, region, {k: v for k, v in values.items() if config_key(k) not in broken})
    problems.extend(field_problems)
    if settings is not None:
        problems.extend(rules.check(settings, partial=bool(problems)))
    if problems:
        raise SettingsError(stack, problems)
    assert settings is not None
    return settings


def parse_value(text: str, kind: str) -> Any:
    """The value of one config string, read the way the Pulumi CLI and SDK read it (docs/configuration.md).

    ``integer``: base-10 digits with an optional sign (Go ``strconv.Atoi``, what the CLI's project
    type check accepts); ``boolean``: ``true``/``false`` (also ``True``/``False``, which the Python
    SDK's ``Config.get_bool`` accepts); ``array``/``object``: the JSON the CLI serialises them to.
    Raises ``ValueError`` saying what was expected.
    """
    if kind == "string":
        return text
    if text == "null":
        raise ValueError("is empty (YAML null): give a value or delete the key")
    if kind == "integer":
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise ValueError("is not an integer (whole number, like 3)")
        return int(text, 10)
    if kind == "boolean":
        if text not in _BOOLEANS:
            raise ValueError("is not a boolean (true or false)")
        return _BOOLEANS[text]
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if kind == "array" and not isinstance(value, list):
        raise ValueError("is not a list (write it as a YAML sequence, e.g. [a, b])")
    if kind == "object" and not isinstance(value, dict):
        raise ValueError("is not an object (write it as a YAML mapping)")
    return value


_BOOLEANS = {"true": True, "True": True, "false": False, "False": False}


def _build(stack: str, region: str | None, values: dict[str, Any]) -> tuple[Settings | None, list[tuple[str, str]]]:
    """Settings from parsed values, and the problems of single keys (types, formats, allowed values).

    With problems, the Settings returned is partial: keys that failed are absent (reading one raises
    ``AttributeError``) so the cross-key rules skip what depends on them and still report the rest.
    """
    data = {**values, "stack": stack, "region": region or ""}
    try:
        return Settings.model_validate(data), []
    except ValidationError as err:
        problems = _describe(err)
        failed = {str(e["loc"][0]) for e in err.errors()}
    good: dict[str, Any] = {}
    for attr, field in Settings.model_fields.items():
        alias = field.alias or attr
        if alias in data and alias not in failed:
            kind = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
            good[attr] = TypeAdapter(kind).validate_python(data[alias])
    settings = Settings.model_construct(**good)
    for attr, field in Settings.model_fields.items():
        if (field.alias or attr) in failed:
            settings.__dict__.pop(attr, None)
    return settings, problems


def _describe(err: ValidationError) -> list[tuple[str, str]]:
    out = []
    for e in err.errors():
        head, *rest = e["loc"]
        key = "aws:region" if head == "region" else config_key(str(head))
        for part in rest:
            key += f"[{part}]" if isinstance(part, int) else f".{part}"
        if e["type"] == "missing":
            out.append((key, "is required"))
            continue
        secret = config_fields().get(str(head), {}).get("secret")
        # A URL's user:password part is never echoed (the message lands in CI logs).
        given = "[secret]: " if secret else _shown(e.get("input")) + ": "
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "literal_error":
            allowed = e["ctx"]["expected"].replace("'", "").split(" or ")
            message = "allowed: " + ", ".join(allowed)
            given_text = str(e.get("input"))
            if re.fullmatch(r"[0-9]+\.[0-9]+", given_text) and any(a.startswith(given_text + "0") for a in allowed):
                # YAML reads 1.40 as the number 1.4 (yaml.v3 resolve.go): the version needs quotes.
                message += f' (YAML read a number and dropped its trailing zero: quote it, "{given_text}0")'

        out.append((key, given + message))
    return out


# --------------------------------------------------------------------------------------------------
# The Pulumi.yaml schema, generated from the model
# --------------------------------------------------------------------------------------------------
