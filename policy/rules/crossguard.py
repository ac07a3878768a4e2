"""The rules as CrossGuard policies: what ``pulumi preview --policy-pack policy`` runs.

Resource rules become ``ResourceValidationPolicy``: they run for every resource during preview and
again right before the engine creates or updates it, so they block ``pulumi up`` too. Rules that
relate resources to each other become ``StackValidationPolicy`` (run at the end of a preview; the
workflows preview with the pack before every ``up``).

Every policy is ``mandatory``. Values not known during preview are handed to rules as ``UNKNOWN``
instead of aborting the whole policy, so one computed ARN cannot switch a check off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, _is_unknown

from .model import UNKNOWN, Resource, Rule, Stack, environment_of, stack_name_from_urn


def plain(value: Any) -> Any:
    """CrossGuard's unknown-checking proxies -> dicts and lists, unknowns as ``UNKNOWN``."""
    if isinstance(value, str):
        return UNKNOWN if _is_unknown(value) else value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = UNKNOWN
        return out
    if isinstance(value, Sequence):
        items: list[Any] = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _provider(provider: Any) -> tuple[str | None, dict[str, Any]]:
    if provider is None:
        return None, {}
    return provider.resource_type, plain(provider.props)


def _resource_from_args(args: ResourceValidationArgs) -> Resource:
    provider_type, provider_props = _provider(args.provider)
    return Resource(
        type=args.resource_type,
        name=args.name,
        props=plain(args.props),
        protect=bool(args.opts.protect),
        parent=_name(args.opts.parent) if args.opts.parent else None,
        provider_type=provider_type,
        provider_props=provider_props,
        urn=args.urn,
    )


def _resource_from_stack(r: PolicyResource) -> Resource:
    provider_type, provider_props = _provider(r.provider)
    return Resource(
        type=r.resource_type,
        name=r.name,
        props=plain(r.props),
        protect=bool(r.opts.protect),
        parent=r.parent.name if r.parent else None,
        dependencies=tuple(d.name for d in r.dependencies),
        property_dependencies={k: tuple(d.name for d in v) for k, v in r.property_dependencies.items()},
        provider_type=provider_type,
        provider_props=provider_props,
        urn=r.urn,
    )


def _stack(urn: str | None, provider_props: Mapping[str, Any] | None, tags: Mapping[str, str]) -> Stack:
    name = stack_name_from_urn(urn) or ""
    return Stack(name=name, environment=environment_of(name, provider_props, tags))


def _resource_policy(rule: Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if not rule.applies_to(args.resource_type):
            return
        resource = _resource_from_args(args)
        aws_props = resource.provider_props if (resource.provider_type or "").endswith(":aws") else None
        for message in rule.check(resource, _stack(args.urn, aws_props, args.stack_tags)):
            report(message, None)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        remediation_steps=rule.remediation or None,
    )


def _stack_policy(rule: Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = [_resource_from_stack(r) for r in args.resources]
        aws = next((r.provider_props for r in resources if (r.provider_type or "").endswith(":aws")), None)
        urn = next((r.urn for r in resources if r.urn), None)
        for resource, message in rule.check(resources, _stack(urn, aws, args.stack_tags)):
            report(message, resource.urn if resource else None)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        remediation_steps=rule.remediation or None,
    )


def policies(rules: Sequence[Rule]) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """One mandatory CrossGuard policy per rule."""
    return [_stack_policy(r) if r.scope == "stack" else _resource_policy(r) for r in rules]
