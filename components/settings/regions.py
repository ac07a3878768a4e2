"""AWS regions and partitions, as the AWS SDK knows them (botocore ``data/partitions.json`` and
``data/endpoints.json``).

botocore is pinned in requirements.txt; a region AWS opens reaches us with the next pin. Read from
the package's data files, without importing botocore.

Every ARN, service principal and AWS hostname the program writes is built by a :class:`Partition`
(``arn:<partition>:``, ``<service>.<region>.<dns suffix>``): ``aws-cn`` ARNs say ``arn:aws-cn:`` and
its hosts end in ``amazonaws.com.cn``; ``aws-us-gov`` ARNs say ``arn:aws-us-gov:``. A policy with the
wrong partition is rejected by IAM (``MalformedPolicyDocument``), a host with the wrong suffix resolves
to nothing, so nothing outside this module writes ``arn:aws:`` or ``amazonaws.com`` for a resource.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class Partition:
    """An AWS partition: ARNs say ``arn:<id>:``, endpoints end in ``<dns_suffix>``."""

    id: str
    dns_suffix: str
    regions: tuple[str, ...]
    #: Names this partition would give a region it does not list yet (botocore ``regionRegex``).
    region_regex: str

    def arn(self, service: str, resource: str, region: str = "", account: str = "") -> str:
        """``arn:<partition>:<service>:<region>:<account>:<resource>``; global services (IAM, S3, Route 53)
        leave ``region`` (and S3 ``account``) empty. AWS General Reference, "Amazon Resource Names"."""
        return f"arn:{self.id}:{service}:{region}:{account}:{resource}"

    def managed_policy(self, name: str) -> str:
        """An AWS managed policy: ``arn:<partition>:iam::aws:policy/<name>`` (``name`` may carry a path)."""
        return self.arn("iam", f"policy/{name}", account="aws")

    def host(self, service: str, region: str) -> str:
        """The regional endpoint host ``<service>.<region>.<dns suffix>`` (``s3.cn-north-1.amazonaws.com.cn``)."""
        return f"{service}.{region}.{self.dns_suffix}"

    def principal(self, service: str) -> str:
        """The service principal of ``service`` in this partition: ``<service>.amazonaws.com`` everywhere
        (AWS standardised the names), except the few AWS CDK's region-info ``default.ts`` lists per
        partition, mirrored by terraform-provider-aws ``servicePrincipalNameForPartition``: those end in
        the partition's DNS suffix (``logs.amazonaws.com.cn``)."""
        suffix = self.dns_suffix if service in _PARTITIONAL_PRINCIPALS.get(self.id, ()) else "amazonaws.com"
        return f"{service}.{suffix}"


#: Service principals that end in the partition's DNS suffix (see :meth:`Partition.principal`).
_PARTITIONAL_PRINCIPALS: dict[str, frozenset[str]] = {
    "aws-cn": frozenset({"codedeploy", "elasticmapreduce", "logs"}),
    "aws-iso": frozenset({"cloudhsm", "config", "logs", "workspaces"}),
    "aws-iso-b": frozenset({"dms", "logs"}),
}


def _botocore_data(name: str) -> dict:
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("botocore (the AWS region data) is not installed: pip install -r requirements.txt")
    return json.loads((Path(next(iter(spec.submodule_search_locations))) / "data" / name).read_text())


@cache
def partitions() -> tuple[Partition, ...]:
    raw = _botocore_data("partitions.json")
    return tuple(
        Partition(
            id=p["id"],
            dns_suffix=p["outputs"]["dnsSuffix"],
            # "aws-global" and friends are endpoint aliases, not regions a VPC can live in.
            regions=tuple(sorted(r for r in p["regions"] if not r.endswith("-global"))),
            region_regex=p["regionRegex"],
        )
        for p in raw["partitions"]
    )


def all_regions() -> list[str]:
    return [r for p in partitions() for r in p.regions]


def partition_of(region: str) -> Partition:
    """The partition listing ``region``, else the one whose name pattern matches it, else ``aws``
    (what botocore does for a region it does not list)."""
    for p in partitions():
        if region in p.regions:
            return p
    for p in partitions():
        if re.match(p.region_regex, region):
            return p
    return partitions()[0]


def region_problem(region: str) -> str | None:
    """Why ``region`` is not a region the AWS SDK knows, or None."""
    if region in all_regions():
        return None
    hint = difflib.get_close_matches(region, all_regions(), n=1)
    return "not an AWS region the AWS SDK knows" + (f" (did you mean {hint[0]}?)" if hint else "")


@cache
def _endpoints() -> dict[str, dict]:
    return {p["partition"]: p["services"] for p in _botocore_data("endpoints.json")["partitions"]}


def offers(service: str, region: str) -> bool:
    """Whether the AWS SDK knows an endpoint of ``service`` (its endpoint prefix: ``eks-auth``,
    ``scheduler``...) in ``region``: the region is listed under the service in botocore's
    ``endpoints.json`` or the service is global in the region's partition (IAM, Route 53). The same data
    ``boto3.Session().get_available_regions(service)`` answers from."""
    services = _endpoints().get(partition_of(region).id, {})
    if service not in services:
        return False
    entry = services[service]
    return region in entry.get("endpoints", {}) or entry.get("isRegionalized") is False
