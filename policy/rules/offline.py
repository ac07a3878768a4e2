"""Run the rules without the Pulumi CLI: over a recorded plan (``build/plan/STACK/resources.json``,
or ``plan.harness.Plan.resources``) or over hand-made resources in tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .model import Resource, Rule, Stack, Violation, environment_of


def from_records(records: Sequence[Mapping[str, Any]]) -> list[Resource]:
    """Resources as the plan harness recorded them (type, name, parent, provider, dependsOn, inputs, options)."""
    by_name = {r["name"]: r for r in records}
    resources = []
    for r in records:
        provider = by_name.get(r.get("provider") or "")
        resources.append(
            Resource(
                type=r["type"],
                name=r["name"],
                props=r.get("inputs") or {},
                protect=bool((r.get("options") or {}).get("protect")),
                parent=r.get("parent"),
                dependencies=tuple(r.get("dependsOn") or ()),
                provider_type=provider["type"] if provider else None,
                provider_props=(provider.get("inputs") or {}) if provider else {},
            )
        )
    return resources


def stack_of(name: str, resources: Iterable[Resource]) -> Stack:
    """The stack's environment from its AWS provider's tag map (else from its name; else prod)."""
    providers = [r.props for r in resources if r.type == "pulumi:providers:aws"]
    return Stack(name=name, environment=environment_of(name, providers[0] if providers else None))


def evaluate(resources: Sequence[Resource], stack: Stack, rules: Iterable[Rule] | None = None) -> list[Violation]:
    """Every violation of ``rules`` (default: all of them) in ``resources``."""
    if rules is None:
        from . import ALL

        rules = ALL
    found: list[Violation] = []
    for rule in rules:
        if rule.scope == "stack":
            for resource, message in rule.check(resources, stack):
                found.append(Violation(rule.name, resource.name if resource else None, message))
            continue
        for resource in resources:
            if rule.applies_to(resource.type):
                found += [Violation(rule.name, resource.name, m) for m in rule.check(resource, stack)]
    return found


def evaluate_records(stack_name: str, records: Sequence[Mapping[str, Any]]) -> list[Violation]:
    resources = from_records(records)
    return evaluate(resources, stack_of(stack_name, resources))
