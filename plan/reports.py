"""The reports `make plan` writes beside resources.json: cost.md and deploy-time.md."""

from __future__ import annotations

from pathlib import Path

from plan import cost, deploy_time
from plan.harness import Plan


def write_reports(plan: Plan, out: Path) -> str:
    """Write cost.md and deploy-time.md for ``plan`` into ``out``; return their one-line summaries."""
    estimate = cost.estimate(plan.stack, plan.resources)
    (out / "cost.md").write_text(cost.render(estimate))
    timing = deploy_time.critical_path(plan.stack, plan.resources)
    (out / "deploy-time.md").write_text(deploy_time.render(timing, plan.resources))
    return "\n".join([cost.summary(estimate), deploy_time.summary(timing)])
