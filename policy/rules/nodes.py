"""Nodes: IMDSv2 only with hop limit 1 (pods use IRSA, never the node's role), encrypted root volumes."""

from __future__ import annotations

from collections.abc import Iterator

from .model import Resource, Rule, Stack, as_list, dig, known, truthy

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
INSTANCE = "aws:ec2/instance:Instance"


def check_imds(r: Resource, _stack: Stack) -> Iterator[str]:
    if r.type == NODE_GROUP:
        if r.get("launchTemplate") is None:
            yield "node group has no launch template, so IMDS and disk settings are AWS's defaults"
        return
    tokens = r.get("metadataOptions.httpTokens")
    if known(tokens) and tokens != "required":
        yield f"IMDSv1 is allowed (metadataOptions.httpTokens={tokens!r}); require tokens"
    hops = r.get("metadataOptions.httpPutResponseHopLimit")
    if known(hops) and hops != 1:
        yield f"IMDS hop limit is {hops!r}; 1 keeps pods from borrowing the node's IAM role"


def check_volumes(r: Resource, _stack: Stack) -> Iterator[str]:
    mappings = r.get("blockDeviceMappings")
    if not known(mappings):
        return
    ebs = [dig(m, "ebs") for m in as_list(mappings) if isinstance(m, dict) and dig(m, "ebs") is not None]
    if not ebs:
        yield "no block device mapping: the root volume is encrypted only if the account's EBS default says so"
    for volume in ebs:
        if known(volume.get("encrypted")) and not truthy(volume.get("encrypted")):
            yield "an EBS volume of the nodes is not encrypted"


RULES = [
    Rule(
        name="nodes-require-imdsv2",
        description="Nodes use a launch template that requires IMDSv2 with a hop limit of 1.",
        check=check_imds,
        types=(LAUNCH_TEMPLATE, NODE_GROUP, INSTANCE),
    ),
    Rule(
        name="node-volumes-encrypted",
        description="Node root volumes are encrypted EBS volumes declared in the launch template.",
        check=check_volumes,
        types=(LAUNCH_TEMPLATE,),
    ),
]
