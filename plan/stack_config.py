"""Stack configuration assembled the way the Pulumi CLI does it, before the program starts.

Every step cites the CLI code it mirrors (pulumi/pulumi; docs/configuration.md has the full list):

1. Pulumi.yaml and the stack file are decoded by yaml.v3 (:mod:`plan.go_yaml`).
2. Pulumi.yaml's shorthand ``key: value`` becomes ``default`` for this project's keys and ``value``
   for other namespaces (``sdk/go/common/workspace/project.go``, ``RewriteShorthandConfigValues``).
3. A stack key must be ``namespace:name`` (or the old ``namespace:config:name``)
   (``sdk/go/common/resource/config/key.go``, ``ParseKey``).
4. A stack value becomes the string the program receives (``sdk/go/common/resource/config/object.go``,
   ``MarshalString``): a string as written; a bool/number as its JSON text (``True`` -> ``true``,
   ``3.0`` -> ``3``, ``0777`` -> ``511``); ``{secure: ...}`` a secret; a list, a mapping or null the
   JSON of it (secret if any ``secure:`` is inside).
5. Keys missing from the stack get the project's ``default`` or ``value`` (``createConfigValue`` in
   ``pkg/workspace/config.go``: strings, ints and bools by ``%v``, the rest as JSON); a key of this
   project declared without either is required, and all missing ones are reported in one error.
6. Keys declared with a ``type`` are checked (``validateStackConfigValue`` and
   ``ValidateConfigValue`` in ``sdk/go/common/workspace/project.go``), first failure only; a key
   declared ``secret: true`` must be ``secure:``.

``secure:`` values cannot be decrypted offline: they (and required secrets set only on the
deployer's machine) get a placeholder that stays marked secret.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from plan import go_yaml


class StackConfigError(Exception):
    """The stack file is missing, unreadable or fails the CLI's own checks (types, required keys)."""


@dataclass(frozen=True)
class Secure:
    """A config value given as ``pulumi config set --secret`` would store it (for tests)."""

    value: str


def _shown(path: Path, root: Path) -> Path:
    return path.relative_to(root) if path.is_relative_to(root) else path


def read(path: Path, root: Path) -> Any:
    try:
        return go_yaml.load(path.read_text())
    except go_yaml.GoYamlError as err:
        raise StackConfigError(f"{_shown(path, root)}: invalid YAML file: {err}") from None


def project_file(root: Path) -> dict[str, Any]:
    return read(root / "Pulumi.yaml", root) or {}


def stacks_folder(root: Path, stacks_dir: Path | None = None) -> Path:
    """``stacks_dir`` when given, else Pulumi.yaml's ``stackConfigDir`` (default: beside it)."""
    return stacks_dir if stacks_dir is not None else root / (project_file(root).get("stackConfigDir") or ".")


def stack_names(root: Path, stacks_dir: Path | None = None) -> list[str]:
    folder = stacks_folder(root, stacks_dir)
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in folder.glob("Pulumi.*.yaml"))


def parse_key(key: str, where: str) -> str:
    """``namespace:name`` of a stack key (``ParseKey``); raises :class:`StackConfigError`."""
    parts = key.split(":")
    if len(parts) == 2:
        return key
    if len(parts) == 3 and parts[1] == "config":
        return f"{parts[0]}:{parts[2]}"
    raise StackConfigError(
        f"{where}: could not parse {key} as a configuration key "
        "(configuration keys should be of the form `<namespace>:<name>`)"
    )


def go_json(value: Any) -> str:
    """Go ``encoding/json.Marshal``: sorted keys, no spaces, ``<>&`` escaped, Go's float format."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise StackConfigError(f"json: unsupported value: {value}")
        if value == 0 or 1e-6 <= abs(value) < 1e21:
            return format(Decimal(repr(value)).normalize(), "f")
        return re.sub(r"e([+-])0(\d)", r"e\1\2", repr(value))
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{go_json(str(k))}:{go_json(v)}" for k, v in sorted(value.items())) + "}"
    text = json.dumps(value, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        text = text.replace(char, escape)
    return text.replace("\u2029", "\\u2029")


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str)


def _has_secure(value: Any) -> bool:
    if _is_secure(value) or isinstance(value, Secure):
        return True
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(_has_secure(v) for v in items)


def _decrypt(value: Any, key: str) -> Any:
    """Nested ``secure:`` values as the placeholder (or the test's plaintext) the program sees."""
    if isinstance(value, Secure):
        return value.value
    if _is_secure(value):
        return f"offline-placeholder:{key}"
    if isinstance(value, dict):
        return {k: _decrypt(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_decrypt(v, key) for v in value]
    return value


def marshal(value: Any, key: str, decrypt: Callable[[str], str] | None = None) -> tuple[str, bool]:
    """(string the program receives, secret?) for one decoded stack value (``MarshalString``).

    ``decrypt``: ciphertext -> plaintext for a top-level ``secure:`` value; offline (None) it becomes a
    placeholder, as does every nested one.
    """
    if isinstance(value, Secure):
        return value.value, True
    if _is_secure(value):
        return (decrypt(value["secure"]) if decrypt else f"offline-placeholder:{key}"), True
    if isinstance(value, str):
        return value, False
    return go_json(_decrypt(value, key)), _has_secure(value)


def _project_value(value: Any) -> str:
    """``createConfigValue``: primitives by ``%v``, the rest as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    return go_json(value)


def _valid(kind: str, items: dict[str, Any] | None, value: Any) -> bool:
    """``ValidateConfigValue``: the value is the string passed, or the decoded JSON of an object."""
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, (int, float)):
            return float(value).is_integer()
        return isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value) is not None
    if kind == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(_valid(items["type"], items.get("items"), v) for v in value)


def _type_name(kind: str, items: dict[str, Any] | None) -> str:
    return f"array<{_type_name(items['type'], items.get('items'))}>" if items else kind


def assemble(
    stack: str, overrides: dict[str, Any] | None, root: Path, stacks_dir: Path | None = None
) -> tuple[dict[str, str], list[str], list[str]]:
    """(config strings, secret keys, keys given offline placeholders) for ``stack``.

    ``overrides``: ``key -> value`` as yaml.v3 would have decoded it (a :class:`Secure` for a secret,
    None to delete the key), applied on top of the stack file.
    """
    project = project_file(root)
    name = project["name"]
    path = stacks_folder(root, stacks_dir) / f"Pulumi.{stack}.yaml"
    where = str(_shown(path, root))
    if not path.exists():
        raise StackConfigError(f"no stack file {where} (stacks: {', '.join(stack_names(root, stacks_dir))})")
    doc = read(path, root) or {}
    given: dict[str, Any] = {parse_key(str(k), where): v for k, v in (doc.get("config") or {}).items()}
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if value is None:
            given.pop(full, None)
        else:
            given[full] = value

    declared: dict[str, dict[str, Any]] = {}
    for key, decl in (project.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if not isinstance(decl, dict):  # shorthand
            decl = {"default": decl} if full.startswith(f"{name}:") else {"value": decl}
        declared[full] = decl

    values: dict[str, str] = {}
    objects: set[str] = set()  # the CLI's Value.Object(): the string is JSON of a list, mapping or null
    secret: set[str] = set()
    placeholders: set[str] = set()
    for key, value in given.items():
        values[key], is_secret = marshal(value, key)
        if not isinstance(value, (str, bool, int, float, Secure)) and not _is_secure(value):
            objects.add(key)
        if is_secret:
            secret.add(key)
            if "offline-placeholder:" in values[key] and not isinstance(value, Secure):
                placeholders.add(key)

    missing = []
    for key in sorted(declared):
        decl = declared[key]
        if key in values:
            continue
        if "value" in decl or "default" in decl:
            default = decl["value"] if "value" in decl else decl["default"]
            values[key] = _project_value(default)
            if not isinstance(default, (str, int, bool)):
                objects.add(key)
        elif decl.get("secret"):
            values[key] = f"offline-placeholder:{key}"  # set on the deployer's machine only
            secret.add(key)
            placeholders.add(key)
        elif key.startswith(f"{name}:"):
            missing.append(key)
    if missing:
        quoted = [f"'{k}'" for k in missing]
        listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
        raise StackConfigError(
            f"Stack '{stack}' is missing configuration value{'s' if len(missing) > 1 else ''} {listed}"
        )

    for key in sorted(declared):
        decl = declared[key]
        if decl.get("secret") and key not in secret:
            raise StackConfigError(f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret")
        if "type" not in decl:
            continue
        content: Any = json.loads(values[key]) if key in objects else values[key]
        if not _valid(decl["type"], decl.get("items"), content):
            raise StackConfigError(
                f"Stack '{stack}' with configuration key '{key}' must be of type "
                f"'{_type_name(decl['type'], decl.get('items'))}'"
            )

    strings = {k: v for k, v in values.items() if not k.startswith("pulumi:")}
    return strings, sorted(secret), sorted(placeholders)
