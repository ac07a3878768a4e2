"""AWS regions and partitions, as the AWS SDK knows them (botocore ``data/partitions.json``).

botocore is pinned in requirements.txt; a region AWS opens reaches us with the next pin. Read from
the package's data file, without importing botocore.
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


@cache
def partitions() -> tuple[Partition, ...]:
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("botocore (the AWS region data) is not installed: pip install -r requirements.txt")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "partitions.json"
    raw = json.loads(path.read_text())
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
