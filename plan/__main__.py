"""``python -m plan STACK [STACK...] | --all``: write the offline plan of each stack to build/plan/STACK/.

``python -m plan explain --from <principal> --to <target> [STACK]``: each hop of one request, allowed
or denied, and the object that decides (plan/explain.py).

Prints first what a person reads (resources, cost, deploy time, the offline policy pack's verdict,
placeholders), then writes resources.json and tree.txt (the recorded graph), types.txt,
access-matrix.md/.json, cost.md, deploy-time.md and policy.md. ``--types`` also prints the count per
type. ``--diff BASE [STACK]`` compares instead (plan/diff.py).

Exit status: 0 when every stack planned and passed the policy pack, 1 when a stack's configuration
was rejected (the settings error is printed), 2 for usage errors, 3 when the policy pack found
violations (the plan is still written). ``--diff`` exits 2 for an unknown ref and when either side
could not be planned (the Markdown is still printed; stderr names the stack file and the problem), so
a CI job running it fails; a stack new in this change (absent at BASE) is no failure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plan import harness, reports


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["explain"]:
        return explain_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m plan",
        description=__doc__.splitlines()[0],
        epilog="python -m plan explain --help: which layer lets a request through (or denies it), hop by hop.",
    )
    parser.add_argument("stacks", nargs="*", help="stack names (stacks/Pulumi.<name>.yaml)")
    parser.add_argument("--all", action="store_true", help="plan every stack in stacks/")
    parser.add_argument(
        "--project-file",
        action="store_true",
        help="regenerate Pulumi.yaml and the README config reference from the settings model",
    )
    parser.add_argument("--out", type=Path, default=harness.ROOT / "build" / "plan", help="output folder")
    parser.add_argument(
        "--stacks-dir",
        type=Path,
        default=None,
        help="folder of Pulumi.<stack>.yaml files (default: Pulumi.yaml's stackConfigDir, stacks/)",
    )
    parser.add_argument("--types", action="store_true", help="also print the resource count per type")
    parser.add_argument(
        "--diff",
        metavar="BASE",
        help="compare STACK (default dev) at git ref BASE, or the stack `stack:NAME`, with the working tree",
    )
    args = parser.parse_args(argv)
    if args.diff:
        from plan import diff

        if len(args.stacks) > 1:
            parser.error("--diff takes one stack")
        try:
            compared = diff.main(args.diff, args.stacks[0] if args.stacks else "dev", args.stacks_dir)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(compared.text, end="")  # the Markdown still says what could be compared
        for problem in compared.problems():
            print(f"error: {problem}", file=sys.stderr)
        return 2 if compared.failed else 0
    if args.project_file:
        from plan.project_file import render, update_readme

        (harness.ROOT / "Pulumi.yaml").write_text(render())
        readme = harness.ROOT / "README.md"
        readme.write_text(update_readme(readme.read_text()))
        print("wrote Pulumi.yaml and the configuration reference in README.md")
        return 0
    stacks = harness.stack_names(stacks_dir=args.stacks_dir) if args.all else args.stacks
    if not stacks:
        parser.error("name a stack or pass --all")

    failed = violated = False
    for stack in stacks:
        # Imported late so `--help` stays instant; the settings error type is the program's own.
        from components.settings import SettingsError

        try:
            plan = harness.run(stack, stacks_dir=args.stacks_dir)
        except (SettingsError, harness.StackConfigError) as err:
            print(f"error: {err}", file=sys.stderr)
            failed = True
            continue
        out = args.out / stack
        out.mkdir(parents=True, exist_ok=True)
        (out / "resources.json").write_text(plan.to_json())
        (out / "tree.txt").write_text(plan.tree())
        write_access_matrix(stack, out, args.stacks_dir)
        report = reports.write_reports(plan, out)
        print(reports.headline(plan, report, out))
        if args.types:
            print(reports.type_counts(plan), end="")
        violated = violated or bool(report.violations)
    return 1 if failed else 3 if violated else 0


def explain_main(argv: list[str]) -> int:
    """``explain``: exit 0 when every hop allows, 1 when one denies, 2 for usage errors."""
    from plan import explain

    parser = argparse.ArgumentParser(prog="python -m plan explain", description=explain.__doc__.splitlines()[0])
    parser.add_argument("--from", dest="principal", required=True, help="group:<IdP group>, task:<domain>, <workload>")
    parser.add_argument("--to", dest="target", required=True, help="/path, dag:<id>, <svc>:<port>, '<action> <arn>'")
    parser.add_argument("stack", nargs="?", default="dev", help="stack name (default dev)")
    parser.add_argument("--stacks-dir", type=Path, default=None, help="folder of Pulumi.<stack>.yaml files")
    args = parser.parse_args(argv)
    from components.settings import SettingsError

    try:
        hops = explain.explain(args.stack, args.principal, args.target, stacks_dir=args.stacks_dir)
    except (ValueError, SettingsError, harness.StackConfigError) as err:  # not 1: that means a hop denies
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(explain.render(hops))
    return 0 if all(h.allowed for h in hops) else 1


def write_access_matrix(stack: str, out: Path, stacks_dir: Path | None = None) -> None:
    """access-matrix.md and .json, from the same access model the program enforces."""
    from components import access_model
    from plan import access_matrix

    settings = harness.settings_for(stack, stacks_dir=stacks_dir)
    matrix = access_matrix.build(access_model.build(settings), settings)
    (out / "access-matrix.json").write_text(access_matrix.to_json(matrix))
    (out / "access-matrix.md").write_text(access_matrix.to_markdown(matrix))


if __name__ == "__main__":
    sys.exit(main())
