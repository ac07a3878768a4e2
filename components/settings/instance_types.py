"""What the node groups may be made of, and what the platform needs from them.

The table is deliberately small and explicit: an instance type earns a row once someone has
checked that it can hold the platform (memory for the mesh sidecars, and enough pod slots under
the VPC CNI's ENI limits, which are the real ceiling on small nodes). Add a row to use another type.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceType:
    """Capacity of one EC2 instance type as seen by Kubernetes."""

    vcpu: int
    memory_gib: int
    #: pods per node with the VPC CNI without prefix delegation (ENIs x (IPs per ENI - 1) + 2).
    max_pods: int
    arch: str  # "x86_64" | "arm64"


def _family(prefix: str, arch: str) -> dict[str, InstanceType]:
    """General-purpose family sizes share the same shape across generations (m5, m6i, m7i...)."""
    return {
        f"{prefix}.large": InstanceType(2, 8, 29, arch),
        f"{prefix}.xlarge": InstanceType(4, 16, 58, arch),
        f"{prefix}.2xlarge": InstanceType(8, 32, 58, arch),
        f"{prefix}.4xlarge": InstanceType(16, 64, 234, arch),
    }


INSTANCE_TYPES: dict[str, InstanceType] = {
    "t3.medium": InstanceType(2, 4, 17, "x86_64"),
    "t3.large": InstanceType(2, 8, 35, "x86_64"),
    "t3.xlarge": InstanceType(4, 16, 58, "x86_64"),
    "t3.2xlarge": InstanceType(8, 32, 58, "x86_64"),
    "t3a.large": InstanceType(2, 8, 35, "x86_64"),
    "t4g.large": InstanceType(2, 8, 35, "arm64"),
    "t4g.xlarge": InstanceType(4, 16, 58, "arm64"),
    "t3a.xlarge": InstanceType(4, 16, 58, "x86_64"),
    **_family("m5", "x86_64"),
    **_family("m6i", "x86_64"),
    **_family("m6a", "x86_64"),
    **_family("m7i", "x86_64"),
    **_family("m7a", "x86_64"),
    **_family("m6g", "arm64"),
    **_family("m7g", "arm64"),
    "c6i.large": InstanceType(2, 4, 29, "x86_64"),
    "c6i.xlarge": InstanceType(4, 8, 58, "x86_64"),
    "c6i.2xlarge": InstanceType(8, 16, 58, "x86_64"),
    "r6i.large": InstanceType(2, 16, 29, "x86_64"),
    "r6i.xlarge": InstanceType(4, 32, 58, "x86_64"),
    "r6i.2xlarge": InstanceType(8, 64, 58, "x86_64"),
}

#: Smallest node that can run a meshed Airflow pod next to the DaemonSets (aws-node, kube-proxy,
#: pod-identity agent, ebs-csi node, mesh CNI) plus per-pod sidecars.
MIN_NODE_MEMORY_GIB = 8
MIN_NODE_PODS = 29
#: What the system group must offer is computed from the platform's requests (components/sizing.py,
#: settings rule ``system_capacity_problem``), not a fixed figure.

AMI_TYPES = {"x86_64": "AL2023_x86_64_STANDARD", "arm64": "AL2023_ARM_64_STANDARD"}
