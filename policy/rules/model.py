"""The one view of a resource that every rule reads.

A rule never touches CrossGuard's argument objects or the recorded plan directly: both are turned
into :class:`Resource` (props as plain Python, secrets shown as ``SECRET``, values not known during
preview as ``UNKNOWN``) and :class:`Stack` (the stack's name and environment class), so the same
rule runs under ``pulumi preview --policy-pack policy`` and over ``build/plan/STACK/resources.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

#: How a secret value appears to a rule offline (the plan records secrets this way). Under
#: CrossGuard the engine hands secrets over unwrapped, so a rule must not rely on seeing this.
SECRET = "[secret]"
#: A value that is only known after an earlier resource is created (preview), or in the recorded plan.
UNKNOWN = "[unknown]"

ENVIRONMENTS = ("dev", "staging", "prod")
#: Tag keys of the one tag map every AWS resource carries (``Settings.tags``).
TAG_KEYS = ("project", "stack", "environment", "owner", "managed-by")


@dataclass(frozen=True)
class Resource:
    """A resource as the engine registers it: type, logical name, inputs and the options rules need."""

    type: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False
    parent: str | None = None
    #: Logical names of every resource this one waits for (explicit and implicit dependencies).
    dependencies: tuple[str, ...] = ()
    #: Logical names per input property (CrossGuard stack policies only; empty offline).
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    provider_type: str | None = None
    provider_props: Mapping[str, Any] = field(default_factory=dict)
    urn: str | None = None

    def get(self, path: str, default: Any = None) -> Any:
        """``r.get("vpcConfig.endpointPublicAccess")``: a nested input, or ``default`` when absent."""
        return dig(self.props, path, default)

    def depends_on_any(self, names: Iterable[str], prop: str | None = None) -> set[str]:
        """Which of ``names`` this resource depends on (through input ``prop`` when recorded)."""
        wanted = set(names)
        if prop and prop in self.property_dependencies:
            return wanted & set(self.property_dependencies[prop])
        return wanted & set(self.dependencies)


@dataclass(frozen=True)
class Stack:
    """The stack a rule is judging: its name and environment class (dev, staging or prod)."""

    name: str
    environment: str

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def is_dev(self) -> bool:
        return self.environment == "dev"


ResourceCheck = Callable[[Resource, Stack], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], Stack], Iterable[tuple[Resource | None, str]]]


@dataclass(frozen=True)
class Rule:
    """One promise of the platform, checked per resource (``scope="resource"``) or over the stack."""

    name: str
    description: str
    check: Callable[..., Iterable[Any]]
    scope: Literal["resource", "stack"] = "resource"
    #: Resource types a resource rule looks at; a trailing ``*`` matches a prefix (``aws:*``).
    types: tuple[str, ...] = ()
    #: What to do about a violation (shown by the CLI next to it).
    remediation: str = ""

    def applies_to(self, resource_type: str) -> bool:
        return any(resource_type.startswith(t[:-1]) if t.endswith("*") else resource_type == t for t in self.types)


@dataclass(frozen=True)
class Violation:
    """What a rule found: which rule, which resource (None: the stack as a whole), and why."""

    rule: str
    resource: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.resource or '(stack)'}: {self.message}"


# --------------------------------------------------------------------------------------------------
# Reading values
# --------------------------------------------------------------------------------------------------


def dig(value: Any, path: str, default: Any = None) -> Any:
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return default
    return value


def truthy(value: Any) -> bool:
    """Booleans as the engine may carry them: ``True`` or the string ``"true"`` (launch template EBS)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def known(value: Any) -> bool:
    """False for values a rule cannot judge yet (unknown during preview) or cannot see (offline secrets)."""
    return value not in (UNKNOWN, SECRET)


def as_document(value: Any) -> Any:
    """A JSON document given as a string (IAM policies, provider settings) or already parsed."""
    if isinstance(value, str) and value not in (UNKNOWN, SECRET):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM policy document (a single statement may be given bare)."""
    doc = as_document(document)
    if not isinstance(doc, Mapping):
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, Mapping)]


# --------------------------------------------------------------------------------------------------
# The stack's environment
# --------------------------------------------------------------------------------------------------


def aws_default_tags(provider_props: Mapping[str, Any]) -> dict[str, str]:
    """The tag map of an AWS provider (``defaultTags.tags``), JSON-encoded or not."""
    tags = dig(as_document(provider_props.get("defaultTags")) or {}, "tags", {})
    return dict(tags) if isinstance(tags, Mapping) else {}


_STACK_IN_URN = re.compile(r"^urn:pulumi:([^:]+)::")


def stack_name_from_urn(urn: str | None) -> str | None:
    match = _STACK_IN_URN.match(urn or "")
    return match.group(1) if match else None


def environment_of(
    stack_name: str, provider_props: Mapping[str, Any] | None = None, stack_tags: Mapping[str, str] | None = None
) -> str:
    """The environment class a stack is held to.

    In order: the ``environment`` tag of the AWS provider's tag map (the program sets it from the
    validated settings), the ``environment`` stack tag, the stack's own name when it is an
    environment (``dev``, ``staging``, ``prod``, or ends in ``-<env>``). Anything else is held to
    prod rules: a stack whose class cannot be told must not get dev's leniency.
    """
    for candidate in (aws_default_tags(provider_props or {}).get("environment"), (stack_tags or {}).get("environment")):
        if candidate in ENVIRONMENTS:
            return str(candidate)
    for env in ENVIRONMENTS:
        if stack_name == env or stack_name.endswith(f"-{env}"):
            return env
    return "prod"
