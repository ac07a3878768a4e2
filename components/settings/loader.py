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
from typing import Any

import pulumi
from pydantic import ValidationError

from components.settings import rules
from components.settings.model import PROJECT, STACK_CONFIG_DIR, Settings, config_key
from components.settings.schema import config_fields

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class SettingsError(pulumi.RunError):
    """Raised for invalid stack configuration; Pulumi prints it without a stack trace."""

    def __init__(self, stack: str, problems: list[tuple[str, str]]):
        self.stack = stack
        self.problems = problems
        where = stack_file(stack)
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
    raw = _configured_values()
    region = pulumi.Config("aws").get("region")
    return validate(stack, region, raw, secret_keys={k for k in raw if pulumi.runtime.is_config_secret(config_key(k))})


def _configured_values() -> dict[str, str]:
    """Every ``airflow-mesh:*`` key the engine handed us, as the raw strings Pulumi passes."""
    from pulumi.runtime import config as runtime_config  # the SDK exposes no public key listing

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = f"{PROJECT}:"
    values: dict[str, str] = {}
    for key in sorted(keys):
        if key.startswith(prefix):
            value = runtime_config.get_config(key)
            if value is not None:
                values[key[len(prefix) :]] = value
    return values


def validate(stack: str, region: str | None, raw: dict[str, str], secret_keys: set[str]) -> Settings:
    """Validate raw config strings for ``stack``; raise :class:`SettingsError` listing every problem."""
    problems: list[tuple[str, str]] = []
    fields = config_fields()

    for name in sorted(set(raw) - set(fields)):
        hint = difflib.get_close_matches(name, list(fields), n=1)
        problems.append((config_key(name), "unknown key" + (f" (did you mean {config_key(hint[0])}?)" if hint else "")))

    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in fields:
            continue
        if fields[name]["secret"] and value and name not in secret_keys:
            problems.append(
                (config_key(name), f"must be a secret: set it with `pulumi config set --secret {config_key(name)} ...`")
            )
            continue
        if fields[name]["type"] == "string":
            values[name] = value
            continue
        try:
            values[name] = json.loads(value)
        except json.JSONDecodeError:
            problems.append((config_key(name), f"{value!r} is not a valid {fields[name]['type']}"))

    if not region:
        problems.append(("aws:region", "is required (e.g. `pulumi config set aws:region us-east-1`)"))
    elif not _REGION.match(region):
        problems.append(("aws:region", f"{region!r} is not an AWS region name"))

    settings: Settings | None = None
    if not problems:
        try:
            settings = Settings.model_validate({**values, "stack": stack, "region": region})
        except ValidationError as err:
            problems.extend(_describe(err))
    if settings is not None:
        problems.extend(rules.check(settings))
    if problems:
        raise SettingsError(stack, problems)
    assert settings is not None
    return settings


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
        given = f"{e.get('input')!r}: "
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "literal_error":
            message = "allowed: " + ", ".join(map(str, e["ctx"]["expected"].replace("'", "").split(" or ")))
        out.append((key, given + message))
    return out


# --------------------------------------------------------------------------------------------------
# The Pulumi.yaml schema, generated from the model
# --------------------------------------------------------------------------------------------------
