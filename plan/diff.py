"""``python -m plan --diff BASE [STACK]``: what a change does to a stack, as short Markdown.

BASE is a git ref (``origin/main``, a commit): the stack is planned at that commit and in the
working tree, and compared. ``stack:OTHER`` compares two stacks of the working tree instead
(``--diff stack:staging prod``: what prod has that staging has not). Compared: the resources
(added, removed, changed inputs), monthly cost, first-deploy time, the policy pack's verdict and the
access matrix (who may call, reach or read what).

The base commit is exported with ``git archive`` into a temporary folder (the working tree and its
index are untouched) and planned there by its own code (``python -m plan STACK --out ...`` in a
subprocess), so a change to the program itself shows up. Cost and deploy time of both sides come
from the working tree's models (plan/cost.py, plan/deploy_time.py), so a price-table change does not
pass for a resource change.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plan import cost, deploy_time, harness

#: Longest list of names shown per section before "and N more".
SHOWN = 8


@dataclass(frozen=True)
class Side:
    """One side of the comparison: its label, resources by name and access matrix (None: not planned,
    ``error`` says why). ``new`` marks a base commit that has no such stack file: a stack this change
    adds, which is compared as all added rather than counted as a failure to plan."""

    label: str
    resources: dict[str, dict[str, Any]] | None
    matrix: dict[str, Any] | None
    error: str = ""
    new: bool = False

    @property
    def failed(self) -> bool:
        """The side could not be planned (its stack file is missing from the tree or rejected)."""
        return self.resources is None and not self.new

    def neutral(self, names: dict[str, str]) -> Side:
        """The same side with each key of ``names`` (a stack name, an account id) replaced by its
        value everywhere, so two stacks compare by shape rather than by name."""
        if self.resources is None:
            return self
        text = json.dumps([self.resources, self.matrix])
        for old, new in names.items():
            text = text.replace(old, new)
        resources, matrix = json.loads(text)
        return Side(self.label, resources, matrix, self.error, self.new)


@dataclass(frozen=True)
class Diff:
    """What ``--diff`` prints (``text``, Markdown) and the sides that could not be planned (``failed``:
    the command then exits 2, so a CI job running it fails)."""

    text: str
    failed: tuple[Side, ...]

    def problems(self) -> list[str]:
        """One line per side that could not be planned, in render()'s wording."""
        return [f"{side.label}: not planned ({side.error})" for side in self.failed]


def at_ref(ref: str, stack: str, root: Path = harness.ROOT, stacks_dir: Path | None = None) -> Side:
    """``stack`` as the commit ``ref`` plans it: the commit's stack file, or the one in ``stacks_dir``
    (the same file both sides read, so only the program differs). Raises ValueError for an unknown ref."""
    git = ["git", "-C", str(root)]
    found = subprocess.run([*git, "rev-parse", "--verify", f"{ref}^{{commit}}"], capture_output=True, text=True)
    if found.returncode != 0:
        raise ValueError(f"not a git commit: {ref}")
    archive = subprocess.run([*git, "archive", "--format=tar", found.stdout.strip()], capture_output=True, check=True)
    with tempfile.TemporaryDirectory(prefix="airflow-mesh-diff-") as tmp:
        tree = Path(tmp) / "tree"
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tree, filter="data")
        out = Path(tmp) / "out"
        label = f"`{ref}`"
        folder = stacks_dir.resolve() if stacks_dir is not None else tree / "stacks"
        if not (folder / f"Pulumi.{stack}.yaml").exists():
            shown = folder if stacks_dir is not None else Path("stacks")
            return Side(label, None, None, f"no such stack there: {shown / f'Pulumi.{stack}.yaml'}", new=True)
        given = ["--stacks-dir", str(folder)] if stacks_dir is not None else []
        run = subprocess.run(
            [sys.executable, "-m", "plan", stack, "--out", str(out), *given], cwd=tree, capture_output=True, text=True
        )
        if not (out / stack / "resources.json").exists():
            return Side(label, None, None, _plan_error(run.stderr))
        return _read(label, out / stack)


def _first_problem(message: str) -> str:
    """The heading line and the first problem of a settings error ("invalid stack configuration:"
    alone says nothing), and how many more there are."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    more = f" (and {len(lines) - 2} more)" if len(lines) > 2 else ""
    return " ".join(lines[:2]) + more


def _plan_error(stderr: str) -> str:
    """Why ``python -m plan`` wrote no plan: its ``error:`` message (which names the stack file), else
    the last line of its stderr (a traceback's exception)."""
    lines = stderr.strip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    if starts:
        return _first_problem("\n".join(lines[starts[-1] :]).removeprefix("error: "))
    return lines[-1].strip() if lines else "plan failed"


def in_tree(stack: str, label: str = "this change", stacks_dir: Path | None = None) -> Side:
    """``stack`` as the working tree plans it (in this process)."""
    from components import access_model
    from components.settings import SettingsError
    from plan import access_matrix

    try:
        plan = harness.run(stack, stacks_dir=stacks_dir)
        settings = harness.settings_for(stack, stacks_dir=stacks_dir)
    except (SettingsError, harness.StackConfigError) as err:
        return Side(label, None, None, _first_problem(str(err)))
    matrix = json.loads(access_matrix.to_json(access_matrix.build(access_model.build(settings), settings)))
    return Side(label, {r["name"]: r for r in plan.resources}, matrix)


def _names(stack: str, stacks_dir: Path | None) -> dict[str, str]:
    """What differs between two stacks by name only: the stack name (in resource names, tags,
    ARNs) and the AWS account id."""
    config, _, _ = harness.stack_config(stack, stacks_dir=stacks_dir)
    account = config.get(f"{harness.pulumi_project()}:awsAccountId", "")
    names = {f"-{stack}-": "-<stack>-", f"/{stack}/": "/<stack>/", f'-{stack}"': '-<stack>"'}
    return {**({account: "<account>"} if account else {}), **names}


def _read(label: str, folder: Path) -> Side:
    doc = json.loads((folder / "resources.json").read_text())
    matrix_file = folder / "access-matrix.json"
    matrix = json.loads(matrix_file.read_text()) if matrix_file.exists() else None
    return Side(label, {r["name"]: r for r in doc["resources"]}, matrix)


# --------------------------------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------------------------------


def _numbers(stack: str, side: Side) -> dict[str, Any]:
    from policy.rules.offline import evaluate_records

    if side.resources is None:
        return {}
    records = list(side.resources.values())
    estimate = cost.estimate(stack, records)
    return {
        "resources": len(records),
        "cost": estimate.total,
        "minutes": round(deploy_time.critical_path(stack, records).wall_seconds / 60),
        "violations": len(evaluate_records(stack, records)),
    }


def _access_facts(matrix: dict[str, Any] | None) -> dict[str, set[str]]:
    """workload -> readable facts (``calls airflow-api-server:8080``, ``s3:GetObject on arn...``)."""
    if not matrix:
        return {}
    facts: dict[str, set[str]] = {}
    for p in matrix.get("people", []):
        facts.setdefault("people", set()).add(f"IdP group `{p['oidcGroup']}` -> Airflow role `{p['airflowRole']}`")
    for row in matrix["workloads"]:
        mine = facts.setdefault(row["workload"], set())
        mine |= {f"calls `{d['to']}:{d['port']}`" for d in row["meshDestinations"]}
        mine |= {f"leaves the mesh to `{e['host']}:{e['port']}`" for e in row["egress"]}
        for perm in row["permissions"]:
            verb = "never " if perm["effect"] == "Deny" else ""
            for resource in perm["resources"]:
                mine.add(f"{verb}{', '.join(perm['actions'])} on `{resource}`")
    return facts


def _listed(title: str, items: list[str]) -> list[str]:
    """``- title:`` with the first SHOWN items as sub-bullets, then how many more."""
    if not items:
        return []
    more = [f"  - … and {len(items) - SHOWN} more"] if len(items) > SHOWN else []
    return [f"- {title}:", *(f"  - {i}" for i in items[:SHOWN]), *more]


def _delta(before: float, after: float, unit: str = "", money: bool = False) -> str:
    change = after - before
    if abs(change) < 0.005:
        return "="
    text = cost.money(abs(change)) if money else f"{abs(change):g}{unit}"
    return ("+" if change > 0 else "-") + text


def render(stack: str, base: Side, head: Side) -> str:
    """The Markdown summary of ``base`` -> ``head`` for ``stack``."""
    out = [f"### Plan diff of `{stack}`: {base.label} → {head.label}", ""]
    for side in (base, head):
        if side.resources is None:
            out += [f"{side.label}: not planned ({side.error}).", ""]
    b, h = _numbers(stack, base), _numbers(stack, head)
    if b and h:
        out += [
            f"| | {base.label} | {head.label} | change |",
            "|---|---:|---:|---:|",
            f"| resources | {b['resources']} | {h['resources']} | {_delta(b['resources'], h['resources'])} |",
            f"| monthly cost | {cost.money(b['cost'])} | {cost.money(h['cost'])} | "
            f"{_delta(b['cost'], h['cost'], money=True)} |",
            f"| first `pulumi up` | ~{b['minutes']} min | ~{h['minutes']} min | "
            f"{_delta(b['minutes'], h['minutes'], ' min')} |",
            f"| policy pack violations | {b['violations']} | {h['violations']} | "
            f"{_delta(b['violations'], h['violations'])} |",
            "",
        ]
    out += _resource_lines(base, head)
    out += _access_lines(base, head)
    return "\n".join(out).rstrip() + "\n"


def _resource_lines(base: Side, head: Side) -> list[str]:
    if head.resources is None:  # not "everything removed": the change is what failed to plan
        return [f"**Resources:** not compared: {head.label} did not plan.", ""]
    before, after = base.resources or {}, head.resources
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(
        n for n in set(before) & set(after) if {**before[n], "dependsOn": 0} != {**after[n], "dependsOn": 0}
    )
    if not (added or removed or changed):
        return ["**Resources:** no change.", ""]
    lines = [f"**Resources:** {len(added)} added, {len(removed)} removed, {len(changed)} changed.", ""]
    for title, names, source in (("added", added, after), ("removed", removed, before)):
        lines += _listed(title, [f"`{n}` ({source[n]['type'].split(':')[-1]})" for n in names])
    lines += _listed("changed", [f"`{n}` ({_changed_keys(before[n], after[n])})" for n in changed])
    return [*lines, ""]


def _changed_keys(a: dict[str, Any], b: dict[str, Any]) -> str:
    keys = sorted(k for k in set(a["inputs"]) | set(b["inputs"]) if a["inputs"].get(k) != b["inputs"].get(k))
    others = [k for k in ("parent", "provider", "options") if a.get(k) != b.get(k)]
    return ", ".join(keys[:4] + others) + (" …" if len(keys) > 4 else "")


def _access_lines(base: Side, head: Side) -> list[str]:
    if base.matrix is None or head.matrix is None:
        return []
    before, after = _access_facts(base.matrix), _access_facts(head.matrix)
    lines = []
    for who in sorted(set(before) | set(after)):
        gained = sorted(after.get(who, set()) - before.get(who, set()))
        lost = sorted(before.get(who, set()) - after.get(who, set()))
        if not (gained or lost):
            continue
        status = " (new)" if who not in before else " (removed)" if who not in after else ""
        lines.append(f"- `{who}`{status}")
        lines += [f"  - {sign} {fact}" for sign, fact in _first([("+", f) for f in gained] + [("-", f) for f in lost])]
        if len(gained) + len(lost) > FACTS:
            lines.append(f"  - … and {len(gained) + len(lost) - FACTS} more (see access-matrix.md)")
    if not lines:
        return ["**Access:** no change to who may call, reach or read what.", ""]
    return ["**Access** (+ gains, - loses):", "", *lines, ""]


#: Access changes shown per workload.
FACTS = 5


def _first(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return items[:FACTS]


def main(base: str, stack: str, stacks_dir: Path | None = None) -> Diff:
    """The comparison of ``--diff BASE STACK``. Raises ValueError for an unknown ref."""
    if base.startswith("stack:"):
        other = base.removeprefix("stack:")
        before, after = in_tree(other, f"`{other}`", stacks_dir), in_tree(stack, f"`{stack}`", stacks_dir)
        if not (before.failed or after.failed):
            before, after = before.neutral(_names(other, stacks_dir)), after.neutral(_names(stack, stacks_dir))
    else:
        before, after = at_ref(base, stack, stacks_dir=stacks_dir), in_tree(stack, stacks_dir=stacks_dir)
    return Diff(render(stack, before, after), tuple(side for side in (before, after) if side.failed))
