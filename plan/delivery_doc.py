"""``python -m plan.delivery_doc`` (``make delivery-doc``): the generated numbers in README.md and
docs/delivery.md, per stack: monthly estimate, expected ``pulumi up`` time and its critical path, and
the policy pack's rules. A test fails when they drift from the plans."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path

from plan import cost, deploy_time, harness

README = harness.ROOT / "README.md"
DOC = harness.ROOT / "docs" / "delivery.md"
MARK = "delivery-numbers"
#: Steps on the critical path shorter than this are left out of the one-line chain.
CHAIN_MIN_SECONDS = 20


def _short(name: str, stack: str) -> str:
    return name.removeprefix(f"{harness.pulumi_project()}-{stack}-")


def numbers(plans: Mapping[str, harness.Plan]) -> list[dict]:
    rows = []
    order = {"dev": 0, "staging": 1, "prod": 2}
    for stack, plan in sorted(plans.items(), key=lambda kv: (order.get(kv[0], 3), kv[0])):
        estimate = cost.estimate(stack, plan.resources)
        timing = deploy_time.critical_path(stack, plan.resources)
        chain = [s for s in timing.path if s.seconds >= CHAIN_MIN_SECONDS]
        rows.append(
            {
                "stack": stack,
                "environment": estimate.environment,
                "resources": len(plan.resources),
                "monthly": estimate.total,
                "at_max": estimate.total_at_max,
                "with_sleep": estimate.total_with_sleep if estimate.working_hours else None,
                "mwaa": estimate.mwaa,
                "minutes": round(timing.wall_seconds / 60),
                "path_length": len(timing.path),
                "chain": " → ".join(f"`{_short(s.name, stack)}` {deploy_time.clock(s.seconds)}" for s in chain),
                "as_of": estimate.as_of,
            }
        )
    return rows


def summary_table(rows: list[dict]) -> list[str]:
    out = [
        "| stack | environment | resources | estimate / month | with sleep schedule | nodes at max "
        "| `pulumi up` from empty |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        sleep = cost.money(r["with_sleep"]) if r["with_sleep"] is not None else "always on"
        out.append(
            f"| `{r['stack']}` | {r['environment']} | {r['resources']} | {cost.money(r['monthly'])} | {sleep} | "
            f"{cost.money(r['at_max'])} | ~{r['minutes']} min ({r['path_length']} steps) |"
        )
    mwaa = next((r["mwaa"] for r in rows if r["mwaa"]), None)
    if mwaa:
        out += [
            "",
            f"For comparison, Amazon MWAA's smallest priced environment ({mwaa[0]}, always on): "
            f"{cost.money(mwaa[1])} a month.",
        ]
    return out


def readme_block(rows: list[dict]) -> str:
    as_of = rows[0]["as_of"] if rows else "?"
    return "\n".join(
        [
            *summary_table(rows),
            "",
            f"On-demand us-east-1 list prices as of {as_of} (`plan/prices.yaml`); the critical paths, assumptions "
            "and the flows are in [docs/delivery.md](docs/delivery.md). `make plan STACK` writes both reports.",
        ]
    )


def doc_block(rows: list[dict]) -> str:
    from policy.rules import ALL

    as_of = rows[0]["as_of"] if rows else "?"
    out = [*summary_table(rows), "", f"Prices: on-demand list prices as of **{as_of}** (`plan/prices.yaml`).", ""]
    out += ["Critical path of `pulumi up` from empty (steps of 20 s or more; the whole path is in deploy-time.md):", ""]
    out += [f"- `{r['stack']}`: {r['chain']}" for r in rows]
    out += ["", f"The policy pack's {len(ALL)} rules (all mandatory):", "", "| rule | promise |", "|---|---|"]
    out += [f"| `{rule.name}` | {rule.description} |" for rule in ALL]
    return "\n".join(out)


def replace_block(text: str, block: str, path: Path) -> str:
    pattern = re.compile(rf"(<!-- {MARK}:begin[^>]*-->\n).*?(^<!-- {MARK}:end -->)", re.S | re.M)
    if not pattern.search(text):
        raise SystemExit(f"{path.name}: no <!-- {MARK}:begin --> ... <!-- {MARK}:end --> markers")
    return pattern.sub(lambda m: m.group(1) + block + "\n" + m.group(2), text)


def render(plans: Mapping[str, harness.Plan]) -> dict[Path, str]:
    """The new text of README.md and docs/delivery.md."""
    rows = numbers(plans)
    return {
        README: replace_block(README.read_text(), readme_block(rows), README),
        DOC: replace_block(DOC.read_text(), doc_block(rows), DOC),
    }


def main() -> int:
    plans = {stack: harness.run(stack) for stack in harness.stack_names()}
    for path, text in render(plans).items():
        path.write_text(text)
        print(f"updated the generated numbers in {path.relative_to(harness.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
