"""``make bench``: whole-process wall time of the offline plan per stack, next to the floor.

The floor is the least any Pulumi Python program pays here: a process that imports pulumi,
pulumi_aws and pulumi_kubernetes and sets up the mock engine. A benchmark, not a test.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time

from plan import harness

RUNS = 5
FLOOR = """
import pulumi, pulumi_aws, pulumi_kubernetes
from plan.mocks import RealisticMocks
pulumi.runtime.set_mocks(RealisticMocks("us-east-1"), project="airflow-mesh", stack="floor", preview=True)
"""


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=harness.ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def median_of(cmd: list[str]) -> float:
    wall(cmd)  # warm the page cache and .pyc files
    return statistics.median(wall(cmd) for _ in range(RUNS))


def synthetic_domains(n: int) -> list[dict]:
    """``n`` distinct, valid data domains (for the scaling test and benchmark)."""
    return [
        {
            "name": f"team{i:02d}",
            "oidcGroups": [f"data-team{i:02d}"],
            "airflowRole": f"team{i:02d}",
            "s3": [{"bucket": f"example-team{i:02d}-dev", "prefixes": ["in/", "out/"], "access": "readwrite"}],
            "secretsPrefix": f"team{i:02d}",
            "egress": [{"host": f"api.team{i:02d}.example.com", "port": 443}],
        }
        for i in range(n)
    ]


def domain_scaling() -> None:
    """In-process plan time of the dev stack with 1 and with 50 synthetic domains."""
    harness.run("dev")  # warm imports
    for n in (1, 50):
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            plan = harness.run("dev", {"domains": synthetic_domains(n)})
            times.append(time.perf_counter() - start)
        print(f"dev with {n:2d} domains: {statistics.median(times):.2f}s in process, {len(plan.resources)} resources")


def main() -> None:
    floor = median_of([sys.executable, "-c", FLOOR])
    print(f"floor (import pulumi, pulumi_aws, pulumi_kubernetes + mocks): {floor:.2f}s median of {RUNS}")
    with tempfile.TemporaryDirectory() as out:
        for stack in harness.stack_names():
            seconds = median_of([sys.executable, "-m", "plan", stack, "--out", out])
            print(f"make plan {stack:8s} {seconds:.2f}s  ({seconds / floor:.1f}x floor)")
    domain_scaling()


if __name__ == "__main__":
    main()
