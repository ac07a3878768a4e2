"""Customer-managed KMS keys: one way to make them, so every key gets the same guarantees."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def customer_key(
    name: str, description: str, alias: str, protect: bool, parent: pulumi.Resource, retain: bool | None = None
) -> aws.kms.Key:
    """A symmetric key with yearly rotation and an alias.

    With ``protect`` (prod) the key cannot be deleted by ``pulumi destroy``; with ``retain`` (default:
    ``protect``; also while a stack is retired) destroy leaves it in AWS, and a deletion scheduled by
    hand waits 30 days: data encrypted with it outlives the stack. Otherwise it goes after 7 days.
    """
    keep = protect if retain is None else retain
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30 if keep else 7,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=keep),
    )
    aws.kms.Alias(
        f"{name}-alias", name=f"alias/{alias}", target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=parent)
    )
    return key
