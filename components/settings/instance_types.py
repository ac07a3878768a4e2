"""EC2 instance types (and the RDS classes built on them): what a node or database can hold.

The data is EC2's own ``DescribeInstanceTypes`` answer for every instance type, as shipped by moto
(``moto/ec2/resources/instance_types.json.gz``, regenerated from the EC2 API by moto's
``scripts/get_instance_info.py``; moto is pinned in requirements.txt). It is read from the package's
files without importing moto. A type AWS adds reaches us with the next moto pin, not by hand.

Max pods is the VPC CNI's ceiling without prefix delegation: ENIs x (IPv4 addresses per ENI - 1) + 2
(amazon-eks-ami ``templates/shared/runtime/eni-max-pods.txt`` is generated with the same formula).
"""

from __future__ import annotations

import difflib
import gzip
import importlib.util
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class InstanceType:
    """Capacity of one EC2 instance type as seen by Kubernetes."""

    vcpu: int
    memory_gib: float
    #: pods per node with the VPC CNI without prefix delegation (ENIs x (IPs per ENI - 1) + 2).
    max_pods: int
    #: "x86_64" | "arm64" | what EC2 reports for types EKS has no AMI for (e.g. "x86_64_mac").
    arch: str
    current_generation: bool


def _data_file() -> Path:
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("moto (the EC2 instance-type data) is not installed: pip install -r requirements.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "ec2" / "resources" / "instance_types.json.gz"


def _arch(archs: list[str]) -> str:
    for arch in ("arm64", "x86_64"):
        if arch in archs:
            return arch
    return archs[0] if archs else "unknown"


@cache
def _table() -> dict[str, InstanceType]:
    with gzip.open(_data_file(), "rt") as f:
        raw = json.load(f)
    table = {}
    for name, info in raw.items():
        net = info["NetworkInfo"]
        table[name] = InstanceType(
            vcpu=int(info["VCpuInfo"]["DefaultVCpus"]),
            memory_gib=info["MemoryInfo"]["SizeInMiB"] / 1024,
            max_pods=int(net["MaximumNetworkInterfaces"]) * (int(net["Ipv4AddressesPerInterface"]) - 1) + 2,
            arch=_arch(info["ProcessorInfo"]["SupportedArchitectures"]),
            current_generation=bool(info.get("CurrentGeneration")),
        )
    return table


class _Table(Mapping[str, InstanceType]):
    """Read-only, loaded on first use (about 1,400 types)."""

    def __getitem__(self, name: str) -> InstanceType:
        return _table()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_table())

    def __len__(self) -> int:
        return len(_table())


INSTANCE_TYPES: Mapping[str, InstanceType] = _Table()


def suggest(name: str, known: Mapping[str, object] | None = None, prefix: str = "") -> str:
    """`` (did you mean X?)`` for the closest known name, or ``""``."""
    names = [prefix + n for n in (known if known is not None else INSTANCE_TYPES)]
    hint = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    return f" (did you mean {hint[0]}?)" if hint else ""


#: RDS for PostgreSQL instance class families: the RDS User Guide, "Supported DB engines for DB
#: instance classes" (general purpose m, memory optimized r/x/z, burstable t). An RDS class is
#: ``db.<EC2 type>`` of one of these families.
RDS_POSTGRES_FAMILIES = (
    "m5",
    "m5d",
    "m6g",
    "m6gd",
    "m6i",
    "m6id",
    "m6idn",
    "m6in",
    "m7g",
    "m7i",
    "m8g",
    "r5",
    "r5b",
    "r5d",
    "r6g",
    "r6gd",
    "r6i",
    "r6id",
    "r6idn",
    "r6in",
    "r7g",
    "r7i",
    "r8g",
    "t3",
    "t4g",
    "x2g",
    "x2iedn",
    "z1d",
)


def rds_instance_class_problem(name: str) -> str | None:
    """Why ``name`` is not an RDS for PostgreSQL instance class, or None if it is one."""
    family, _, size = name.removeprefix("db.").partition(".")
    if name.startswith("db.") and family in RDS_POSTGRES_FAMILIES and f"{family}.{size}" in INSTANCE_TYPES:
        return None
    known = {t: None for t in INSTANCE_TYPES if t.split(".", 1)[0] in RDS_POSTGRES_FAMILIES}
    return "not an RDS for PostgreSQL instance class" + suggest(name, known, prefix="db.")


#: Smallest node that can run a meshed Airflow pod next to the DaemonSets (aws-node, kube-proxy,
#: pod-identity agent, ebs-csi node, mesh CNI) plus per-pod sidecars.
MIN_NODE_MEMORY_GIB = 8
MIN_NODE_PODS = 29
#: What the system group must offer is computed from the platform's requests (components/sizing.py,
#: ``capacity_rules.system_capacity_problem``), not a fixed figure.

AMI_TYPES = {"x86_64": "AL2023_x86_64_STANDARD", "arm64": "AL2023_ARM_64_STANDARD"}
