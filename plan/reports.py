"""What `make plan` writes beside resources.json, and the few lines it prints first.

Files: cost.md, deploy-time.md, policy.md (the offline policy pack's verdict) and types.txt (the
resource count per type, which used to fill the terminal before the lines a person reads).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from plan import cost, deploy_time
from plan.harness import Plan
from policy.rules import ALL
from policy.rules.model import Violation
from policy.rules.offline import evaluate, from_records, stack_of

#: What `make plan` writes per stack, in the order it lists them.
FILES = ("resources.json", "tree.txt", "types.txt", "access-matrix.md", "cost.md", "deploy-time.md", "policy.md")


@dataclass(frozen=True)
class Report:
    """The numbers of one plan: cost, first-deploy time and the policy pack's findings."""

    estimate: cost.Estimate
    timing: deploy_time.DeployTime
    violations: list[Violation]
    policy_seconds: float


def build(plan: Plan) -> Report:
    """Cost, deploy time and the offline policy pack (every rule of ``policy.rules.ALL``, the same
    code `pulumi preview --policy-pack policy` runs) for ``plan``. Takes ~0.1 s."""
    start = time.perf_counter()
    resources = from_records(plan.resources)
    violations = evaluate(resources, stack_of(plan.stack, resources))
    policy_seconds = time.perf_counter() - start
    return Report(
        estimate=cost.estimate(plan.stack, plan.resources),
        timing=deploy_time.critical_path(plan.stack, plan.resources),
        violations=violations,
        policy_seconds=policy_seconds,
    )


def write_reports(plan: Plan, out: Path) -> Report:
    """Write cost.md, deploy-time.md, policy.md and types.txt for ``plan`` into ``out``."""
    report = build(plan)
    (out / "cost.md").write_text(cost.render(report.estimate))
    (out / "deploy-time.md").write_text(deploy_time.render(report.timing, plan.resources))
    (out / "policy.md").write_text(policy_markdown(plan.stack, report))
    (out / "types.txt").write_text(type_counts(plan))
    return report


def policy_verdict(report: Report) -> str:
    """``passed (60 rules, offline, 0.1 s)`` or ``FAILED: 2 violations of 60 rules ...``."""
    rules = f"{len(ALL)} rules, offline, {report.policy_seconds:.1f} s"
    if not report.violations:
        return f"passed ({rules})"
    return f"FAILED: {len(report.violations)} violations ({rules}); see policy.md"


def policy_markdown(stack: str, report: Report) -> str:
    lines = [f"# Policy pack: stack `{stack}`", "", f"**{policy_verdict(report)}**", ""]
    if report.violations:
        lines += ["| rule | resource | why |", "|---|---|---|"]
        lines += [f"| {v.rule} | {v.resource or '(stack)'} | {v.message} |" for v in report.violations]
    else:
        lines.append("Every mandatory rule passed on the recorded plan; `pulumi preview` enforces the same rules.")
    return "\n".join(lines) + "\n"


def type_counts(plan: Plan) -> str:
    """``  12  aws:iam/role:Role`` lines, most frequent first."""
    counts = Counter(r["type"] for r in plan.resources)
    rows = [f"{n:4d}  {t}" for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "\n".join(rows) + "\n"


def headline(plan: Plan, report: Report, out: Path) -> str:
    """What a person wants first: resources, cost, deploy time, the pack's verdict, placeholders."""
    types = len({r["type"] for r in plan.resources})
    shown = out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out
    lines = [
        f"stack {plan.stack}: {len(plan.resources)} resources of {types} types (planned in {plan.seconds:.1f} s)",
        f"  cost          {cost.summary(report.estimate).strip()}",
        f"  deploy time   {deploy_time.summary(report.timing).strip()}",
        f"  policy pack   {policy_verdict(report)}",
    ]
    lines += [f"    {v}" for v in report.violations[:10]]
    if plan.placeholders:
        lines.append(
            f"  placeholders  {', '.join(plan.placeholders)} (set with `pulumi config set --secret` before `pulumi up`)"
        )
    lines.append(f"  wrote {shown}/: {', '.join(FILES)}")
    return "\n".join(lines)
