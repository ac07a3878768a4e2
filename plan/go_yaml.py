"""YAML read the way the Pulumi CLI reads Pulumi.yaml and stack files: gopkg.in/yaml.v3 into ``any``.

PyYAML implements YAML 1.1, where ``yes``/``no``/``on``/``off`` are booleans, ``1:30`` is a
base-60 integer and a repeated mapping key silently wins. yaml.v3, which the CLI uses
(pulumi/pulumi ``sdk/go/common/encoding/marshal.go``), resolves plain scalars by its own table
(go-yaml/yaml v3 ``resolve.go``):

- booleans: only ``true``/``True``/``TRUE`` and ``false``/``False``/``FALSE`` (``yes``, ``on`` stay strings);
- null: empty, ``~``, ``null``/``Null``/``NULL``;
- integers: Go ``strconv.ParseInt(s, 0, 64)`` after removing ``_``, so ``0x1F``, ``0o17``, ``0b101``
  and, kept from YAML 1.1, ``0777`` as octal (511); too big for int64 falls back to uint64;
- floats: ``[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?`` and ``.inf``/``.nan`` spellings;
- timestamps ``2006-1-2`` and RFC 3339 forms (Pulumi then stores ``time.Time.String()``);
- a mapping key defined twice is an error (``mapping key "x" already defined at line N``);
- ``<<`` merges mappings (YAML merge keys).

Quoted and block scalars are always strings; ``!!str`` and other explicit tags are honoured.
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

import yaml

_PLAIN = "!go-plain"
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_MAP = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_INT64 = 2**63
_DIGITS = {"x": 16, "o": 8, "b": 2}
_BASE_DIGITS = {b: re.compile(f"[{d}]+") for b, d in ((2, "01"), (8, "0-7"), (10, "0-9"), (16, "0-9a-fA-F"))}


class GoYamlError(ValueError):
    """The text is not YAML yaml.v3 accepts (syntax, a duplicate key, a bad explicit tag)."""


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's parser and composer (libyaml's when built in: several times faster), with plain
    scalars left for :func:`resolve` to type."""

    def resolve(self, kind, value, implicit):  # PyYAML's resolver hook
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)


def _go_parse_int(s: str) -> int | None:
    """Go ``strconv.ParseInt(s, 0, 64)``, falling back to ``ParseUint`` (yaml.v3 tries both)."""
    sign, body = (s[0], s[1:]) if s[:1] in ("+", "-") else ("", s)
    base = 10
    if len(body) > 2 and body[0] == "0" and body[1].lower() in _DIGITS:
        base, body = _DIGITS[body[1].lower()], body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, body = 8, body[1:]
    if not _BASE_DIGITS[base].fullmatch(body):
        return None
    value = int(body, base) * (-1 if sign == "-" else 1)
    if -_INT64 <= value < _INT64 or (not sign and 0 <= value < 2 * _INT64):
        return value
    return None


def _timestamp(s: str) -> str | None:
    """Pulumi keeps a YAML timestamp as Go's ``time.Time.String()`` (``2026-01-02 00:00:00 +0000 UTC``)."""
    if not re.match(r"^\d{4}-", s):
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dt%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            t = datetime.datetime.strptime(s.replace("Z", "+0000"), pattern)
        except ValueError:
            continue
        if t.tzinfo is None or t.utcoffset() == datetime.timedelta(0):
            return t.strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
        return t.strftime("%Y-%m-%d %H:%M:%S %z %z")  # Go names a zone without a name by its offset
    return None


def resolve(text: str) -> Any:
    """The value yaml.v3 gives a plain (unquoted, untagged) scalar decoded into ``any``."""
    if text in _MAP:
        return _MAP[text]
    first = text[:1]
    if first and first in "yYnNtTfFoO~":
        return text
    if first == ".":
        return float(text) if _FLOAT.match(text) else text
    if first and (first.isdigit() or first in "+-"):
        stamp = _timestamp(text)
        if stamp is not None:
            return stamp
        plain = text.replace("_", "")
        number = _go_parse_int(plain)
        if number is not None:
            return number
        if _FLOAT.match(plain):
            return float(plain)
    return text


def _value(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _PLAIN:
            return resolve(node.value)
        tag = node.tag.rsplit(":", 1)[-1]
        if tag in ("str", "binary"):
            return node.value
        value = resolve(node.value)
        wanted = {"int": int, "float": float, "bool": bool, "null": type(None)}.get(tag)
        if wanted is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if wanted is not None and not isinstance(value, wanted):
            raise GoYamlError(f"line {node.start_mark.line + 1}: cannot decode {node.value!r} as a !!{tag}")
        return value
    if isinstance(node, yaml.SequenceNode):
        return [_value(item) for item in node.value]
    out: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _PLAIN and key_node.value == "<<":
            merged = _value(value_node)
            for part in merged if isinstance(merged, list) else [merged]:
                for k, v in (part or {}).items():
                    out.setdefault(k, v)
            continue
        key = _go_string(_value(key_node))
        raw = key_node.value if isinstance(key_node, yaml.ScalarNode) else key
        line = key_node.start_mark.line + 1
        if raw in lines:  # yaml.v3 compares the keys' source text (decode.go, d.mapping)
            raise GoYamlError(f"line {line}: mapping key {raw!r} already defined at line {lines[raw]}")
        lines[raw] = line
        out[key] = _value(value_node)
    return out


def _go_string(value: Any) -> str:
    """``fmt.Sprintf("%v", key)``: how Pulumi turns a non-string mapping key into a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    return str(value)


def load(text: str) -> Any:
    """Decode ``text`` as yaml.v3 does into ``any``; raises :class:`GoYamlError`."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as err:
        raise GoYamlError(str(err)) from None
    return None if node is None else _value(node)
