"""AWS-wide: every resource through the one tagged, account-pinned provider; no world-open ingress."""

from __future__ import annotations

from collections.abc import Iterator

from .model import TAG_KEYS, Resource, Rule, Stack, as_document, as_list, aws_default_tags, known

_OPEN = ("0.0.0.0/0", "::/0")


def check_provider(r: Resource, _stack: Stack) -> Iterator[str]:
    if r.provider_type is None:
        return  # the engine did not say (e.g. a provider resource itself)
    if not r.provider_props:
        yield "created through the default AWS provider: no tag map, no account pin"
        return
    missing = [k for k in TAG_KEYS if k not in aws_default_tags(r.provider_props)]
    if missing:
        yield f"its AWS provider's default tags miss {missing}"
    accounts = as_document(r.provider_props.get("allowedAccountIds"))
    if known(accounts) and not as_list(accounts):
        yield "its AWS provider does not pin allowedAccountIds to the stack's account"


def check_ingress(r: Resource, _stack: Stack) -> Iterator[str]:
    if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        cidrs = [r.get("cidrIpv4"), r.get("cidrIpv6")]
    elif r.type == "aws:ec2/securityGroupRule:SecurityGroupRule":
        cidrs = as_list(r.get("cidrBlocks")) + as_list(r.get("ipv6CidrBlocks")) if r.get("type") == "ingress" else []
    else:
        cidrs = [
            c for rule in as_list(r.get("ingress")) if isinstance(rule, dict) for c in as_list(rule.get("cidrBlocks"))
        ]
        cidrs += [
            c
            for rule in as_list(r.get("ingress"))
            if isinstance(rule, dict)
            for c in as_list(rule.get("ipv6CidrBlocks"))
        ]
    open_to = [c for c in cidrs if c in _OPEN]
    if open_to:
        yield f"security group ingress open to {open_to}; the edge NLB's source ranges are the only way in"


RULES = [
    Rule(
        name="aws-provider-tagged-and-pinned",
        description="Every AWS resource goes through an explicit provider whose default tags carry the tag map and "
        "which is pinned to the stack's account.",
        check=check_provider,
        types=("aws:*",),
    ),
    Rule(
        name="no-world-open-ingress",
        description="No security group admits 0.0.0.0/0 or ::/0.",
        check=check_ingress,
        types=(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "aws:ec2/securityGroupRule:SecurityGroupRule",
            "aws:ec2/securityGroup:SecurityGroup",
            "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        ),
    ),
]
